// Command assent-bench measures Assent against SPEC §11 and against a plain
// design (one transaction per participation, statistics by GROUP BY over
// the raw rows) on the same data, in one run.
//
//	go run ./cmd/assent-bench -engine sqlite|postgres -participations 1000000 [-seed 1] [-dir DIR]
//	    [-postgres URL] [-duration 20s] [-out FILE] [-assent PATH]
//
// The product runs as a subprocess (assent serve, assent import), so that
// its memory and its restart are measured on their own. The phases:
// build, fresh database, content through the API, generated participations
// (NDJSON), timed bulk import, timed restart, live ingest alone and then
// with statistics queries beside it, CSV exports, resident memory, then the plain baseline
// and the report.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// config is the command line.
type config struct {
	engine         string
	participations int
	campaigns      int
	seed           uint64
	dir            string
	postgres       string
	duration       time.Duration
	out            string
	assentBin      string
	workers        int
	statsWorkers   int
	plainBudget    time.Duration
	plainLimit     time.Duration
	statsOnly      bool
	cpuProfile     string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "assent-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg config
	fs := flag.NewFlagSet("assent-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.engine, "engine", "sqlite", "database engine: sqlite or postgres")
	fs.IntVar(&cfg.participations, "participations", 1_000_000, "participations to generate and import")
	fs.IntVar(&cfg.campaigns, "campaigns", 200, "campaigns to create")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the generator")
	fs.StringVar(&cfg.dir, "dir", "", "working directory (default: a new temporary one)")
	fs.StringVar(&cfg.postgres, "postgres", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		"PostgreSQL server to create the benchmark databases on (-engine postgres)")
	fs.DurationVar(&cfg.duration, "duration", 20*time.Second, "duration of each timed ingest")
	fs.StringVar(&cfg.out, "out", "", "also write the report in Markdown to this file")
	fs.StringVar(&cfg.assentBin, "assent", "", "assent binary to measure (default: build ./cmd/assent)")
	fs.IntVar(&cfg.workers, "workers", 64, "concurrent connections of the ingest")
	fs.IntVar(&cfg.statsWorkers, "stats-workers", 4, "concurrent statistics readers during the ingest")
	fs.DurationVar(&cfg.plainBudget, "plain-budget", 0,
		"time allowed for the repeated runs of the plain statistics queries: each kind of report runs once whatever it takes (up to -plain-limit), then again while its share lasts, up to 10 times (default: 20s per million participations, at least 30s)")
	fs.DurationVar(&cfg.plainLimit, "plain-limit", 0,
		"longest one plain report may run before it is stopped and counted as a lower bound (default: its share of -plain-budget, at least 30s)")
	fs.BoolVar(&cfg.statsOnly, "statistics-only", false,
		"measure the statistics engine alone, in this process (no database, no HTTP), at -participations")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "with -statistics-only: write a CPU profile of the reports to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.engine != "sqlite" && cfg.engine != "postgres" {
		return fmt.Errorf("-engine %q: want sqlite or postgres", cfg.engine)
	}
	if cfg.participations < 1 || cfg.campaigns < fiveOptinCampaigns {
		return fmt.Errorf("want -participations ≥ 1 and -campaigns ≥ %d", fiveOptinCampaigns)
	}
	if cfg.statsOnly {
		return runEngineOnly(ctx, cfg, stdout, stderr)
	}
	if cfg.plainBudget == 0 {
		cfg.plainBudget = max(30*time.Second, time.Duration(cfg.participations/1_000_000)*20*time.Second)
	}
	if cfg.dir == "" {
		d, err := os.MkdirTemp("", "assent-bench-")
		if err != nil {
			return err
		}
		cfg.dir = d
	} else if err := os.MkdirAll(cfg.dir, 0o755); err != nil {
		return err
	}
	b := &bench{cfg: cfg, log: stderr, res: &results{Engine: cfg.engine, N: cfg.participations, Seed: cfg.seed}}
	err := b.run(ctx)
	if b.res != nil {
		rep := b.res.markdown()
		fmt.Fprint(stdout, rep)
		if cfg.out != "" {
			if werr := os.WriteFile(cfg.out, []byte(rep), 0o644); werr != nil {
				err = errors.Join(err, werr)
			}
		}
	}
	return err
}

