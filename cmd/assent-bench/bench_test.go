package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assentdev/assent/stats"
)

// testContent is the planned content with made-up ids, as if created.
func testContent(t *testing.T) Content {
	t.Helper()
	c := PlanContent(1, 200)
	for i := range c.Optins {
		c.Optins[i].ID = fmt.Sprintf("opt_%02d", i)
	}
	for i := range c.Campaigns {
		c.Campaigns[i].ID = fmt.Sprintf("cmp_%03d", i)
	}
	return c
}

var testNow = time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)

func generate(t *testing.T, c Content, n int, seed uint64) ([]byte, *Generator) {
	t.Helper()
	g := NewGenerator(c, n, seed, testNow)
	var buf bytes.Buffer
	got, err := WriteNDJSON(&buf, g)
	if err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Fatalf("wrote %d participations, want %d", got, n)
	}
	return buf.Bytes(), g
}

func TestPlanContent(t *testing.T) {
	c := PlanContent(1, 200)
	if got := len(c.Optins); got != 40 {
		t.Errorf("got %d opt-ins, want 40", got)
	}
	if got := len(c.Campaigns); got != 200 {
		t.Errorf("got %d campaigns, want 200", got)
	}
	five := 0
	for i, cp := range c.Campaigns {
		if n := len(cp.Optins); n < 1 || n > 10 {
			t.Errorf("campaign %d has %d opt-ins, want 1 to 10", i, n)
		}
		if len(cp.Optins) == 5 {
			five++
		}
		seen := map[int]bool{}
		for _, o := range cp.Optins {
			if seen[o] {
				t.Errorf("campaign %d shows opt-in %d twice", i, o)
			}
			seen[o] = true
			if c.Optins[o].Language != cp.Language {
				t.Errorf("campaign %d (%s) shows opt-in %d in %s", i, cp.Language, o, c.Optins[o].Language)
			}
		}
	}
	if five < fiveOptinCampaigns {
		t.Errorf("got %d campaigns with 5 opt-ins, want at least %d", five, fiveOptinCampaigns)
	}
	if !slices.EqualFunc(c.Campaigns, PlanContent(1, 200).Campaigns, func(a, b Campaign) bool {
		return a.Name == b.Name && slices.Equal(a.Optins, b.Optins) && a.FirstName == b.FirstName
	}) {
		t.Error("the same seed planned different campaigns")
	}
}

func TestGeneratorDeterministic(t *testing.T) {
	c := testContent(t)
	a, _ := generate(t, c, 5000, 7)
	b, _ := generate(t, c, 5000, 7)
	if !bytes.Equal(a, b) {
		t.Error("the same seed gave different NDJSON")
	}
	other, _ := generate(t, c, 5000, 8)
	if bytes.Equal(a, other) {
		t.Error("seeds 7 and 8 gave the same NDJSON")
	}
}

