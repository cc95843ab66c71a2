package stats

import (
	"fmt"
	"testing"
)

// TestUnionsForget: a union made before a late participation is not given
// again; past maxUnions, or past maxUnionWords together, the least
// recently used go first; a union larger than the bound is not kept.
func TestUnionsForget(t *testing.T) {
	t.Parallel()
	var u unions
	u.put("a", []uint64{1}, 0)
	if got := u.get("a", 0); len(got) != 1 || got[0] != 1 {
		t.Fatalf("get a = %v, want [1]", got)
	}
	if got := u.get("a", 1); got != nil {
		t.Fatalf("get a after a late participation = %v, want nil", got)
	}
	if got := u.get("a", 0); got != nil || u.words != 0 {
		t.Fatalf("a late union is kept: %v, %d words", got, u.words)
	}

	for i := range maxUnions {
		u.put(fmt.Sprint(i), make([]uint64, 2), 0)
	}
	u.get("0", 0) // 1 is now the least recently used
	u.put("new", make([]uint64, 2), 0)
	if u.get("1", 0) != nil || u.get("0", 0) == nil || u.get("new", 0) == nil || len(u.entries) != maxUnions {
		t.Fatalf("after one more than %d: %d kept, 0 kept %v, 1 kept %v", maxUnions, len(u.entries),
			u.get("0", 0) != nil, u.get("1", 0) != nil)
	}

	u.put("half", make([]uint64, maxUnionWords/2), 0)
	u.put("other half", make([]uint64, maxUnionWords/2+1), 0) // the small ones go, then half
	if u.get("half", 0) != nil || u.get("other half", 0) == nil || u.words > maxUnionWords {
		t.Fatalf("past %d words: half kept %v, %d words", maxUnionWords, u.get("half", 0) != nil, u.words)
	}
	u.put("too large", make([]uint64, maxUnionWords+1), 0)
	if u.get("too large", 0) != nil {
		t.Fatal("a union past the bound is kept")
	}
}
