package assent

import (
	"slices"
	"sync"
	"testing"
)

// Ids made in a burst, many in one millisecond, still sort in the order
// they were made, so that lists "oldest first" are exactly that.
func TestNewIDSortsWithinAMillisecond(t *testing.T) {
	t.Parallel()
	ids := make([]string, 10000)
	for i := range ids {
		ids[i] = NewID("x_")
	}
	if !slices.IsSorted(ids) {
		t.Errorf("got ids out of order, want them sorted as made")
	}
	if got := len(slices.Compact(slices.Clone(ids))); got != len(ids) {
		t.Errorf("got %d distinct ids, want %d", got, len(ids))
	}
}

func TestNewIDConcurrent(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				id := NewID("x_")
				mu.Lock()
				if seen[id] {
					t.Errorf("got id %s twice", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
