package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
	"github.com/assentdev/assent/store/storetest"
)

// TestCheckpointsStartTheWALOver writes participations to a SQLite
// database (whatever engine the other tests use) without pause from
// several goroutines, and runs a round of the checkpointer after every
// hundred, the WAL to start over past 32 pages: the WAL then holds about a
// hundred participations' pages at each round, not all those written so
// far. A WAL that is copied while commits follow each other is never
// wholly copied, and grew without end before the writer finished the copy
// itself (2.9 GB in a minute of ingest).
func TestCheckpointsStartTheWALOver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.Open(t, "sqlite:"+filepath.Join(t.TempDir(), "assent.db"))
	acct := storetest.Account(t, s, "acme")
	o, err := s.CreateOptin(ctx, acct.ID, assent.Optin{Name: "News", Language: "en", Text: "News text",
		Display: assent.DisplayCheckbox, Subcategories: []string{assent.CategoryNewsletterMarketing}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateCampaign(ctx, acct.ID, assent.Campaign{Name: "Contest", Language: "en", Optins: []string{o.ID}})
	if err != nil {
		t.Fatal(err)
	}
	store.CheckpointForTest(s, 0) // the content's pages out of the way
	var written atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				_, _, err := s.Participate(ctx, acct.ID, c.ID, assent.Submission{
					Email: fmt.Sprintf("p%d-%d@example.com", w, i), Answers: map[string]*bool{o.ID: ptr(i%2 == 0)}})
				if err != nil {
					t.Error(err)
					return
				}
				written.Add(1)
			}
		})
	}
	var frames []int
	for range 12 {
		for next := written.Load() + 100; written.Load() < next && !t.Failed(); {
			time.Sleep(time.Millisecond)
		}
		frames = append(frames, store.CheckpointForTest(s, 32))
	}
	stop.Store(true)
	wg.Wait()
	// The first round finds a hundred participations' pages; had the WAL
	// not started over, the last would find twelve times as many.
	if last := frames[len(frames)-1]; last > 3*frames[0] {
		t.Errorf("pages in the WAL at each round: %v: it does not start over", frames)
	}
	t.Logf("pages in the WAL at each round: %v", frames)
}
