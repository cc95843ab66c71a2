package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// results is everything one run measured.
type results struct {
	Machine string
	Engine  string
	N       int
	Seed    uint64
	Phases  []phaseTime

	Import     *importResult // nil when not measured
	ImportNote string
	Restart    time.Duration

	RSSLoaded, HWMLoaded int64
	RSSIngest, HWMIngest int64

	Ingest          ingestResult // alone
	IngestWithStats ingestResult // beside the statistics readers
	Stats           map[string]Latencies
	// StatsAtRest are the same reports asked one at a time with nothing
	// else running, as the plain ones are: the ratio compares those.
	StatsAtRest map[string]Latencies
	StatsFailed int
	StatsError  string
	Exports     []exportResult

	PlainIngest ingestResult
	PlainStats  map[string]Latencies
	// PlainCapped lists the kinds where a plain run was stopped: their
	// times are lower bounds.
	PlainCapped map[string]bool
}

type phaseTime struct {
	Name string
	D    time.Duration
}

// importResult is the timed "assent import".
type importResult struct {
	N       int
	Elapsed time.Duration
}

// Rate is participations imported per second.
func (r importResult) Rate() float64 { return float64(r.N) / r.Elapsed.Seconds() }

// machineInfo describes the machine: CPU model, cores, memory, Go.
func machineInfo() string {
	cpu, mem := "unknown CPU", "unknown memory"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == "MemTotal" {
				var kb int64
				fmt.Sscan(strings.TrimSpace(v), &kb)
				mem = fmt.Sprintf("%.1f GB", float64(kb)/(1<<20))
				break
			}
		}
		f.Close()
	}
	return fmt.Sprintf("%s, %d cores, %s, %s %s/%s", cpu, runtime.NumCPU(), mem, runtime.Version(), runtime.GOOS,
		runtime.GOARCH)
}

// direction says whether more is better for a measure.
type direction int

const (
	higher direction = iota
	lower
)

// row is one line of the §11 table.
type row struct {
	measure       string
	assent, plain float64 // 0 means not measured
	floor, target float64
	dir           direction
	format        func(float64) string
	plainAtLeast  bool // the plain value is a lower bound
}

func (r row) verdict() string {
	if r.assent == 0 {
		return "n/a"
	}
	meets := func(limit float64) bool {
		if r.dir == higher {
			return r.assent >= limit
		}
		return r.assent <= limit
	}
	switch {
	case meets(r.target):
		return "PASS (target)"
	case meets(r.floor):
		return "PASS"
	}
	return "BELOW"
}

func (r row) ratio() string {
	if r.assent == 0 || r.plain == 0 {
		return "–"
	}
	x := r.assent / r.plain
	if r.dir == lower {
		x = r.plain / r.assent
	}
	if r.plainAtLeast {
		return "≥ " + fmtRatio(x)
	}
	return fmtRatio(x)
}

// fmtRatio prints how many times faster Assent is (below 1: slower).
func fmtRatio(x float64) string {
	switch {
	case x < 1:
		return fmt.Sprintf("%.2f×", x)
	case x < 10:
		return fmt.Sprintf("%.1f×", x)
	}
	return fmt.Sprintf("%.0f×", x)
}

func perSecond(v float64) string { return fmt.Sprintf("%s/s", thousands(v)) }
func millis(v float64) string    { return fmtDuration(time.Duration(v * float64(time.Millisecond))) }
func times(v float64) string     { return fmtRatio(v) }
func bytesGB(v float64) string {
	if v >= 1<<30 {
		return fmt.Sprintf("%.2f GB", v/(1<<30))
	}
	return fmt.Sprintf("%.0f MB", v/(1<<20))
}

// thousands spells v rounded, with thin separators: 12,345.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// fmtDuration prints a latency with three significant digits.
func fmtDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "–"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	case d < 10*time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// assentKind maps a plain report kind to Assent's latencies: the unique
// participants over a year are a field of the global stats.
func (res *results) assentKind(kind string) Latencies {
	if kind == uniqueKind {
		return res.Stats["global 365 days"]
	}
	return res.Stats[kind]
}

// assentAtRest is assentKind for the reports asked at rest.
func (res *results) assentAtRest(kind string) Latencies {
	if kind == uniqueKind {
		kind = "global 365 days"
	}
	return res.StatsAtRest[kind]
}

