package stats

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// recount computes a query's figures the plain way, from the list of
// participations and the definitions of SPEC §5.1.
func recount(ps []Participation, cat *Catalog, q Query) Result {
	res := Result{Totals: *newTotals(), ByCampaign: map[string]*Totals{}}
	people := map[uint32]bool{}
	series := map[Day]*Totals{}
	for i, p := range ps {
		if p.Day < q.From || p.Day > q.To || (q.Campaigns != nil && !q.Campaigns[p.Campaign]) || (q.NewOnly && !p.New) {
			continue
		}
		shown := false
		for _, id := range p.Form {
			if q.Focus == nil || q.Focus[id] {
				shown = true
			}
		}
		if q.Focus != nil && !shown {
			continue // without a focus, a form without opt-ins counts too
		}
		people[p.Seq] = true
		if at := timeOf(p, i); at.After(res.AsOf) {
			res.AsOf = at
		}
		targets := []*Totals{&res.Totals}
		if res.ByCampaign[p.Campaign] == nil {
			res.ByCampaign[p.Campaign] = newTotals()
		}
		targets = append(targets, res.ByCampaign[p.Campaign])
		if q.Interval != "" {
			b := q.Interval.Bucket(p.Day)
			if series[b] == nil {
				series[b] = newTotals()
			}
			targets = append(targets, series[b])
		}
		for _, t := range targets {
			t.Participations++
			if p.New {
				t.New++
			}
			catShown, catAcc, catConf := map[string]bool{}, map[string]bool{}, map[string]bool{}
			subShown, subAcc, subConf := map[string]bool{}, map[string]bool{}, map[string]bool{}
			for i, id := range p.Form {
				if q.Focus != nil && !q.Focus[id] {
					continue
				}
				acc, conf := p.Accepted&(1<<i) != 0, p.Confirmed&(1<<i) != 0
				c := t.Optins[id]
				if c == nil {
					c = &Counts{}
					t.Optins[id] = c
				}
				c.Displays++
				if acc {
					c.Conversions++
				}
				if conf {
					c.Confirmed++
				}
				for _, k := range cat.Optins[id].Categories {
					catShown[k], catAcc[k], catConf[k] = true, catAcc[k] || acc, catConf[k] || conf
				}
				for _, v := range cat.Optins[id].Subcategories {
					subShown[v], subAcc[v], subConf[v] = true, subAcc[v] || acc, subConf[v] || conf
				}
			}
			tally(t.Categories, catShown, catAcc, catConf)
			tally(t.Subcategories, subShown, subAcc, subConf)
		}
	}
	if q.NewOnly {
		res.Unique = res.New
	} else {
		res.Unique = int64(len(people))
	}
	if q.Interval != "" {
		for b := q.Interval.Bucket(q.From); b <= q.To; b = q.Interval.Next(b) {
			t := series[b]
			if t == nil {
				t = newTotals()
			}
			t.Subcategories = map[string]*Counts{} // series points leave them out
			res.Series = append(res.Series, SeriesPoint{Start: b, Totals: t})
		}
	}
	return res
}

func tally(c map[string]*Counts, shown, acc, conf map[string]bool) {
	for k := range shown {
		x := c[k]
		if x == nil {
			x = &Counts{}
			c[k] = x
		}
		x.Displays++
		if acc[k] {
			x.Conversions++
		}
		if conf[k] {
			x.Confirmed++
		}
	}
}

