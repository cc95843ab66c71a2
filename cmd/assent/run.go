package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/mailer"
	"github.com/assentdev/assent/server"
	"github.com/assentdev/assent/store"
	"github.com/assentdev/assent/webhook"
)

const usage = `assent: opt-in and consent management

Usage:
  assent serve   [-listen :8080] [-db sqlite:assent.db | -db postgres://…] [-base-url URL] [-debug-listen ADDR] [-dev]
  assent demo    [-listen :8080] [-participations 20000] [-seed 1]
  assent migrate [-db …]
  assent account create [-db …] -name NAME [-timezone Europe/Brussels]
  assent apikey create  [-db …] [-account NAME_OR_ID] -role ROLE [-name LABEL]
  assent user create    [-db …] [-account NAME_OR_ID] -email EMAIL -role ROLE [-name NAME]
  assent ledger verify  [-db …] [-account NAME_OR_ID]
  assent import [-db …] [-account NAME_OR_ID] -file FILE|- [-batch 20000] [-cache 256] [-confirmation-ttl 168h]
                                   past participations, one JSON object per line

Every flag also reads ASSENT_<FLAG> (ASSENT_DB, ASSENT_LISTEN, …). The user's
password comes from ASSENT_PASSWORD, or is asked for.
`

// usageError is a mistake in the command line; main exits 2 for it.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg + "\n\n" + usage }

// env is the process environment as run sees it.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// run is the whole program: main only adds the process around it, so that
// tests can run it in-process with their own arguments, environment and
// output.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		return usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	if len(rest) > 0 && (cmd == "account" || cmd == "apikey" || cmd == "user" || cmd == "ledger") {
		cmd, rest = cmd+" "+rest[0], rest[1:]
	}
	switch cmd {
	case "serve":
		return e.serve(ctx, rest)
	case "demo":
		return e.demo(ctx, rest)
	case "migrate":
		return e.migrate(ctx, rest)
	case "account create":
		return e.accountCreate(ctx, rest)
	case "apikey create":
		return e.apikeyCreate(ctx, rest)
	case "user create":
		return e.userCreate(ctx, rest)
	case "ledger verify":
		return e.ledgerVerify(ctx, rest)
	case "import":
		return e.importParticipations(ctx, rest)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q", strings.Join(args[:min(2, len(args))], " "))}
}

// parse parses args into fs, then fills each flag not given on the command
// line from ASSENT_<FLAG> (upper case, '-' as '_').
func (e env) parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, usage)
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "ASSENT_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := e.getenv(name); v != "" && !given[f.Name] && err == nil {
			if setErr := fs.Set(f.Name, v); setErr != nil {
				err = usageError{fmt.Sprintf("%s=%q: %v", name, v, setErr)}
			}
		}
	})
	return err
}

const defaultDB = "sqlite:assent.db"