// kinds lists the report kinds of the detail table.
func kinds() []string { return append(slices.Clone(statsKinds), uniqueKind) }

// rows assembles the §11 table.
func (res *results) rows() []row {
	var out []row
	out = append(out, row{measure: "Durable participations/s over HTTP, 64 connections, 5 opt-ins",
		assent: res.Ingest.Rate(), plain: res.PlainIngest.Rate(), floor: 5000, target: 20000, dir: higher, format: perSecond})
	out = append(out, row{measure: "Latency of those submissions, p99",
		assent: ms(res.Ingest.Latencies.Percentile(99)), plain: ms(res.PlainIngest.Latencies.Percentile(99)),
		floor: 50, target: 10, dir: lower, format: millis})
	imp := row{measure: "Bulk import (NDJSON), participations/s", floor: 50000, target: 200000, dir: higher, format: perSecond}
	if res.Import != nil {
		imp.assent = res.Import.Rate()
	}
	out = append(out, imp)
	var worst, worstPlain float64
	anyCapped := false
	for _, k := range statsKinds {
		worst = max(worst, ms(res.Stats[k].Percentile(99)))
		worstPlain = max(worstPlain, ms(res.PlainStats[k].Percentile(99)))
		anyCapped = anyCapped || res.PlainCapped[k]
	}
	out = append(out, row{measure: "Any statistics report, p99, while ingest runs", assent: worst, plain: worstPlain,
		floor: 100, target: 10, dir: lower, format: millis, plainAtLeast: anyCapped})
	out = append(out, row{measure: "Exact unique participants over a year, p99",
		assent: ms(res.assentKind(uniqueKind).Percentile(99)), plain: ms(res.PlainStats[uniqueKind].Percentile(99)),
		floor: 200, target: 50, dir: lower, format: millis, plainAtLeast: res.PlainCapped[uniqueKind]})
	exp := row{measure: "CSV export, rows/s (slowest export)", floor: 300000, target: 1000000, dir: higher, format: perSecond}
	for _, e := range res.Exports {
		if exp.assent == 0 || e.RowsPerSecond() < exp.assent {
			exp.assent = e.RowsPerSecond()
		}
	}
	out = append(out, exp)
	out = append(out, row{measure: "Resident memory (VmRSS after the ingest)", assent: float64(res.RSSIngest),
		floor: 2 << 30, target: 1 << 30, dir: lower, format: bytesGB})
	// The ratio on the same statistics queries: the smallest of the
	// per-kind ratios of the medians, both designs at rest, over the
	// reports both answer whole (the unique count alone is one field of
	// Assent's global report, so it is not the same query).
	var ratio float64
	for _, k := range statsKinds {
		a, p := res.assentAtRest(k).Percentile(50), res.PlainStats[k].Percentile(50)
		if a > 0 && p > 0 && (ratio == 0 || float64(p)/float64(a) < ratio) {
			ratio = float64(p) / float64(a)
		}
	}
	out = append(out, row{measure: "Ratio to the plain design on the same statistics reports (smallest, p50)",
		assent: ratio, floor: 20, target: 100, dir: higher, format: times})
	return out
}

