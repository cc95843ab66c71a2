package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
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
// hundred or so (and no other), the WAL to start over past 32 pages: the WAL then holds
// the pages of the participations written since the last round or two,
// not of all those written so far. A WAL that is copied while commits follow each other is never
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
	store.StopCheckpointsForTest(s) // the rounds are the test's alone
	store.CheckpointForTest(s, 0)   // the content's pages out of the way
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
	var total []int64 // participations written when each round began
	for range 12 {
		for next := written.Load() + 100; written.Load() < next && !t.Failed(); {
			time.Sleep(time.Millisecond)
		}
		total = append(total, written.Load())
		frames = append(frames, store.CheckpointForTest(s, 32))
	}
	stop.Store(true)
	wg.Wait()
	// The first round that finds pages (one may find its checkpoint in
	// SQLite's way, and copy nothing) finds those of the participations
	// written so far. Had the WAL not started over, the last would find
	// those of all the participations written, at about the same pages per
	// participation; starting over, it finds a fraction of that (how much
	// depends on how busy the machine is: what is written during a round
	// stays for the next).
	i := slices.IndexFunc(frames, func(n int) bool { return n > 0 })
	if i < 0 || i > 3 {
		t.Fatalf("pages in the WAL at each round: %v: the checkpoints found nothing", frames)
	}
	first, last := frames[i], slices.Max(frames[len(frames)-3:])
	if int64(last)*total[i] > int64(first)*total[len(total)-1]/2 {
		t.Errorf("pages in the WAL at each round: %v, after %v participations: it does not start over", frames, total)
	}
	t.Logf("pages in the WAL at each round: %v, after %v participations", frames, total)
}