// open opens and migrates the database and makes sure it has an account.
func (e env) open(ctx context.Context, dsn string, log *slog.Logger) (*store.Store, error) {
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	created, err := st.EnsureDefaultAccount(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	if created && log != nil {
		log.Info("created the account " + assent.DefaultAccountName)
	}
	return st, nil
}

// loadStats rebuilds the statistics kept in memory from the database; the
// commands that serve need them, the others do not wait for them.
func loadStats(ctx context.Context, st *store.Store, log *slog.Logger) error {
	start := time.Now()
	if err := st.LoadStats(ctx); err != nil {
		return err
	}
	if log != nil {
		log.Info("statistics loaded", "duration", time.Since(start))
	}
	return nil
}

func (e env) serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	listen := fs.String("listen", ":8080", "address to listen on")
	dsn := fs.String("db", defaultDB, "database: sqlite:PATH or postgres://…")
	baseURL := fs.String("base-url", "", "public URL of the service, for form links (default: from -listen)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	trustProxy := fs.Bool("trust-proxy", false, "take client addresses from X-Forwarded-For (behind a reverse proxy only)")
	formRate := fs.Int("form-rate-limit", server.DefaultFormRateLimit.Requests,
		"public form submissions allowed per minute and client address; 0 turns the limit off")
	smtpAddr := fs.String("smtp-addr", "", "SMTP relay host:port for confirmation emails (default: write them to the log)")
	smtpFrom := fs.String("smtp-from", "assent@localhost", "sender address of emails")
	smtpUser := fs.String("smtp-username", "", "SMTP user name, if the relay needs one")
	smtpPassword := fs.String("smtp-password", "", "SMTP password")
	confirmTTL := fs.Duration("confirmation-ttl", store.DefaultConfirmationTTL, "how long a double opt-in waits for confirmation")
	dev := fs.Bool("dev", false, "read the pages' templates and static files from "+devUIDir+
		" (run from the source tree) and parse the templates again for every page, so that edits show on reload")
	debugListen := fs.String("debug-listen", "", "address for the Go profiler (net/http/pprof), such as 127.0.0.1:6060; "+
		"off when empty; never expose it")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	uiDir := ""
	if *dev {
		if info, err := os.Stat(devUIDir); err != nil || !info.IsDir() {
			return usageError{"-dev reads " + devUIDir + " in the working directory: run it from the root of Assent's source tree"}
		}
		uiDir = devUIDir
	}
	log, err := e.logger(*logFormat)
	if err != nil {
		return err
	}
	st, err := e.open(ctx, *dsn, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := loadStats(ctx, st, log); err != nil {
		return err
	}
	if *confirmTTL <= 0 {
		return usageError{"-confirmation-ttl must be positive"}
	}
	st.ConfirmationTTL = *confirmTTL
	if *debugListen != "" {
		stop, err := serveDebug(*debugListen, log)
		if err != nil {
			return err
		}
		defer stop()
	}

	return e.serveStore(ctx, st, log, serverOptions{listen: *listen, baseURL: *baseURL, trustProxy: *trustProxy,
		formRate: *formRate, smtpAddr: *smtpAddr, smtpFrom: *smtpFrom, smtpUser: *smtpUser, smtpPassword: *smtpPassword,
		uiDir: uiDir})
}

// serveDebug serves the Go profiler on addr, apart from the service, for
// operators measuring a running process. It returns a function that stops it.
func serveDebug(addr string, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-debug-listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	log.Warn("the Go profiler listens on " + ln.Addr().String() + "/debug/pprof/; keep it private")
	return func() { srv.Close() }, nil
}

// devUIDir is where -dev reads the pages from, relative to the working
// directory: the root of the source tree.
const devUIDir = "server/ui"

// serverOptions are the settings of serveStore, from serve's flags.
type serverOptions struct {
	listen, baseURL                            string
	trustProxy                                 bool
	formRate                                   int
	smtpAddr, smtpFrom, smtpUser, smtpPassword string
	// uiDir, when set, is the directory the pages are read from (-dev).
	uiDir string
	// ready, when set, is called with the base URL once the service
	// listens, before it serves its first request.
	ready func(baseURL string)
}

// serveStore runs the service on an opened store until ctx ends, then
// shuts it down gracefully: the HTTP server, the mailer, the expiry of
// confirmations and the webhook dispatcher. serve and demo share it.
func (e env) serveStore(ctx context.Context, st *store.Store, log *slog.Logger, o serverOptions) error {
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.listen, err)
	}
	baseURL := o.baseURL
	if baseURL == "" {
		baseURL = defaultBaseURL(ln.Addr().(*net.TCPAddr))
	}
	st.BaseURL = baseURL // webhook payloads link to the preferences page
	srv := &http.Server{
		Handler: server.New(st, log, server.Config{BaseURL: baseURL, TrustProxy: o.trustProxy,
			FormRateLimit: formRateLimit(o.formRate), UIDir: o.uiDir}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      5 * time.Minute, // CSV exports stream for a while
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", ln.Addr().String(), "url", baseURL, "db", st.Engine(),
		"schema_version", store.SchemaVersion())

	if o.uiDir != "" {
		log.Warn("development mode: pages are read from " + o.uiDir + " and parsed for every request; not for production")
	}
	if o.smtpAddr == "" {
		log.Info("no SMTP relay set (-smtp-addr): confirmation emails are written to this log")
	}
	if o.ready != nil {
		o.ready(baseURL)
	}
	// Background work stops when the service does, after the last request.
	bgCtx, stopBackground := context.WithCancel(context.Background())
	var background sync.WaitGroup
	background.Go(func() {
		mailer.New(st, log, mailer.Config{SMTPAddr: o.smtpAddr, From: o.smtpFrom, Username: o.smtpUser,
			Password: o.smtpPassword, BaseURL: baseURL}).Run(bgCtx)
	})
	background.Go(func() { expireConfirmations(bgCtx, st, log) })
	background.Go(func() { catchUp(bgCtx, st, log) })
	// Stopping the dispatcher lets calls in flight finish (or time out)
	// and records them; a delivery it could not finish is due again.
	background.Go(func() { webhook.New(st, log).Run(bgCtx) })

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		stopBackground()
		background.Wait()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	stopBackground()
	background.Wait()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// logger returns the service's logger on standard error, in format text
// or json.
func (e env) logger(format string) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(e.stderr, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, nil)), nil
	}
	return nil, usageError{fmt.Sprintf("-log-format %q: want text or json", format)}
}