// randomAccount builds random opt-ins, categorisation and participations.
func randomAccount(r *rand.Rand) ([]Participation, *Catalog, []string, []string) {
	cat := &Catalog{Optins: map[string]OptinInfo{}}
	keys := []string{"newsletter_marketing", "legal", "partners", "others"}
	subs := []string{"weekly", "daily", "rules", "terms", "p1", "other"}
	var optins []string
	for i := 0; i < 12; i++ {
		id := fmt.Sprintf("opt%d", i)
		optins = append(optins, id)
		info := OptinInfo{}
		for j := 0; j < 1+r.IntN(2); j++ {
			sub := subs[r.IntN(len(subs))]
			info.Subcategories = append(info.Subcategories, sub)
			info.Categories = append(info.Categories, keys[r.IntN(len(keys))])
		}
		cat.Optins[id] = info
	}
	campaigns := []string{"c1", "c2", "c3", "c4"}
	forms := map[string][][]string{}
	for _, c := range campaigns {
		for v := 0; v < 2; v++ { // each campaign's form changes once
			n := r.IntN(7) // an empty form now and then
			var form []string
			for _, i := range r.Perm(len(optins))[:n] {
				form = append(form, optins[i])
			}
			forms[c] = append(forms[c], form)
		}
	}
	var ps []Participation
	seen := map[uint32]bool{}
	start := DayOfDate(2026, 1, 1)
	for i := 0; i < 3000; i++ {
		c := campaigns[r.IntN(len(campaigns))]
		form := forms[c][r.IntN(2)]
		seq := uint32(1 + r.IntN(400))
		p := Participation{Campaign: c, Day: start + Day(r.IntN(120)), Seq: seq, New: !seen[seq], Form: form}
		seen[seq] = true
		for j := range form {
			if r.IntN(2) == 0 {
				p.Accepted |= 1 << j
				if r.IntN(3) > 0 {
					p.Confirmed |= 1 << j
				}
			}
		}
		ps = append(ps, p)
	}
	return ps, cat, campaigns, optins
}

func TestQueryEqualsRecount(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 40; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		ps, cat, campaigns, optins := randomAccount(r)
		e := NewEngine()
		// Half the seeds add in random order and summarise no cell; the
		// others add day after day, as a load from the database does, so
		// that every cell but the last day's freezes, and summarise every
		// frozen cell (each query below has a scope of its own now and
		// then: more than a cell keeps): both ways of counting a cell meet
		// the recount.
		e.summaryMin = 1 << 30
		// Unique participants united in a dense bitset for half the seeds
		// (whatever the number of bitmaps), with roaring for the others.
		e.denseFrom = 1 << 30
		if seed%4 < 2 {
			e.denseFrom = 0
		}
		if seed%2 == 0 {
			e.summaryMin = 1
			sort.SliceStable(ps, func(i, j int) bool { return ps[i].Day < ps[j].Day })
		}
		for i, p := range ps {
			e.Add("acc", p, timeOf(p, i))
		}
		// A second categorisation, as after moving opt-ins between
		// subcategories: a summary made for one must not serve the other.
		moved := &Catalog{Optins: map[string]OptinInfo{}}
		for id, info := range cat.Optins {
			moved.Optins[id] = OptinInfo{Subcategories: info.Categories, Categories: info.Subcategories}
		}
		start := DayOfDate(2026, 1, 1)
		for i := 0; i < 25; i++ {
			cat := []*Catalog{cat, moved}[r.IntN(2)]
			q := Query{From: start + Day(r.IntN(60)), Interval: []Interval{"", IntervalDay, IntervalWeek, IntervalMonth}[r.IntN(4)]}
			q.To = q.From + Day(r.IntN(90))
			if r.IntN(2) == 0 {
				q.Campaigns = map[string]bool{campaigns[r.IntN(4)]: true, campaigns[r.IntN(4)]: true}
			}
			if r.IntN(2) == 0 {
				q.Focus = map[string]bool{optins[r.IntN(12)]: true, optins[r.IntN(12)]: true}
			}
			q.NewOnly = r.IntN(4) == 0
			got, want := e.Query("acc", cat, q), recount(ps, cat, q)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d, query %+v:\ngot  %s\nwant %s", seed, q, show(got), show(want))
			}
		}
	}
}

