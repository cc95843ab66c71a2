package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/stats"
)

// This file measures the statistics engine alone ("-statistics-only"): the
// in-memory rollups and bitmaps that answer every report, at a scale the
// full run cannot load on the reference machine in its time (10 million
// participations). The same generator and the same reports as the full
// run: each report's URL is read as the API handler reads it, the engine
// counts, stats.Meta assembles the report and encoding/json writes it; no
// database, no HTTP, no authentication. The full run measures those; this
// measures what grows with the number of participations.

// engineAccount is the one account of the engine-only run.
const engineAccount = "acc_bench"

// engineIngestRate is the participations per second added while the
// reports are asked for: SPEC §11's target ingest.
const engineIngestRate = 20_000

// engineResult is what the engine-only run measured.
type engineResult struct {
	N          int
	Load       time.Duration // adding every participation, oldest first
	HeapBefore uint64        // HeapInuse before the engine, after the generator's own tables
	HeapAfter  uint64        // HeapInuse with every participation counted, after a GC
	AtRest     map[string]Latencies
	UnderAdds  map[string]Latencies
	Added      int // participations added while the readers ran
	Duration   time.Duration
}

// engineRun holds the content and the engine of the run.
type engineRun struct {
	content Content
	meta    stats.Meta
	forms   [][]string // each campaign's opt-in ids, in form order
	loc     *time.Location
	engine  *stats.Engine
	seqs    []uint32 // participant of the pool → number in the account, 0 before the first participation
	next    uint32
}

func newEngineRun(cfg config) (*engineRun, error) {
	loc, err := time.LoadLocation("Europe/Brussels")
	if err != nil {
		return nil, err
	}
	r := &engineRun{content: PlanContent(cfg.seed, cfg.campaigns), loc: loc, engine: stats.NewEngine(),
		seqs: make([]uint32, max(cfg.participations/3, 1)+1)}
	c := &r.content
	r.meta = stats.Meta{Optins: map[string]stats.OptinMeta{}, Campaigns: map[string]stats.CampaignMeta{}}
	for _, sc := range benchSubcategories {
		r.meta.Subcategories = append(r.meta.Subcategories, stats.SubcategoryMeta{Value: sc.Value, Name: sc.Name,
			Category: sc.Category})
	}
	for i := range c.Optins {
		o := &c.Optins[i]
		o.ID = assent.NewID("opt_")
		r.meta.Optins[o.ID] = stats.OptinMeta{Name: o.Name, Language: o.Language, DoubleOptin: o.DoubleOptin,
			Subcategories: []string{o.Subcategory}, Categories: []string{o.Category}}
	}
	for i := range c.Campaigns {
		cp := &c.Campaigns[i]
		cp.ID = assent.NewID("cmp_")
		form := make([]string, len(cp.Optins))
		for j, k := range cp.Optins {
			form[j] = c.Optins[k].ID
		}
		r.forms = append(r.forms, form)
		r.meta.Campaigns[cp.ID] = stats.CampaignMeta{Name: cp.Name, Language: cp.Language, Optins: form}
	}
	r.meta.ShareCatalog() // as the store's cache does
	return r, nil
}

// fact is what the write path gives the engine for rec: a single opt-in
// accepted counts as confirmed, a double opt-in once confirmed.
func (r *engineRun) fact(rec *Record, at time.Time) stats.Participation {
	seq := r.seqs[rec.participant]
	isNew := seq == 0
	if isNew {
		r.next++
		seq, r.seqs[rec.participant] = r.next, r.next
	}
	c := &r.content.Campaigns[rec.campaign]
	var accepted, confirmed uint64
	for i, k := range c.Optins {
		o := &r.content.Optins[k]
		if rec.Answers[o.ID] {
			accepted |= 1 << i
			if !o.DoubleOptin || slices.Contains(rec.Confirmed, o.ID) {
				confirmed |= 1 << i
			}
		}
	}
	return stats.Participation{Campaign: c.ID, Day: stats.DayOf(at, r.loc), Seq: seq, New: isNew,
		Form: r.forms[rec.campaign], Accepted: accepted, Confirmed: confirmed}
}

// report computes the report that q's URL asks for, as the API handler
// does, and encodes it.
func (r *engineRun) report(q statsQuery, now time.Time) error {
	u, err := url.Parse(q.Path)
	if err != nil {
		return err
	}
	v := u.Query()
	from, to, err := stats.ParsePeriod(v.Get("period"), v.Get("from"), v.Get("to"), now, r.loc)
	if err != nil {
		return err
	}
	interval, err := stats.ParseInterval(v.Get("interval"))
	if err != nil {
		return err
	}
	h := stats.NewHeader(from, to, r.loc.String())
	sq := stats.Query{From: from, To: to, Interval: interval}
	var rep any
	switch {
	case strings.HasPrefix(u.Path, "/api/v1/campaigns/"):
		id := strings.TrimSuffix(strings.TrimPrefix(u.Path, "/api/v1/campaigns/"), "/stats")
		sq.Campaigns = map[string]bool{id: true}
		rep = r.meta.NewCampaignReport(id, h, sq.Interval, r.engine.Query(engineAccount, r.meta.Catalog(), sq))
	case u.Path == "/api/v1/stats/optins":
		f := stats.Filters{Campaign: v.Get("campaign"), Optin: v.Get("optin"), Category: v.Get("category"),
			Subcategory: v.Get("subcategory"), Language: v.Get("language"), Participants: v.Get("participants")}
		if f.Participants == "" {
			f.Participants = "all"
		}
		sq.Campaigns, sq.Focus, sq.NewOnly = r.meta.CampaignsOf(f), r.meta.Focus(f), f.Participants == "new"
		rep = r.meta.NewOptinReport(h, sq.Interval, f, r.engine.Query(engineAccount, r.meta.Catalog(), sq))
	case u.Path == "/api/v1/stats/global":
		sq.Interval = ""
		rep = r.meta.NewGlobalReport(h, r.engine.Query(engineAccount, r.meta.Catalog(), sq))
	default:
		return fmt.Errorf("no report for %s", q.Path)
	}
	_, err = json.Marshal(rep)
	return err
}

