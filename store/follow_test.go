package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/stats/statstest"
	"github.com/assentdev/assent/store"
	"github.com/assentdev/assent/store/storetest"
)

// twoProcesses is a fixture with a second store on its database, as a
// second `assent serve` process would have.
type twoProcesses struct {
	f     *statstest.Fixture
	procs [2]*store.Store
}

func newTwoProcesses(t *testing.T) *twoProcesses {
	f := statstest.New(t)
	other := storetest.Open(t, f.DSN)
	other.Now = f.Clock.Now
	return &twoProcesses{f: f, procs: [2]*store.Store{f.Store, other}}
}

// on makes the fixture's writes and checks go through process i.
func (p *twoProcesses) on(i int) { p.f.Store = p.procs[i] }

// catchUp has both processes count what the other committed.
func (p *twoProcesses) catchUp(t *testing.T) {
	t.Helper()
	for i, s := range p.procs {
		if err := s.CatchUp(context.Background()); err != nil {
			t.Fatalf("process %d: catch up: %v", i, err)
		}
		store.ForgetForTest(s) // the names of reports too, as a second passing would
	}
}

// check holds both processes' reports to the recount of the database.
func (p *twoProcesses) check(t *testing.T, accountID, phase string, requests []statstest.Request) {
	t.Helper()
	for i := range p.procs {
		p.on(i)
		checkReports(t, p.f, accountID, fmt.Sprintf("%s, process %d", phase, i), requests)
	}
	p.on(0)
}

// TestCatchUpCountsOtherProcesses has two stores share a database, as two
// processes would (SPEC §11): participations, double opt-in confirmations,
// expiries, withdrawals, erasures and a time-zone change made through one
// are in the other's reports once it has caught up, alone and interleaved
// with its own writes, and both equal the recount of the database.
func TestCatchUpCountsOtherProcesses(t *testing.T) {
	t.Parallel()
	p := newTwoProcesses(t)
	f := p.f
	ctx := context.Background()

	// A whole account's history written through process 0 alone: every
	// kind of event, forms without opt-ins, late confirmations.
	a := f.Random(3, 160)
	r := rand.New(rand.NewPCG(3, 9))
	first := a.First.AddDate(0, 0, -1).Format(time.DateOnly)
	last := a.Last.AddDate(0, 0, 1).Format(time.DateOnly)
	requests := func() []statstest.Request { return f.Load(a.ID).Requests(first, last, r.IntN) }
	p.catchUp(t)
	p.check(t, a.ID, "written through one", requests())

	// Both processes write in turn, and confirm each other's double
	// opt-ins: some participations are counted by one process and
	// confirmed through the other, some are new to a process together with
	// their confirmation.
	b := f.Account("acme", "Europe/Brussels")
	cb := assent.DisplayCheckbox
	b.Optin("rules", statstest.OptinSpec{Name: "Rules", Language: "en", Display: cb, Mandatory: true,
		Subcategories: []string{assent.CategoryLegal}})
	b.Optin("news", statstest.OptinSpec{Name: "News", Language: "en", Display: cb, Double: true,
		Subcategories: []string{assent.CategoryNewsletterMarketing}})
	b.Optin("deals", statstest.OptinSpec{Name: "Deals", Language: "en", Display: cb, Double: true,
		Subcategories: []string{assent.CategoryPartners}})
	b.Campaign("contest", "Contest", "en", "rules", "news", "deals")
	b.Campaign("quiz", "Quiz", "en") // no opt-in: a participation without consent events
	at := time.Date(2026, 3, 28, 22, 30, 0, 0, time.UTC)
	for i := range 24 {
		p.on(i / 3 % 2) // three in a row through each
		at = at.Add(7 * time.Minute)
		if i%4 == 3 {
			b.Submit(at, "quiz", fmt.Sprintf("p%d@example.com", i%9), nil)
			continue
		}
		b.Participate(at.Format(time.RFC3339), "contest", fmt.Sprintf("p%d@example.com", i%9),
			fmt.Sprintf("rules=y news=%s deals=%s", yn(i%3 > 0), yn(i%2 == 0)))
		if i == 11 {
			p.catchUp(t) // halfway: the rest falls between and after own writes
		}
	}
	p.on(0)
	mails := b.TakeMails()
	for i, m := range mails {
		p.on(i % 2)
		if i%3 < 2 {
			b.Confirm(m, m.CreatedAt.Add(time.Hour))
		}
	}
	p.on(1)
	if _, err := f.Store.Withdraw(ctx, b.ID, b.Participants["p1@example.com"], nil, true, "api"); err != nil {
		t.Fatal(err)
	}
	p.catchUp(t)
	list := f.Load(b.ID).Requests("2026-03-28", "2026-03-31", r.IntN)
	p.check(t, b.ID, "written through both", list)
	p.check(t, a.ID, "the other account meanwhile", requests())

	// A time zone changed through one process: the other counts the
	// account again in the new zone.
	if _, err := f.Store.UpdateAccount(ctx, b.ID, func(acc *assent.Account) { acc.TimeZone = "Asia/Kathmandu" }); err != nil {
		t.Fatal(err)
	}
	p.catchUp(t)
	p.check(t, b.ID, "after a time-zone change through one", list)
}

// TestCatchUpUnderConcurrentWrites has two processes take participations
// of one account at the same time, each catching up as it goes: in the
// end both count every participation once.
func TestCatchUpUnderConcurrentWrites(t *testing.T) {
	t.Parallel()
	p := newTwoProcesses(t)
	f := p.f
	ctx := context.Background()
	a := f.Account("acme", "UTC")
	a.Optin("news", statstest.OptinSpec{Name: "News", Language: "en", Display: assent.DisplayCheckbox,
		Subcategories: []string{assent.CategoryNewsletterMarketing}})
	c := a.Campaign("main", "Main", "en", "news")
	f.Clock.Set(time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC))
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for proc, s := range p.procs {
		wg.Go(func() {
			for i := range 60 {
				_, _, err := s.Participate(ctx, a.ID, c.ID, assent.Submission{
					Email:   fmt.Sprintf("p%d-%d@example.com", proc, i%20),
					Answers: map[string]*bool{c.Optins[0]: ptr(i%2 == 0)}})
				if err != nil {
					errs <- err
					return
				}
				if i%10 == 0 {
					if err := s.CatchUp(ctx); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	p.catchUp(t)
	list := f.Load(a.ID).Requests("2026-05-03", "2026-05-05", rand.New(rand.NewPCG(1, 1)).IntN)
	p.check(t, a.ID, "after concurrent writes", list)
}

func yn(b bool) string {
	if b {
		return "y"
	}
	return "n"
}