// TestRememberedUnionsStayExact asks the same filtered reports again and
// again while participations keep coming: of the newest day (the unions
// of the days before it stay), of a day before it (a late one: every union
// goes), of a new day, and confirmations (no participant changes). Every
// answer must equal the recount, remembered union or not.
func TestRememberedUnionsStayExact(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 6; seed++ {
		r := rand.New(rand.NewPCG(seed, 11))
		ps, cat, campaigns, optins := randomAccount(r)
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].Day < ps[j].Day })
		e := NewEngine()
		seen := map[uint32]bool{}
		for i, p := range ps {
			e.Add("acc", p, timeOf(p, i))
			seen[p.Seq] = true
		}
		newest := ps[len(ps)-1].Day
		start := DayOfDate(2026, 1, 1)
		one := map[string]bool{campaigns[0]: true}
		remembered := 0
		for round := 0; round < 40; round++ {
			// Past the end of the newest day's month, a report reads that
			// month whole; to the day before the newest, day by day: the
			// same filters and first day, not the same participants.
			monthEnd := IntervalMonth.Next(newest) - 1
			queries := []Query{
				{From: start, To: newest, Campaigns: one},
				{From: start, To: monthEnd + 3, Campaigns: one},
				{From: start, To: newest - 1, Campaigns: one},
				{From: start + 10, To: newest, Focus: map[string]bool{optins[0]: true, optins[1]: true}, Interval: IntervalWeek},
				{From: start + 30, To: newest + 3, Campaigns: map[string]bool{campaigns[1]: true, campaigns[2]: true},
					Focus: map[string]bool{optins[2]: true, optins[3]: true, optins[4]: true}},
				{From: start, To: newest - 20, Focus: map[string]bool{optins[5]: true}},
				{From: start + 5, To: newest},                          // every campaign and opt-in
				{From: start, To: newest + 1, Interval: IntervalMonth}, // the account's months
				{From: start, To: monthEnd},
				{From: start, To: newest - 1},
			}
			for _, q := range queries {
				got, want := e.Query("acc", cat, q), recount(ps, cat, q)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("seed %d, round %d, query %+v:\ngot  %s\nwant %s", seed, round, q, show(got), show(want))
				}
			}
			e.unions.mu.Lock()
			remembered = max(remembered, len(e.unions.entries))
			e.unions.mu.Unlock()
			if round%3 == 2 { // a confirmation
				i := r.IntN(len(ps))
				e.SetConfirmed("acc", ps[i], ps[i].Accepted)
				ps[i].Confirmed = ps[i].Accepted
				continue
			}
			day := newest // the newest day's, every second round
			switch round % 6 {
			case 1: // a late participation
				day = start + Day(r.IntN(int(newest-start)))
			case 3: // a new day
				newest++
				day = newest
			}
			seq := uint32(1 + r.IntN(5000)) // new participants too, past the numbers a union holds
			c := campaigns[r.IntN(len(campaigns))]
			form := []string{optins[r.IntN(6)], optins[6+r.IntN(6)]}
			p := Participation{Campaign: c, Day: day, Seq: seq, New: !seen[seq], Form: form, Accepted: 1, Confirmed: 1}
			seen[seq] = true
			e.Add("acc", p, timeOf(p, len(ps)))
			ps = append(ps, p)
		}
		if remembered == 0 {
			t.Fatalf("seed %d: no union remembered", seed)
		}
	}
}

func show(r Result) string {
	return fmt.Sprintf("participations %d new %d unique %d optins %v categories %v campaigns %d series %d",
		r.Participations, r.New, r.Unique, r.Optins, r.Categories, len(r.ByCampaign), len(r.Series))
}

// TestAdoptFreezesALoadInAnyOrder: participations counted campaign after
// campaign (the order of a SQLite load) reach the newest day early; once
// settled or adopted, every cell that ended before it is frozen, as after
// a load day after day, and the counts are the same.
func TestAdoptFreezesALoadInAnyOrder(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 7))
	ps, cat, _, _ := randomAccount(r)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Campaign < ps[j].Campaign })
	fresh, e := NewEngine(), NewEngine()
	settled := func(what string, a *accountData) {
		t.Helper()
		for _, c := range a.thawed {
			if c.end < a.newest {
				t.Errorf("%s: a cell that ended on %v, before the newest day %v, is still thawed", what, c.end, a.newest)
			}
		}
	}
	half := len(ps) / 2
	for i, p := range ps[:half] {
		fresh.Add("acc", p, timeOf(p, i))
	}
	fresh.apply()
	if thawed := len(fresh.accounts["acc"].thawed); thawed < 10 {
		t.Fatalf("the load left %d cells thawed: the test needs an order that leaves many", thawed)
	}
	// Settled halfway, as a long load does now and then; the rest thaws
	// some cells again.
	fresh.Settle()
	settled("settled halfway", fresh.accounts["acc"])
	for i, p := range ps[half:] {
		fresh.Add("acc", p, timeOf(p, half+i))
	}
	e.Adopt("acc", fresh)
	settled("adopted", e.accounts["acc"])
	q := Query{From: DayOfDate(2026, 1, 1), To: DayOfDate(2026, 12, 31), Interval: IntervalWeek}
	if got, want := e.Query("acc", cat, q), recount(ps, cat, q); !reflect.DeepEqual(got, want) {
		t.Errorf("after adoption:\ngot  %s\nwant %s", show(got), show(want))
	}
}

