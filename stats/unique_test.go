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
	u.put("acc", "a", []uint64{1})
	u.put("acc", "b", []uint64{2, 3})
	u.put("other", "a", []uint64{4})
	if got := u.get("acc", "a"); len(got) != 1 || got[0] != 1 {
		t.Fatalf("get acc a = %v, want [1]", got)
	}
	u.forgetAccount("acc")
	if u.get("acc", "a") != nil || u.get("acc", "b") != nil || u.words != 1 {
		t.Fatalf("acc's unions kept after forgetting them, %d words", u.words)
	}
	if got := u.get("other", "a"); len(got) != 1 || got[0] != 4 {
		t.Fatalf("get other a = %v, want [4]", got)
	}
	u.forgetAccount("other")

	for i := range maxUnions {
		u.put("acc", fmt.Sprint(i), make([]uint64, 2))
	}
	u.get("acc", "0") // 1 is now the least recently used
	u.put("acc", "new", make([]uint64, 2))
	if u.get("acc", "1") != nil || u.get("acc", "0") == nil || u.get("acc", "new") == nil || len(u.entries) != maxUnions {
		t.Fatalf("after one more than %d: %d kept, 0 kept %v, 1 kept %v", maxUnions, len(u.entries),
			u.get("acc", "0") != nil, u.get("acc", "1") != nil)
	}

	u.put("acc", "half", make([]uint64, maxUnionWords/2))
	u.put("other", "other half", make([]uint64, maxUnionWords/2+1)) // the small ones go, then half
	if u.get("acc", "half") != nil || u.get("other", "other half") == nil || u.words > maxUnionWords {
		t.Fatalf("past %d words: half kept %v, %d words", maxUnionWords, u.get("acc", "half") != nil, u.words)
	}
	u.put("acc", "too large", make([]uint64, maxUnionWords+1))
	if u.get("acc", "too large") != nil {
		t.Fatal("a union past the bound is kept")
	}
}