// heapInUse returns the heap in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// runEngine loads the engine with the generated participations, then asks
// for every report at rest, and again from statsWorkers goroutines while
// another adds participations of today at engineIngestRate.
func runEngine(ctx context.Context, cfg config, log func(string, ...any)) (*engineResult, error) {
	r, err := newEngineRun(cfg)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	res := &engineResult{N: cfg.participations, AtRest: map[string]Latencies{}, UnderAdds: map[string]Latencies{},
		Duration: cfg.duration}
	res.HeapBefore = heapInUse()
	g := NewGenerator(r.content, cfg.participations, cfg.seed, now)
	start := time.Now()
	for i := 0; ; i++ {
		rec, ok := g.Next()
		if !ok {
			break
		}
		r.engine.Add(engineAccount, r.fact(&rec, rec.at), rec.at)
		if i%1_000_000 == 999_999 {
			log("engine: %d participations added", i+1)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	qs := statsQueries(r.content, g)
	if err := r.report(qs[0], now); err != nil { // applies what is queued
		return nil, err
	}
	res.Load = time.Since(start)
	res.HeapAfter = heapInUse()
	log("engine: %d participations in %s; heap in use %d MB", cfg.participations, res.Load.Round(time.Millisecond),
		res.HeapAfter>>20)

	measure := func(into map[string]Latencies, mu *sync.Mutex, q statsQuery) error {
		t := time.Now()
		if err := r.report(q, now); err != nil {
			return err
		}
		d := time.Since(t)
		if mu != nil {
			mu.Lock()
			defer mu.Unlock()
		}
		into[q.Kind] = append(into[q.Kind], d)
		if q.Kind == "global 365 days" {
			into[uniqueKind] = append(into[uniqueKind], d)
		}
		return nil
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	for range 20 {
		for _, q := range qs {
			if err := measure(res.AtRest, nil, q); err != nil {
				return nil, err
			}
		}
	}

	// Participations of today, from participants old and new, added at
	// engineIngestRate while the readers run.
	live := NewGenerator(r.content, cfg.participations, cfg.seed+1, now)
	stop := make(chan struct{})
	added := make(chan int, 1)
	go func() {
		n := 0
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		begin := time.Now()
		for {
			select {
			case <-stop:
				added <- n
				return
			case <-tick.C:
			}
			due := int(time.Since(begin).Seconds() * engineIngestRate)
			for ; n < due; n++ {
				rec, ok := live.Next()
				if !ok {
					live = NewGenerator(r.content, cfg.participations, cfg.seed+uint64(n), now)
					rec, _ = live.Next()
				}
				at := time.Now()
				r.engine.Add(engineAccount, r.fact(&rec, at), at)
			}
		}
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, cfg.statsWorkers)
	deadline := time.Now().Add(cfg.duration)
	for w := range cfg.statsWorkers {
		wg.Go(func() {
			for i := w; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
				if err := measure(res.UnderAdds, &mu, qs[i%len(qs)]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	res.Added = <-added
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return res, ctx.Err()
}

// markdown reports the engine-only run.
func (e *engineResult) markdown(machine string, seed uint64, statsWorkers int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Statistics engine alone: %s participations, seed %d\n\n", thousands(float64(e.N)), seed)
	fmt.Fprintf(&b, "Machine: %s. Run %s UTC.\n\n", machine, time.Now().UTC().Format("2006-01-02 15:04"))
	fmt.Fprintf(&b, "In this process, no database and no HTTP: each report's URL read as the API handler reads it, "+
		"counted by the engine, assembled by stats.Meta and encoded to JSON, as `assent serve` does after "+
		"authenticating the request. The full run measures the rest at 1M.\n\n")
	fmt.Fprintf(&b, "- Loading every participation into the engine (what `assent serve` does at start after reading "+
		"the database): %s (%s)\n", fmtDuration(e.Load.Round(time.Millisecond)),
		perSecond(float64(e.N)/e.Load.Seconds()))
	fmt.Fprintf(&b, "- Go heap in use with every participation counted, after a collection: %s (%s before loading, "+
		"which holds the generator's table of participants)\n", bytesGB(float64(e.HeapAfter)),
		bytesGB(float64(e.HeapBefore)))
	fmt.Fprintf(&b, "- While the reports ran from %d goroutines for %s, %s participations of today were added "+
		"(%s)\n\n", statsWorkers, e.Duration, thousands(float64(e.Added)),
		perSecond(float64(e.Added)/e.Duration.Seconds()))
	fmt.Fprintf(&b, "| Report | At rest n | p50 | p99 | Beside the adds n | p50 | p99 | Floor (p99) | Verdict |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, k := range kinds() {
		rest, busy := e.AtRest[k], e.UnderAdds[k]
		floor := 100 * time.Millisecond
		if k == uniqueKind {
			floor = 200 * time.Millisecond
		}
		verdict := "PASS"
		if busy.Percentile(99) > floor {
			verdict = "BELOW"
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %d | %s | %s | %s | %s |\n", k, len(rest),
			fmtDuration(rest.Percentile(50)), fmtDuration(rest.Percentile(99)), len(busy),
			fmtDuration(busy.Percentile(50)), fmtDuration(busy.Percentile(99)), fmtDuration(floor), verdict)
	}
	return b.String()
}