// TestNilEngineCountsNothing: the write path counts into a nil Engine
// when its process never reports (assent import), without a check of its
// own at each call.
func TestNilEngineCountsNothing(t *testing.T) {
	t.Parallel()
	var e *Engine
	p := Participation{Campaign: "c", Day: DayOfDate(2026, 3, 1), Seq: 1, New: true, Form: []string{"o"}, Accepted: 1}
	e.Add("acc", p, timeOf(p, 0))
	e.SetConfirmed("acc", p, 1)
}

func TestSetConfirmedMovesTheCount(t *testing.T) {
	t.Parallel()
	d := DayOfDate(2026, 3, 1)
	cat := &Catalog{Optins: map[string]OptinInfo{"a": {}, "b": {}}}
	// later is how many days after p a participation comes before the
	// confirmation: one of a later month freezes p's day, week and month.
	for _, later := range []Day{0, 1, 40} {
		e := NewEngine()
		p := Participation{Campaign: "c", Day: d, Seq: 1, New: true, Form: []string{"a", "b"}, Accepted: 0b11, Confirmed: 0b01}
		e.Add("acc", p, time.Now())
		if later > 0 {
			e.Add("acc", Participation{Campaign: "c", Day: d + later, Seq: 2, New: true, Form: []string{"a"}}, time.Now())
		}
		if got := e.Query("acc", cat, Query{From: d, To: d}).Optins["b"].Confirmed; got != 0 {
			t.Fatalf("%d days later, before: got %d confirmed, want 0", later, got)
		}
		e.SetConfirmed("acc", p, 0b11)
		for _, q := range []Query{{From: d, To: d}, {From: d, To: d + 60, Interval: IntervalMonth}} {
			res := e.Query("acc", cat, q)
			want := int64(1) // p, and the later one when the query reaches it
			if later > 0 && q.To >= d+later {
				want++
			}
			if res.Optins["b"].Confirmed != 1 || res.Optins["a"].Confirmed != 1 || res.Participations != want {
				t.Errorf("%d days later, after, %v: got %+v %+v, %d participations", later, q.Interval, *res.Optins["a"],
					*res.Optins["b"], res.Participations)
			}
		}
	}
}

func TestIntervalBuckets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		interval  Interval
		day, want string
	}{
		{IntervalDay, "2026-11-25", "2026-11-25"},
		{IntervalWeek, "2026-11-25", "2026-11-23"}, // a Wednesday; the Monday before
		{IntervalWeek, "2026-11-23", "2026-11-23"},
		{IntervalWeek, "2026-11-29", "2026-11-23"}, // Sunday ends the week
		{IntervalMonth, "2026-11-25", "2026-11-01"},
	}
	for _, tt := range tests {
		d, _ := time.Parse(time.DateOnly, tt.day)
		if got := tt.interval.Bucket(DayOf(d, time.UTC)).String(); got != tt.want {
			t.Errorf("%s bucket of %s: got %s, want %s", tt.interval, tt.day, got, tt.want)
		}
	}
	if got := IntervalMonth.Next(DayOfDate(2026, 12, 1)).String(); got != "2027-01-01" {
		t.Errorf("month after December: got %s", got)
	}
}

// timeOf is the time of the i-th participation of a test, p: within its
// day, as the write path gives the Engine (a later day, a later time).
func timeOf(p Participation, i int) time.Time {
	return p.Day.Date().Add(time.Duration(i) * time.Millisecond)
}

// TestQuerySeesEveryEarlierAdd runs writers and readers at once: a query
// that starts after an Add returned counts it, and a SetConfirmed queued
// right after its Add is applied after it, whatever the readers do.
func TestQuerySeesEveryEarlierAdd(t *testing.T) {
	t.Parallel()
	e := NewEngine()
	d := DayOfDate(2026, 3, 1)
	cat := &Catalog{Optins: map[string]OptinInfo{"a": {}}}
	const writers, each = 4, 3000 // more than maxQueue in all
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 { // readers, keeping the lock busy
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					e.Query("acc", cat, Query{From: d, To: d, Interval: IntervalDay})
				}
			}
		})
	}
	var writersDone sync.WaitGroup
	for w := range writers {
		writersDone.Go(func() {
			for i := range each {
				p := Participation{Campaign: "c", Day: d, Seq: uint32(w*each + i + 1), Form: []string{"a"}, Accepted: 1}
				e.Add("acc", p, time.Now())
				e.SetConfirmed("acc", p, 1)
				if i%500 == 0 {
					if got := e.Query("acc", cat, Query{From: d, To: d}).Optins["a"].Confirmed; got < int64(i+1) {
						t.Errorf("writer %d after %d adds: the query counts %d confirmed", w, i+1, got)
					}
				}
			}
		})
	}
	writersDone.Wait()
	close(stop)
	wg.Wait()
	res := e.Query("acc", cat, Query{From: d, To: d})
	if res.Participations != writers*each || res.Optins["a"].Confirmed != writers*each || res.Unique != writers*each {
		t.Errorf("got %d participations, %d confirmed, %d unique; want %d each", res.Participations,
			res.Optins["a"].Confirmed, res.Unique, writers*each)
	}
}