// expireConfirmations expires overdue double opt-ins once a minute.
func expireConfirmations(ctx context.Context, st *store.Store, log *slog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if n, err := st.ExpireConfirmations(ctx); err != nil && ctx.Err() == nil {
			log.Error("expire confirmations", "err", err)
		} else if n > 0 {
			log.Info("expired unconfirmed double opt-ins", "confirmations", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// catchUp counts into the statistics what other processes serving the
// same database commit, every store.CatchUpInterval, so that a report here
// includes what they acknowledged within a second (SPEC §11).
func catchUp(ctx context.Context, st *store.Store, log *slog.Logger) {
	t := time.NewTicker(store.CatchUpInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Logged once when it starts failing and once when it recovers,
		// not four times a second.
		switch err := st.CatchUp(ctx); {
		case err != nil && ctx.Err() == nil && !failing:
			log.Error("catch up with other processes", "err", err)
			failing = true
		case err == nil && failing:
			log.Info("caught up with other processes again")
			failing = false
		}
	}
}

// formRateLimit turns -form-rate-limit into the server's setting.
func formRateLimit(perMinute int) server.RateLimit {
	if perMinute <= 0 {
		return server.RateLimit{Requests: -1} // off
	}
	return server.RateLimit{Requests: perMinute, Per: time.Minute, Burst: perMinute}
}

// defaultBaseURL guesses the public URL from the listening address.
func defaultBaseURL(addr *net.TCPAddr) string {
	host := "localhost"
	if !addr.IP.IsUnspecified() {
		host = addr.IP.String()
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

func (e env) migrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	dsn := fs.String("db", defaultDB, "database")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	st, err := e.open(ctx, *dsn, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(e.stdout, "the schema is at version %d\n", store.SchemaVersion())
	return nil
}

func (e env) accountCreate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("account create", flag.ContinueOnError)
	dsn := fs.String("db", defaultDB, "database")
	name := fs.String("name", "", "account name")
	tz := fs.String("timezone", "UTC", "IANA time zone of the account's reports")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return usageError{"-name is required"}
	}
	st, err := e.open(ctx, *dsn, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := st.CreateAccount(ctx, *name, *tz)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintln(e.stdout, a.ID)
	return nil
}

func (e env) apikeyCreate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
	dsn := fs.String("db", defaultDB, "database")
	account := fs.String("account", assent.DefaultAccountName, "account name or id")
	role := fs.String("role", "", "admin, marketer, editor, observer or collector")
	name := fs.String("name", "", "a label for the key")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	r, err := assent.ParseRole(*role)
	if err != nil {
		return usageError{"-role: " + err.Error()}
	}
	st, a, err := e.openAccount(ctx, *dsn, *account)
	if err != nil {
		return err
	}
	defer st.Close()
	k, err := st.CreateAPIKey(ctx, a.ID, *name, r)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "API key %s for account %s, role %s. It is shown once; keep it safe:\n%s\n", k.ID, a.Name, k.Role, k.Key)
	return nil
}

func (e env) userCreate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	dsn := fs.String("db", defaultDB, "database")
	account := fs.String("account", assent.DefaultAccountName, "account name or id")
	email := fs.String("email", "", "the user's email address, to sign in with")
	role := fs.String("role", "", "admin, marketer, editor or observer")
	name := fs.String("name", "", "the user's name")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if *email == "" {
		return usageError{"-email is required"}
	}
	r, err := assent.ParseRole(*role)
	if err != nil || r == assent.RoleCollector {
		return usageError{"-role: want one of admin, marketer, editor, observer"}
	}
	password := e.getenv("ASSENT_PASSWORD")
	if password == "" {
		if password, err = e.askPassword(); err != nil {
			return err
		}
	}
	st, a, err := e.openAccount(ctx, *dsn, *account)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.CreateUser(ctx, a.ID, *email, *name, r, password)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintln(e.stdout, u.ID)
	return nil
}

func (e env) ledgerVerify(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ledger verify", flag.ContinueOnError)
	dsn := fs.String("db", defaultDB, "database")
	account := fs.String("account", assent.DefaultAccountName, "account name or id")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	st, a, err := e.openAccount(ctx, *dsn, *account)
	if err != nil {
		return err
	}
	defer st.Close()
	check, err := st.VerifyLedger(ctx, a.ID)
	if err != nil {
		return err
	}
	if !check.OK {
		return fmt.Errorf("the consent ledger of %s is broken at event %d (%s): %s", a.Name, check.Broken.Seq,
			check.Broken.EventID, check.Broken.Problem)
	}
	fmt.Fprintf(e.stdout, "the consent ledger of %s holds: %d events, every link checked\n", a.Name, check.Events)
	return nil
}

// openAccount opens the database and finds the account named or numbered
// nameOrID in it; the caller closes the store.
func (e env) openAccount(ctx context.Context, dsn, nameOrID string) (*store.Store, assent.Account, error) {
	st, err := e.open(ctx, dsn, nil)
	if err != nil {
		return nil, assent.Account{}, err
	}
	a, err := st.AccountByNameOrID(ctx, nameOrID)
	if err != nil {
		st.Close()
		return nil, a, describe(err)
	}
	return st, a, nil
}

// askPassword reads a password from the terminal without echo, or one line
// from standard input when it is not a terminal.
func (e env) askPassword() (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(e.stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		return string(b), err
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		return "", errors.New("no password: set ASSENT_PASSWORD or type it on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// describe spells out a domain error for the terminal, fields included.
func describe(err error) error {
	var de *assent.Error
	if !errors.As(err, &de) || len(de.Fields) == 0 {
		return err
	}
	var b strings.Builder
	b.WriteString(de.Message)
	for f, p := range de.Fields {
		fmt.Fprintf(&b, "\n  %s: %s", f, p)
	}
	return errors.New(b.String())
}
