package stats

import (
	"fmt"
	"testing"
)

// TestUnionsForget: an account's unions are forgotten together, the
// others' stay; past maxUnions, or past maxUnionWords together, the least
// recently used go first; a union larger than the bound is not kept.
func TestUnionsForget(t *testing.T) {
	t.Parallel()
	var u unions
	has := func(account, key string) bool {
		set, _ := u.get(account, key)
		return set != nil
	}
	u.put("acc", "a", []uint64{1}, 1)
	u.put("acc", "b", []uint64{2, 3}, 0)
	u.put("other", "a", []uint64{4}, 0)
	if got, n := u.get("acc", "a"); len(got) != 1 || got[0] != 1 || n != 1 {
		t.Fatalf("get acc a = %v, %d, want [1], 1", got, n)
	}
	u.forgetAccount("acc")
	if has("acc", "a") || has("acc", "b") || u.words != 1 {
		t.Fatalf("acc's unions kept after forgetting them, %d words", u.words)
	}
	if got, _ := u.get("other", "a"); len(got) != 1 || got[0] != 4 {
		t.Fatalf("get other a = %v, want [4]", got)
	}
	u.forgetAccount("other")

	for i := range maxUnions {
		u.put("acc", fmt.Sprint(i), make([]uint64, 2), 0)
	}
	has("acc", "0") // 1 is now the least recently used
	u.put("acc", "new", make([]uint64, 2), 0)
	if has("acc", "1") || !has("acc", "0") || !has("acc", "new") || len(u.entries) != maxUnions {
		t.Fatalf("after one more than %d: %d kept, 0 kept %v, 1 kept %v", maxUnions, len(u.entries),
			has("acc", "0"), has("acc", "1"))
	}

	u.put("acc", "half", make([]uint64, maxUnionWords/2), 0)
	u.put("other", "other half", make([]uint64, maxUnionWords/2+1), 0) // the small ones go, then half
	if has("acc", "half") || !has("other", "other half") || u.words > maxUnionWords {
		t.Fatalf("past %d words: half kept %v, %d words", maxUnionWords, has("acc", "half"), u.words)
	}
	u.put("acc", "too large", make([]uint64, maxUnionWords+1), 0)
	if has("acc", "too large") {
		t.Fatal("a union past the bound is kept")
	}
}