// TestUniteCountsEveryParticipantOnce: the dense union of unite against
// roaring's own, over bitmaps of every kind of container, overlapping in
// the same words: arrays of scattered members, bitmap containers (more
// than 4,096 members under one high half), runs.
func TestUniteCountsEveryParticipantOnce(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	scattered := func(n int, top uint32) *roaring.Bitmap {
		bm := roaring.New()
		for range n {
			bm.Add(r.Uint32N(top))
		}
		return bm
	}
	dense := func(from, to uint64) *roaring.Bitmap { // a bitmap container
		bm := roaring.New()
		for v := from; v < to; v += 2 {
			bm.Add(uint32(v))
		}
		return bm
	}
	run := func(from, to uint64) *roaring.Bitmap {
		bm := roaring.New()
		bm.AddRange(from, to)
		bm.RunOptimize()
		return bm
	}
	tests := []struct {
		name   string
		people []*roaring.Bitmap
	}{
		{"none", nil},
		{"empty ones", []*roaring.Bitmap{roaring.New(), roaring.New()}},
		{"arrays", []*roaring.Bitmap{scattered(300, 200_000), scattered(300, 200_000), scattered(5, 70)}},
		{"arrays then a bitmap container over them", []*roaring.Bitmap{scattered(2000, 65_536), dense(0, 20_000),
			scattered(2000, 131_072)}},
		{"a bitmap container then arrays in its words", []*roaring.Bitmap{dense(1, 30_001), scattered(3000, 65_536)}},
		{"runs among the rest", []*roaring.Bitmap{run(100, 5_000), scattered(1000, 10_000), run(60_000, 200_000),
			dense(65_536, 100_000)}},
		{"members past the first bitmap's", []*roaring.Bitmap{scattered(10, 100), scattered(10, 3_300_000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := int64(roaring.FastOr(tt.people...).GetCardinality())
			dense := &Engine{denseFrom: 0}
			if got := dense.unite(tt.people); got != want {
				t.Errorf("unite counts %d participants, roaring %d", got, want)
			}
			// Member by member, and through roaring's own union (fewer
			// bitmaps than denseFrom), into a set of at least 100 words.
			for _, e := range []*Engine{dense, {denseFrom: 1 << 30}} {
				set := e.denseUnion(tt.people, 100, make([]uint64, 5, 200))
				if got := ones(set); got != want || len(set) < 100 {
					t.Errorf("denseFrom %d: the dense union counts %d participants in %d words, roaring %d",
						e.denseFrom, got, len(set), want)
				}
				// The first bitmaps as a remembered union, the rest beside
				// it; twice, the second time in a room the first dirtied.
				half := len(tt.people) / 2
				known := e.denseUnion(tt.people[:half], 0, nil)
				for range 2 {
					if got := ones(known) + e.beyond(tt.people[half:], known); got != want {
						t.Errorf("denseFrom %d: a union and the rest beyond it count %d participants, roaring %d",
							e.denseFrom, got, want)
					}
				}
			}
		})
	}
}

// BenchmarkUnite counts the participants of 2,000 small bitmaps spread over
// 3.3 million participant numbers, as a year's report does at 10M
// participations (a cell's participants are few and scattered).
func BenchmarkUnite(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	people := make([]*roaring.Bitmap, 2000)
	for i := range people {
		bm := roaring.New()
		for range 500 + r.IntN(3000) {
			bm.Add(r.Uint32N(3_300_000))
		}
		people[i] = bm
	}
	e := &Engine{denseFrom: denseFrom}
	b.ResetTimer()
	for b.Loop() {
		e.unite(people)
	}
}