// TestNDJSONLines decodes every line with unknown fields refused, as the
// import will, and checks what each participation must satisfy.
func TestNDJSONLines(t *testing.T) {
	c := testContent(t)
	data, _ := generate(t, c, 3000, 1)
	campaigns := map[string]Campaign{}
	for _, cp := range c.Campaigns {
		campaigns[cp.ID] = cp
	}
	optins := map[string]Optin{}
	for _, o := range c.Optins {
		optins[o.ID] = o
	}
	var prev time.Time
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var rec Record
		if err := dec.Decode(&rec); err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
		at, err := time.Parse(time.RFC3339Nano, rec.CreatedAt)
		if err != nil {
			t.Fatalf("line %d: created_at: %v", line, err)
		}
		if at.Before(prev) {
			t.Fatalf("line %d: created_at %s before the previous line's %s", line, at, prev)
		}
		prev = at
		if at.Before(testNow.AddDate(0, 0, -366)) || at.After(testNow) {
			t.Fatalf("line %d: created_at %s outside the last year", line, at)
		}
		cp, ok := campaigns[rec.CampaignID]
		if !ok {
			t.Fatalf("line %d: unknown campaign %q", line, rec.CampaignID)
		}
		if !strings.HasSuffix(rec.Email, "@example.com") {
			t.Errorf("line %d: email %q", line, rec.Email)
		}
		if len(rec.Answers) != len(cp.Optins) {
			t.Errorf("line %d: got %d answers, want %d", line, len(rec.Answers), len(cp.Optins))
		}
		for _, k := range cp.Optins {
			yes, ok := rec.Answers[c.Optins[k].ID]
			if !ok {
				t.Errorf("line %d: no answer for %s", line, c.Optins[k].ID)
			}
			if c.Optins[k].Mandatory && !yes {
				t.Errorf("line %d: mandatory %s refused", line, c.Optins[k].ID)
			}
		}
		for _, id := range rec.Confirmed {
			if !optins[id].DoubleOptin || !rec.Answers[id] {
				t.Errorf("line %d: %s confirmed but not an accepted double opt-in", line, id)
			}
		}
		if (cp.FirstName == "hidden" && rec.FirstName != "") || (cp.FirstName == "required" && rec.FirstName == "") {
			t.Errorf("line %d: first_name %q on a form where it is %s", line, rec.FirstName, cp.FirstName)
		}
		if (cp.LastName == "hidden" && rec.LastName != "") || (cp.LastName == "required" && rec.LastName == "") {
			t.Errorf("line %d: last_name %q on a form where it is %s", line, rec.LastName, cp.LastName)
		}
	}
	if line != 3000 {
		t.Errorf("got %d lines, want 3000", line)
	}
}