// runEngineOnly is the -statistics-only run.
func runEngineOnly(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	log := func(format string, args ...any) {
		fmt.Fprintf(stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	res, err := runEngine(ctx, cfg, log)
	if err != nil {
		return err
	}
	rep := res.markdown(machineInfo(), cfg.seed, cfg.statsWorkers)
	fmt.Fprint(stdout, rep)
	if cfg.out != "" {
		return os.WriteFile(cfg.out, []byte(rep), 0o644)
	}
	return nil
}

// bench is one run.
type bench struct {
	cfg      config
	log      io.Writer
	res      *results
	bin      string
	dsn      string
	key      string
	content  Content
	gen      *Generator
	ndjson   string
	now      time.Time
	phaseT   time.Time
	phaseArg string
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// phase ends the current phase (recording its time) and starts the next.
func (b *bench) phase(name string) {
	if b.phaseArg != "" {
		b.res.Phases = append(b.res.Phases, phaseTime{b.phaseArg, time.Since(b.phaseT)})
	}
	b.phaseArg, b.phaseT = name, time.Now()
	if name != "" {
		b.logf("phase: %s", name)
	}
}

func (b *bench) run(ctx context.Context) error {
	defer b.phase("")
	b.res.Machine = machineInfo()
	b.now = time.Now().UTC().Truncate(time.Second)
	b.logf("working directory %s (databases, NDJSON and service logs stay there)", b.cfg.dir)

	b.phase("build")
	if err := b.build(ctx); err != nil {
		return err
	}
	b.phase("fresh database")
	if err := b.freshDatabase(ctx); err != nil {
		return err
	}
	b.phase("content through the API")
	if err := b.createContent(ctx); err != nil {
		return err
	}
	b.phase("generate NDJSON")
	if err := b.generate(); err != nil {
		return err
	}
	b.phase("bulk import")
	if err := b.bulkImport(ctx); err != nil {
		return err
	}
	b.phase("restart")
	srv, err := b.restart(ctx)
	if err != nil {
		return err
	}
	defer srv.stop()
	b.phase("ingest")
	if err := b.ingest(ctx, srv); err != nil {
		return err
	}
	b.phase("CSV exports")
	if err := b.exports(ctx, srv); err != nil {
		return err
	}
	if err := srv.stop(); err != nil {
		b.logf("assent serve stopped with: %v", err)
	}
	b.phase("plain: load")
	p, err := b.plainLoad(ctx)
	if err != nil {
		return fmt.Errorf("plain baseline: %w", err)
	}
	defer p.close()
	b.phase("plain: ingest")
	b.res.PlainIngest = p.ingest(ctx, b.cfg.workers, b.cfg.duration, b.cfg.seed,
		liveRecords(b.content, b.cfg.participations/3, "live"))
	b.logIngest("plain ingest", b.res.PlainIngest)
	b.phase("plain: statistics queries")
	b.res.PlainStats, b.res.PlainCapped, err = p.reports(ctx, b.content, b.gen, b.now, b.cfg.plainBudget, b.cfg.plainLimit, b.log)
	return err
}

// build compiles the product once, unless -assent names a binary.
func (b *bench) build(ctx context.Context) error {
	if b.cfg.assentBin != "" {
		b.bin = b.cfg.assentBin
		return nil
	}
	b.bin = filepath.Join(b.cfg.dir, "assent")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", b.bin, "./cmd/assent")
	cmd.Stdout, cmd.Stderr = b.log, b.log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/assent (run assent-bench from the repository root): %w", err)
	}
	return nil
}

// freshDatabase makes an empty database, migrates it, creates the bench
// account and an admin key.
func (b *bench) freshDatabase(ctx context.Context) error {
	switch b.cfg.engine {
	case "sqlite":
		path := filepath.Join(b.cfg.dir, "assent.db")
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
		b.dsn = "sqlite:" + path
	case "postgres":
		dsn, err := recreatePostgres(ctx, b.cfg.postgres, "assent_bench")
		if err != nil {
			return err
		}
		b.dsn = dsn
	}
	if _, err := b.assent(ctx, "migrate", "-db", b.dsn); err != nil {
		return err
	}
	if _, err := b.assent(ctx, "account", "create", "-db", b.dsn, "-name", "bench", "-timezone", "Europe/Brussels"); err != nil {
		return err
	}
	out, err := b.assent(ctx, "apikey", "create", "-db", b.dsn, "-account", "bench", "-role", "admin", "-name", "bench")
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	b.key = strings.TrimSpace(lines[len(lines)-1])
	return nil
}

// recreatePostgres drops and creates database name on the server of
// serverURL and returns the URL of the new database.
func recreatePostgres(ctx context.Context, serverURL, name string) (string, error) {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", serverURL, err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`, `CREATE DATABASE ` + name} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return "", fmt.Errorf("%s: %w", q, err)
		}
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// assent runs one command of the product and returns its standard output.
func (b *bench) assent(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, b.bin, args...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("assent %s: %w: %s", strings.Join(args[:min(2, len(args))], " "), err,
			strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// server is a running "assent serve".
type server struct {
	cmd     *exec.Cmd
	api     *api
	started time.Time
	done    chan error
	stopped bool
	logFile *os.File
}

// startServer starts "assent serve" on a free port, logging to DIR/name.log.
func (b *bench) startServer(name string) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	logFile, err := os.Create(filepath.Join(b.cfg.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(b.bin, "serve", "-db", b.dsn, "-listen", addr, "-form-rate-limit", "0", "-log-format", "text")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	s := &server{cmd: cmd, api: newAPI("http://"+addr, b.key), done: make(chan error, 1), logFile: logFile}
	s.started = time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	go func() { s.done <- cmd.Wait() }()
	return s, nil
}

// stop sends SIGTERM and waits for a graceful exit (SIGKILL after a minute).
func (s *server) stop() error {
	if s.stopped {
		return nil
	}
	s.stopped = true
	defer s.logFile.Close()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		return err
	case <-time.After(time.Minute):
		s.cmd.Process.Kill()
		return errors.New("assent serve did not stop within a minute: killed")
	}
}

// memory reads VmRSS and VmHWM of the server process, in bytes.
func (s *server) memory() (rss, hwm int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		kb, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			rss = kb * 1024
		case "VmHWM":
			hwm = kb * 1024
		}
	}
	return rss, hwm
}

// createContent starts the service on the fresh database, creates the
// content through the API and stops it.
func (b *bench) createContent(ctx context.Context) error {
	srv, err := b.startServer("serve-content")
	if err != nil {
		return err
	}
	defer srv.stop()
	if err := srv.api.waitReady(ctx, time.Minute); err != nil {
		return err
	}
	b.content = PlanContent(b.cfg.seed, b.cfg.campaigns)
	if err := srv.api.createContent(ctx, &b.content, b.now); err != nil {
		return err
	}
	b.logf("created %d subcategories, %d opt-ins, %d campaigns", len(benchSubcategories), len(b.content.Optins),
		len(b.content.Campaigns))
	return srv.stop()
}

// generate writes the participations to DIR/participations.ndjson.
func (b *bench) generate() error {
	b.ndjson = filepath.Join(b.cfg.dir, "participations.ndjson")
	b.gen = NewGenerator(b.content, b.cfg.participations, b.cfg.seed, b.now)
	n, err := writeNDJSONFile(b.ndjson, b.gen)
	if err != nil {
		return err
	}
	st, _ := os.Stat(b.ndjson)
	b.logf("wrote %d participations to %s (%d MB)", n, b.ndjson, st.Size()>>20)
	return nil
}

// bulkImport runs "assent import", timed. While the product has no import
// command, it loads the file through the API instead (and the import
// measure stays empty).
func (b *bench) bulkImport(ctx context.Context) error {
	start := time.Now()
	_, err := b.assent(ctx, "import", "-db", b.dsn, "-account", "bench", "-file", b.ndjson)
	elapsed := time.Since(start)
	if err == nil {
		b.res.Import = &importResult{N: b.cfg.participations, Elapsed: elapsed}
		b.logf("import: %d participations in %s (%.0f/s)", b.cfg.participations, elapsed.Round(time.Millisecond),
			b.res.Import.Rate())
		return nil
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(err.Error(), `unknown command "import`) {
		return err
	}
	b.logf("this assent has no import command: loading through the API instead (not measured; created_at is lost)")
	srv, err := b.startServer("serve-load")
	if err != nil {
		return err
	}
	defer srv.stop()
	if err := srv.api.waitReady(ctx, time.Minute); err != nil {
		return err
	}
	n, err := srv.api.loadThroughAPI(ctx, b.ndjson, 16)
	if err != nil {
		return fmt.Errorf("load through the API: %w", err)
	}
	b.logf("loaded %d participations through the API in %s", n, time.Since(start).Round(time.Millisecond))
	b.res.ImportNote = "no `assent import` in this build: data loaded through the API, import not measured"
	return srv.stop()
}

// restart starts the service on the loaded database and times it until
// it answers /healthz and a statistics request.
func (b *bench) restart(ctx context.Context) (*server, error) {
	srv, err := b.startServer("serve")
	if err != nil {
		return nil, err
	}
	if err := srv.api.waitReady(ctx, 30*time.Minute); err != nil {
		srv.stop()
		return nil, err
	}
	b.res.Restart = time.Since(srv.started)
	b.res.RSSLoaded, b.res.HWMLoaded = srv.memory()
	b.logf("restart: ready in %s, RSS %d MB", b.res.Restart.Round(time.Millisecond), b.res.RSSLoaded>>20)
	return srv, nil
}

// ingest runs the live participations for -duration twice: alone (the
// §11 ingest measures), then with the statistics readers beside them (the
// §11 report latencies "while ingest runs").
func (b *bench) ingest(ctx context.Context, srv *server) error {
	qs := statsQueries(b.content, b.gen)
	// Warm up: one round of every report, unmeasured.
	for _, q := range qs {
		if status, body, err := srv.api.do(ctx, "GET", q.Path, nil); err != nil || status != 200 {
			return fmt.Errorf("GET %s: %d %v %s", q.Path, status, err, body)
		}
	}
	rest, err := srv.api.statsAtRest(ctx, qs, 10)
	if err != nil {
		return err
	}
	b.res.StatsAtRest = rest
	pool := b.cfg.participations / 3
	b.res.Ingest = runIngest(ctx, b.cfg.workers, b.cfg.duration, b.cfg.seed, liveRecords(b.content, pool, "live"),
		srv.api.submit)
	b.logIngest("ingest", b.res.Ingest)

	b.phase("statistics while ingest runs")
	statsCtx, stopStats := context.WithCancel(ctx)
	type statsOut struct {
		lat    map[string]Latencies
		failed int
		err    string
	}
	statsDone := make(chan statsOut, 1)
	go func() {
		lat, failed, err := srv.api.runStats(statsCtx, qs, b.cfg.statsWorkers)
		statsDone <- statsOut{lat, failed, err}
	}()
	res := runIngest(ctx, b.cfg.workers, b.cfg.duration, b.cfg.seed+1, liveRecords(b.content, pool, "busy"),
		srv.api.submit)
	stopStats()
	so := <-statsDone
	b.res.IngestWithStats, b.res.Stats, b.res.StatsFailed, b.res.StatsError = res, so.lat, so.failed, so.err
	b.res.RSSIngest, b.res.HWMIngest = srv.memory()
	b.logIngest("ingest beside statistics readers", res)
	n := 0
	for _, l := range so.lat {
		n += len(l)
	}
	b.logf("statistics: %d answered, %d failed", n, so.failed)
	if so.err != "" {
		b.logf("first statistics error: %s", so.err)
	}
	return nil
}

func (b *bench) logIngest(name string, r ingestResult) {
	b.logf("%s: %d ok, %d failed (%.0f/s, p50 %s, p99 %s)", name, r.OK, r.Failed, r.Rate(),
		fmtDuration(r.Latencies.Percentile(50)), fmtDuration(r.Latencies.Percentile(99)))
	if r.FirstError != "" {
		b.logf("first %s error: %s", name, r.FirstError)
	}
}

// exports downloads the audience of the most accepted opt-in, the
// participations of the top campaign and a report, as CSV.
func (b *bench) exports(ctx context.Context, srv *server) error {
	best := 0
	for i, n := range b.gen.OptinConversions {
		if n > b.gen.OptinConversions[best] {
			best = i
		}
	}
	top := b.content.Campaigns[b.gen.TopCampaign(0)]
	for _, e := range []struct{ name, path string }{
		{"opt-in audience", "/api/v1/optins/" + b.content.Optins[best].ID + "/audience?format=csv"},
		{"campaign participations", "/api/v1/campaigns/" + top.ID + "/participations?format=csv"},
		{"opt-in stats report", "/api/v1/stats/optins?period=last_365_days&interval=day&format=csv"},
	} {
		r, err := srv.api.export(ctx, e.name, e.path)
		if err != nil {
			return err
		}
		b.logf("export %s: %d rows in %s", r.Name, r.Rows, r.Elapsed.Round(time.Millisecond))
		b.res.Exports = append(b.res.Exports, r)
	}
	return nil
}