// markdown renders the report.
func (res *results) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Benchmark: %s, %s participations, seed %d\n\n", res.Engine, thousands(float64(res.N)), res.Seed)
	fmt.Fprintf(&b, "Machine: %s. Run %s.\n\n", res.Machine, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	if res.N < 10_000_000 {
		fmt.Fprintf(&b, "SPEC §11 sets the statistics, unique-participants and memory limits at 10,000,000 "+
			"participations: at %s, their verdicts are indications only.\n\n", thousands(float64(res.N)))
	}
	if res.ImportNote != "" {
		fmt.Fprintf(&b, "Note: %s.\n\n", res.ImportNote)
	}
	fmt.Fprintf(&b, "| Measure (SPEC §11) | Assent | Plain | Ratio | Floor | Target | Verdict |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---|\n")
	for _, r := range res.rows() {
		a, p := "–", "–"
		if r.assent != 0 {
			a = r.format(r.assent)
		}
		if r.plain != 0 {
			p = r.format(r.plain)
			if r.plainAtLeast {
				p = "≥ " + p
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", r.measure, a, p, r.ratio(), r.format(r.floor),
			r.format(r.target), r.verdict())
	}

	fmt.Fprintf(&b, "\n### Statistics reports\n\nAssent while the ingest runs, and at rest (one request at a time, "+
		"nothing else running); plain at rest. The ratio compares the medians at rest.\n\n")
	fmt.Fprintf(&b, "| Report | Assent n | Assent p50 | Assent p99 | Assent at rest p50 | Plain n | Plain p50 | Plain p99 | Ratio p50 |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, k := range kinds() {
		a, rest, p := res.assentKind(k), res.assentAtRest(k), res.PlainStats[k]
		ratio, atLeast := "–", ""
		if res.PlainCapped[k] {
			atLeast = "≥ "
		}
		if rest.Percentile(50) > 0 && p.Percentile(50) > 0 {
			ratio = atLeast + fmtRatio(float64(p.Percentile(50))/float64(rest.Percentile(50)))
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %d | %s | %s%s | %s |\n", k, len(a), fmtDuration(a.Percentile(50)),
			fmtDuration(a.Percentile(99)), fmtDuration(rest.Percentile(50)), len(p), fmtDuration(p.Percentile(50)), atLeast,
			fmtDuration(p.Percentile(99)), ratio)
	}
	if res.StatsFailed > 0 {
		fmt.Fprintf(&b, "\n%d statistics requests failed; the first: %s\n", res.StatsFailed, res.StatsError)
	}

	fmt.Fprintf(&b, "\n### Ingest\n\n| | Acknowledged | Failed | Rate | p50 | p99 |\n|---|---:|---:|---:|---:|---:|\n")
	for _, x := range []struct {
		name string
		r    ingestResult
	}{{"Assent (HTTP)", res.Ingest}, {"Assent (HTTP), beside the statistics readers", res.IngestWithStats},
		{"Plain (SQL transactions)", res.PlainIngest}} {
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %s | %s |\n", x.name, x.r.OK, x.r.Failed, perSecond(x.r.Rate()),
			fmtDuration(x.r.Latencies.Percentile(50)), fmtDuration(x.r.Latencies.Percentile(99)))
	}
	for _, x := range []struct{ name, err string }{{"Assent", res.Ingest.FirstError},
		{"Assent (beside statistics)", res.IngestWithStats.FirstError}, {"Plain", res.PlainIngest.FirstError}} {
		if x.err != "" {
			fmt.Fprintf(&b, "\nFirst %s ingest error: %s\n", x.name, x.err)
		}
	}

	fmt.Fprintf(&b, "\n### CSV exports\n\n| Export | Rows | Time | Rows/s |\n|---|---:|---:|---:|\n")
	for _, e := range res.Exports {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", e.Name, thousands(float64(e.Rows)), fmtDuration(e.Elapsed),
			perSecond(e.RowsPerSecond()))
	}

	fmt.Fprintf(&b, "\n### Start and memory\n\n")
	if res.Import != nil {
		fmt.Fprintf(&b, "- Bulk import: %s participations in %s (%s)\n", thousands(float64(res.Import.N)),
			res.Import.Elapsed.Round(time.Millisecond), perSecond(res.Import.Rate()))
	}
	fmt.Fprintf(&b, "- Restart until /healthz and a statistics request answer: %s\n", res.Restart.Round(time.Millisecond))
	fmt.Fprintf(&b, "- Resident memory after loading: VmRSS %s, VmHWM %s\n", bytesGB(float64(res.RSSLoaded)),
		bytesGB(float64(res.HWMLoaded)))
	fmt.Fprintf(&b, "- Resident memory after the ingest: VmRSS %s, VmHWM %s\n", bytesGB(float64(res.RSSIngest)),
		bytesGB(float64(res.HWMIngest)))

	fmt.Fprintf(&b, "\n### Phases\n\n| Phase | Time |\n|---|---:|\n")
	var total time.Duration
	for _, p := range res.Phases {
		fmt.Fprintf(&b, "| %s | %s |\n", p.Name, p.D.Round(time.Millisecond))
		total += p.D
	}
	fmt.Fprintf(&b, "| total | %s |\n", total.Round(time.Millisecond))
	return b.String()
}