// TestGeneratorShape checks that popularity is skewed but not absurd and
// that participants repeat.
func TestGeneratorShape(t *testing.T) {
	c := testContent(t)
	const n = 60000
	data, g := generate(t, c, n, 1)
	counts := slices.Clone(g.CampaignCount)
	slices.SortFunc(counts, func(a, b int) int { return b - a })
	if top := float64(counts[0]) / n; top < 0.05 || top > 0.4 {
		t.Errorf("the top campaign has %.0f%% of participations, want 5%% to 40%%", top*100)
	}
	if counts[0] < 10*counts[len(counts)/2] {
		t.Errorf("top campaign %d, median %d: want a long tail (top ≥ 10× median)", counts[0], counts[len(counts)/2])
	}
	if counts[0] != g.CampaignCount[g.TopCampaign(0)] {
		t.Errorf("TopCampaign(0) has %d participations, the most has %d", g.CampaignCount[g.TopCampaign(0)], counts[0])
	}
	emails := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		emails[rec.Email]++
	}
	if got := float64(len(emails)) / n; got < 0.15 || got > 0.34 {
		t.Errorf("got %d distinct participants for %d participations (%.2f), want 0.15 to 0.34 of them", len(emails), n, got)
	}
	most := 0
	for _, k := range emails {
		most = max(most, k)
	}
	if most > n/100 {
		t.Errorf("one participant has %d participations: too many", most)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) Latencies {
		var l Latencies
		for _, x := range v {
			l = append(l, time.Duration(x)*time.Millisecond)
		}
		return l
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100 down to 1
	}
	for _, tc := range []struct {
		name string
		l    Latencies
		p    float64
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of odd", ms(3, 1, 2), 50, 2 * time.Millisecond},
		{"p99 of 100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p100 of 100", ms(hundred...), 100, 100 * time.Millisecond},
		{"p50 of 100", ms(hundred...), 50, 50 * time.Millisecond},
		{"p99 of 10 is the max", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.l.Percentile(tc.p); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestQmarks(t *testing.T) {
	got := qmarks(`INSERT INTO t (a, b) VALUES ($1, $2), ($3, $12)`)
	if want := `INSERT INTO t (a, b) VALUES (?, ?), (?, ?)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLastDays(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Brussels")
	if err != nil {
		t.Fatal(err)
	}
	from, to := lastDays(time.Date(2026, 11, 25, 23, 30, 0, 0, time.UTC), loc, 7) // already the 26th in Brussels
	if got, want := time.UnixMicro(from).In(loc), time.Date(2026, 11, 20, 0, 0, 0, 0, loc); !got.Equal(want) {
		t.Errorf("from: got %s, want %s", got, want)
	}
	if got, want := time.UnixMicro(to).In(loc), time.Date(2026, 11, 27, 0, 0, 0, 0, loc); !got.Equal(want) {
		t.Errorf("to: got %s, want %s", got, want)
	}
}

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    row
		want string
	}{
		{"rate below floor", row{assent: 4000, floor: 5000, target: 20000, dir: higher}, "BELOW"},
		{"rate above floor", row{assent: 6000, floor: 5000, target: 20000, dir: higher}, "PASS"},
		{"rate at target", row{assent: 20000, floor: 5000, target: 20000, dir: higher}, "PASS (target)"},
		{"latency above floor", row{assent: 60, floor: 50, target: 10, dir: lower}, "BELOW"},
		{"latency under floor", row{assent: 40, floor: 50, target: 10, dir: lower}, "PASS"},
		{"latency under target", row{assent: 9, floor: 50, target: 10, dir: lower}, "PASS (target)"},
		{"not measured", row{floor: 50, target: 10, dir: lower}, "n/a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.verdict(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRatio(t *testing.T) {
	for _, tc := range []struct {
		r    row
		want string
	}{
		{row{assent: 10, plain: 1000, dir: lower}, "100×"},
		{row{assent: 10, plain: 1000, dir: lower, plainAtLeast: true}, "≥ 100×"},
		{row{assent: 5000, plain: 1000, dir: higher}, "5.0×"},
		{row{assent: 500, plain: 1000, dir: higher}, "0.50×"},
		{row{assent: 500, dir: higher}, "–"},
	} {
		if got := tc.r.ratio(); got != tc.want {
			t.Errorf("ratio of %+v: got %q, want %q", tc.r, got, tc.want)
		}
	}
}

// The engine-only run counts every generated participation once, each
// participant once, and measures every report kind at rest and beside the
// adds.
func TestEngineRun(t *testing.T) {
	cfg := config{participations: 3000, campaigns: 200, seed: 3, duration: 300 * time.Millisecond, statsWorkers: 2}
	r, err := newEngineRun(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g := NewGenerator(r.content, cfg.participations, cfg.seed, testNow)
	people := map[string]bool{}
	first, last := stats.Day(1<<30), stats.Day(0)
	for {
		rec, ok := g.Next()
		if !ok {
			break
		}
		people[rec.Email] = true
		f := r.fact(&rec, rec.at)
		first, last = min(first, f.Day), max(last, f.Day)
		r.engine.Add(engineAccount, f, rec.at)
	}
	res := r.engine.Query(engineAccount, r.meta.Catalog(), stats.Query{From: first, To: last})
	if res.Participations != int64(cfg.participations) || res.Unique != int64(len(people)) ||
		res.New != int64(len(people)) {
		t.Errorf("counted %d participations, %d unique, %d new; want %d, %d, %d", res.Participations, res.Unique,
			res.New, cfg.participations, len(people), len(people))
	}

	run, err := runEngine(t.Context(), cfg, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kinds() {
		if len(run.AtRest[k]) == 0 || len(run.UnderAdds[k]) == 0 {
			t.Errorf("%s: %d at rest, %d beside the adds; want both", k, len(run.AtRest[k]), len(run.UnderAdds[k]))
		}
	}
	if run.Added == 0 || run.HeapAfter == 0 {
		t.Errorf("added %d while reading, heap %d: want both above 0", run.Added, run.HeapAfter)
	}
	if md := run.markdown("test machine", cfg.seed, cfg.statsWorkers); !strings.Contains(md, "| opt-in stats |") {
		t.Errorf("report without the opt-in stats row:\n%s", md)
	}
}
