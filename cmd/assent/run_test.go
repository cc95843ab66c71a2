package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
	"github.com/assentdev/assent/store/storetest"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// envOf returns a getenv that reads only m.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// cli runs one command in-process and returns its standard output.
func cli(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, envOf(env), strings.NewReader(""), &out, &errOut)
	return out.String(), err
}

var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startServe runs "assent serve" on a free port until the test ends and
// returns its base URL and a function that stops it and returns run's error.
func startServe(t *testing.T, dsn string, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "-listen", "127.0.0.1:0"}, args...), envOf(map[string]string{"ASSENT_DB": dsn}),
			strings.NewReader(""), io.Discard, stderr)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := listening.FindStringSubmatch(stderr.String()); m != nil {
			var once sync.Once
			var stopErr error
			stop := func() error {
				once.Do(func() {
					cancel()
					select {
					case stopErr = <-done:
					case <-time.After(40 * time.Second):
						stopErr = errors.New("serve did not stop within 40 s")
					}
				})
				return stopErr
			}
			t.Cleanup(func() { stop() })
			return "http://" + m[1], stop
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped early: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeDev checks that "assent serve -dev" serves the templates and
// static files of ./server/ui as they are on disk at each request. It
// changes the working directory, so it does not run in parallel.
func TestServeDev(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "server", "ui"), os.DirFS(filepath.Join("..", "..", "server", "ui"))); err != nil {
		t.Fatal(err)
	}
	dsn := storetest.DSN(t)
	t.Chdir(dir)
	base, _ := startServe(t, dsn, "-dev")
	get := func(path string) (string, http.Header) {
		t.Helper()
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: got status %d\n%s", path, res.StatusCode, b)
		}
		return string(b), res.Header
	}
	edit := func(name, old, new string) {
		t.Helper()
		path := filepath.Join(dir, "server", "ui", name)
		b, err := os.ReadFile(path)
		if err != nil || !bytes.Contains(b, []byte(old)) {
			t.Fatalf("%s: %v, or no %q in it", name, err, old)
		}
		if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if page, _ := get("/admin/login"); strings.Contains(page, "Edited on disk") {
		t.Fatal("the page holds the edit before it is made")
	}
	edit("templates/admin/login.html", `{{define "content" -}}`, `{{define "content" -}}<p>Edited on disk</p>`)
	edit("static/admin.css", "body {", "/* edited on disk */\nbody {")
	page, _ := get("/admin/login")
	if !strings.Contains(page, "<p>Edited on disk</p>") {
		t.Errorf("after the edit: the page does not show it\n%s", page)
	}
	css := regexp.MustCompile(`href="(/static/admin\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
	if css == nil {
		t.Fatalf("no stylesheet link in\n%s", page)
	}
	body, header := get(css[1])
	if !strings.Contains(body, "/* edited on disk */") || header.Get("Cache-Control") != "no-cache" {
		t.Errorf("stylesheet: got Cache-Control %q and the edit shown %v", header.Get("Cache-Control"),
			strings.Contains(body, "/* edited on disk */"))
	}
}

// post sends body as JSON with the API key and decodes the answer.
func post(t *testing.T, method, url, key string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// TestServeNewUserFlow follows the README: start the service, make an API
// key with the command line, then create a subcategory, an opt-in and a
// campaign over HTTP; then stop it with the signal's context.
func TestServeNewUserFlow(t *testing.T) {
	t.Parallel()
	dsn := storetest.DSN(t)
	base, stop := startServe(t, dsn)

	res, err := http.Get(base + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()

	out, err := cli(t, map[string]string{"ASSENT_DB": dsn}, "apikey", "create", "-role", "admin", "-name", "ci")
	if err != nil {
		t.Fatalf("apikey create: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	if !strings.HasPrefix(key, "assent_") || strings.Contains(key, " ") {
		t.Fatalf("last line of apikey create: got %q, want the key alone", key)
	}

	status, sub := post(t, "POST", base+"/api/v1/subcategories", key,
		map[string]any{"name": "Weekly news", "value": "weekly-news", "category": "newsletter_marketing"})
	if status != 201 {
		t.Fatalf("create subcategory: got %d, want 201: %v", status, sub)
	}
	status, optin := post(t, "POST", base+"/api/v1/optins", key, map[string]any{
		"name": "Newsletter", "language": "en", "text": "Send me the weekly newsletter", "display": "checkbox",
		"subcategories": []string{"weekly-news"}, "variable": "my_newsletter"})
	if status != 201 {
		t.Fatalf("create opt-in: got %d, want 201: %v", status, optin)
	}
	status, campaign := post(t, "POST", base+"/api/v1/campaigns", key, map[string]any{
		"name": "Christmas contest", "language": "en", "type": "contest",
		"fields": map[string]string{"first_name": "required", "last_name": "optional"},
		"optins": []any{optin["id"]}})
	if status != 201 {
		t.Fatalf("create campaign: got %d, want 201: %v", status, campaign)
	}
	if want := base + "/f/" + campaign["id"].(string); campaign["form_url"] != want {
		t.Errorf("form_url: got %v, want %s", campaign["form_url"], want)
	}

	if err := stop(); err != nil {
		t.Fatalf("graceful stop: got %v, want nil", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Errorf("the server still answers after stopping")
	}
}

// TestServeRestartKeepsData checks that what one run acknowledged is there
// for the next.
func TestServeRestartKeepsData(t *testing.T) {
	t.Parallel()
	dsn := storetest.DSN(t)
	out, err := cli(t, map[string]string{"ASSENT_DB": dsn}, "apikey", "create", "-role", "marketer")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	base, stop := startServe(t, dsn)
	if status, body := post(t, "POST", base+"/api/v1/subcategories", key,
		map[string]any{"name": "Partners A", "value": "partners-a", "category": "partners"}); status != 201 {
		t.Fatalf("create: got %d: %v", status, body)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	base, _ = startServe(t, dsn)
	status, body := post(t, "GET", base+"/api/v1/subcategories", key, nil)
	if status != 200 || !strings.Contains(toJSON(body), `"value":"partners-a"`) {
		t.Fatalf("after restart: got %d %v, want the subcategory partners-a", status, body)
	}
}

// TestServeTwoProcessesShareStatistics runs two "assent serve" on one
// database, as SPEC §11 allows: a participation acknowledged by either is
// in the other's reports, without a restart, once it has caught up (four
// times a second).
func TestServeTwoProcessesShareStatistics(t *testing.T) {
	t.Parallel()
	dsn := storetest.DSN(t)
	out, err := cli(t, map[string]string{"ASSENT_DB": dsn}, "apikey", "create", "-role", "admin")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	bases := [2]string{}
	bases[0], _ = startServe(t, dsn)
	bases[1], _ = startServe(t, dsn)
	status, optin := post(t, "POST", bases[0]+"/api/v1/optins", key, map[string]any{
		"name": "Newsletter", "language": "en", "text": "Send me the newsletter", "display": "checkbox",
		"subcategories": []string{"newsletter_marketing"}})
	if status != 201 {
		t.Fatalf("create opt-in: got %d: %v", status, optin)
	}
	status, campaign := post(t, "POST", bases[0]+"/api/v1/campaigns", key, map[string]any{
		"name": "Spring", "language": "en", "type": "contest", "optins": []any{optin["id"]}})
	if status != 201 {
		t.Fatalf("create campaign: got %d: %v", status, campaign)
	}
	stats := "/api/v1/campaigns/" + campaign["id"].(string) + "/stats"
	for i := range 4 {
		through := bases[i%2]
		status, body := post(t, "POST", through+"/api/v1/campaigns/"+campaign["id"].(string)+"/participations", key,
			map[string]any{"email": fmt.Sprintf("p%d@example.com", i), "answers": map[string]any{optin["id"].(string): i%2 == 0}})
		if status != 201 {
			t.Fatalf("participation %d through %s: got %d: %v", i, through, status, body)
		}
		// Counted at once where it was acknowledged; in the other within
		// the catch-up interval (waited for here up to ten seconds, so that
		// a slow machine does not fail the test).
		for j, base := range bases {
			deadline := time.Now().Add(10 * time.Second)
			for {
				_, report := post(t, "GET", base+stats+"?period=last_7_days", key, nil)
				got, _ := report["participations"].(float64)
				if int(got) == i+1 {
					break
				}
				if j == i%2 || int(got) > i+1 || time.Now().After(deadline) {
					t.Fatalf("after participation %d through %s: %s counts %v participations, want %d", i, through, base,
						report["participations"], i+1)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestCommands(t *testing.T) {
	t.Parallel()
	dsn := storetest.DSN(t)
	env := map[string]string{"ASSENT_DB": dsn}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantOut string // a regexp the output must match
		wantErr string // a substring of the error; empty for success
	}{
		{"no command", env, nil, "", "no command given"},
		{"unknown command", env, []string{"frobnicate"}, "", `unknown command "frobnicate"`},
		{"help", env, []string{"help"}, "assent serve", ""},
		{"migrate", env, []string{"migrate"}, `schema is at version \d+`, ""},
		{"migrate with -db flag", nil, []string{"migrate", "-db", dsn}, `schema is at version`, ""},
		{"account create", env, []string{"account", "create", "-name", "Brand X", "-timezone", "Europe/Brussels"}, `^acc_\w+\n$`, ""},
		{"account create from env", map[string]string{"ASSENT_DB": dsn, "ASSENT_NAME": "Brand Y"}, []string{"account", "create"}, `^acc_\w+\n$`, ""},
		{"account create duplicate", env, []string{"account", "create", "-name", "default"}, "", "exists already"},
		{"account create bad zone", env, []string{"account", "create", "-name", "Z", "-timezone", "Mars/Olympus"}, "", "time_zone: must be an IANA time zone"},
		{"account create without name", env, []string{"account", "create"}, "", "-name is required"},
		{"apikey create", env, []string{"apikey", "create", "-account", "Brand X", "-role", "collector"}, `\nassent_\w+\n$`, ""},
		{"apikey create bad role", env, []string{"apikey", "create", "-role", "boss"}, "", `unknown role "boss"`},
		{"apikey create unknown account", env, []string{"apikey", "create", "-account", "nope", "-role", "admin"}, "", `no account has the name or id "nope"`},
		{"user create", map[string]string{"ASSENT_DB": dsn, "ASSENT_PASSWORD": "correct horse battery"},
			[]string{"user", "create", "-email", "Ada@Example.com", "-role", "admin"}, `^usr_\w+\n$`, ""},
		{"user create duplicate", map[string]string{"ASSENT_DB": dsn, "ASSENT_PASSWORD": "correct horse battery"},
			[]string{"user", "create", "-email", "ada@example.com", "-role", "observer"}, "", "exists already"},
		{"user create short password", map[string]string{"ASSENT_DB": dsn, "ASSENT_PASSWORD": "short"},
			[]string{"user", "create", "-email", "bob@example.com", "-role", "admin"}, "", "password: must be at least 10 characters"},
		{"user create collector", map[string]string{"ASSENT_DB": dsn, "ASSENT_PASSWORD": "correct horse battery"},
			[]string{"user", "create", "-email", "c@example.com", "-role", "collector"}, "", "-role: want one of admin, marketer, editor, observer"},
		{"user create no password", env, []string{"user", "create", "-email", "d@example.com", "-role", "admin"}, "", "no password"},
		{"ledger verify", env, []string{"ledger", "verify"}, `ledger of default holds: 0 events`, ""},
		{"ledger verify unknown account", env, []string{"ledger", "verify", "-account", "nope"}, "", `no account has the name or id "nope"`},
		{"bad confirmation ttl", env, []string{"serve", "-confirmation-ttl", "-1h", "-listen", "127.0.0.1:0"}, "", "-confirmation-ttl must be positive"},
		{"import bad confirmation ttl", env, []string{"import", "-file", "-", "-confirmation-ttl", "0s"}, "", "-confirmation-ttl must be positive"},
		{"import no cache", env, []string{"import", "-file", "-", "-cache", "0"}, "", "-cache must be between 1 and 65536"},
		{"bad flag", env, []string{"serve", "-nope"}, "", "flag provided but not defined: -nope"},
		{"demo negative participations", nil, []string{"demo", "-participations", "-1"}, "", "-participations must not be negative"},
		{"demo bad seed", nil, []string{"demo", "-seed", "x"}, "", `invalid value "x" for flag -seed`},
		{"bad log format", env, []string{"serve", "-log-format", "xml"}, "", `-log-format "xml"`},
		{"dev outside the source tree", env, []string{"serve", "-dev", "-listen", "127.0.0.1:0"}, "", "-dev reads server/ui in the working directory"},
		{"dev from the environment", map[string]string{"ASSENT_DB": env["ASSENT_DB"], "ASSENT_DEV": "true"},
			[]string{"serve", "-listen", "127.0.0.1:0"}, "", "-dev reads server/ui"},
	}
	for _, tt := range tests {
		// One database for all: the cases run in order, since later ones
		// depend on earlier ones (the duplicate account and user).
		out, err := cli(t, tt.env, tt.args...)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: got error %v, want none", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: got error %v, want one containing %q", tt.name, err, tt.wantErr)
		case tt.wantOut != "" && !regexp.MustCompile(tt.wantOut).MatchString(out):
			t.Errorf("%s: got output %q, want a match of %q", tt.name, out, tt.wantOut)
		}
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	t.Parallel()
	_, err := cli(t, nil, "serve", "-nope")
	var u usageError
	if !errors.As(err, &u) {
		t.Fatalf("got %T %v, want a usageError (exit status 2)", err, err)
	}
}

// TestServeDeliversWebhooks checks that "assent serve" runs the webhook
// dispatcher: a participation reaches a registered endpoint, signed, with
// a preferences link under the service's URL; and stopping waits for it.
func TestServeDeliversWebhooks(t *testing.T) {
	t.Parallel()
	dsn := storetest.DSN(t)
	got := make(chan *http.Request, 10)
	bodies := make(chan []byte, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- b
	}))
	t.Cleanup(receiver.Close)
	out, err := cli(t, map[string]string{"ASSENT_DB": dsn}, "apikey", "create", "-role", "admin")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	base, stop := startServe(t, dsn)
	status, hook := post(t, "POST", base+"/api/v1/webhooks", key, map[string]any{"url": receiver.URL,
		"events": []string{"participation.created"}})
	if status != 201 {
		t.Fatalf("create webhook: got %d: %v", status, hook)
	}
	_, optin := post(t, "POST", base+"/api/v1/optins", key, map[string]any{"name": "Rules", "language": "en",
		"text": "I accept the rules", "subcategories": []string{"legal"}})
	_, campaign := post(t, "POST", base+"/api/v1/campaigns", key, map[string]any{"name": "C", "language": "en",
		"optins": []any{optin["id"]}})
	status, receipt := post(t, "POST", base+"/api/v1/campaigns/"+campaign["id"].(string)+"/participations", key,
		map[string]any{"email": "ada@example.com", "answers": map[string]any{optin["id"].(string): true}})
	if status != 201 {
		t.Fatalf("participate: got %d: %v", status, receipt)
	}
	select {
	case r := <-got:
		body := <-bodies
		if r.Header.Get("Webhook-Signature") == "" || !strings.Contains(string(body), receipt["id"].(string)) ||
			!strings.Contains(string(body), `"preferences_url":"`+base+`/preferences/`) {
			t.Errorf("got %v\n%s", r.Header, body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the participation did not reach the endpoint within 10 s")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

var (
	demoURL     = regexp.MustCompile(`Assent demo: (http://\S+)/admin\n`)
	demoSignIn  = regexp.MustCompile(`Sign in as (\S+) with the password (\S+)\n`)
	demoDBPath  = regexp.MustCompile(`msg="demo database" path=(\S+)`)
	demoElapsed = regexp.MustCompile(`generated demo data in \S+: 8 campaigns, 13 opt-ins, 600 participations`)
)

// TestDemo runs "assent demo" as the README does, with fewer
// participations: it serves generated data, its printed sign-in works, the
// admin pages show the campaigns, and stopping removes the database.
func TestDemo(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "-participations", "600", "-listen", "127.0.0.1:0"}, envOf(nil),
			strings.NewReader(""), stdout, stderr)
	}()
	var base, email, password string
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m, s := demoURL.FindStringSubmatch(stdout.String()), demoSignIn.FindStringSubmatch(stdout.String()); m != nil && s != nil {
			base, email, password = m[1], s[1], s[2]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("demo stopped early: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo did not start:\n%s\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if email != demoEmail || len(password) < 10 {
		t.Errorf("sign-in: got %q %q, want %s and a password of 10 characters or more", email, password, demoEmail)
	}
	log := stderr.String()
	if !strings.Contains(log, "generating demo data: 600/600 participations") || !demoElapsed.MatchString(log) {
		t.Errorf("stderr: want the progress and the time it took:\n%s", log)
	}
	m := demoDBPath.FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("stderr names no demo database:\n%s", log)
	}
	dbPath := m[1]

	res, err := http.Get(base + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()

	// Sign in with the printed credentials and land on the campaigns.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	req, _ := http.NewRequest("POST", base+"/admin/login",
		strings.NewReader(url.Values{"email": {email}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	page := html.UnescapeString(string(body))
	if res.StatusCode != 200 || res.Request.URL.Path != "/admin/campaigns" {
		t.Fatalf("sign in: got %d at %s, want 200 at /admin/campaigns:\n%s", res.StatusCode, res.Request.URL, page)
	}
	for _, name := range []string{"Newsletter sign-up", "Inscription à la newsletter", "Grand concours de Noël",
		"Summer contest 2026", "Black Friday early access"} {
		if !strings.Contains(page, name) {
			t.Errorf("the campaigns page does not show %q", name)
		}
	}
	res, err = client.Get(base + "/admin/subcategories")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	for _, v := range []string{"weekly-news", "partner-telecom", "surveys", "contest-rules"} {
		if !strings.Contains(string(body), v) {
			t.Errorf("the subcategories page does not show %q", v)
		}
	}

	// The data behind the pages, read beside the running service.
	st, err := store.Open(context.Background(), "sqlite:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]int{"participations": 600, "campaigns": 8, "optins": 13} {
		if n, err := st.CountRows(context.Background(), table); err != nil || n != want {
			t.Errorf("%s: got %d (%v), want %d", table, n, err, want)
		}
	}
	st.Close()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo: got %v, want nil after stopping", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("demo did not stop within 40 s")
	}
	if _, err := os.Stat(filepath.Dir(dbPath)); !os.IsNotExist(err) {
		t.Errorf("the demo directory %s is still there after stopping (%v)", filepath.Dir(dbPath), err)
	}
}

// TestGenerateDemoDeterministic checks that a seed gives the same data
// every time, and that the data is as described.
func TestGenerateDemoDeterministic(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	gen := func(seed uint64) (demoSummary, map[string]int, *store.Store) {
		st := storetest.New(t)
		ctx := context.Background()
		if _, err := st.EnsureDefaultAccount(ctx); err != nil {
			t.Fatal(err)
		}
		sum, err := generateDemo(ctx, st, demoConfig{Participations: 400, Seed: seed, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		sum.AccountID = ""
		counts := map[string]int{}
		for _, table := range []string{"participations", "participants", "ledger_records", "confirmations", "consents",
			"subcategories", "optins", "campaigns"} {
			counts[table] = storetest.Count(t, st, table)
		}
		return sum, counts, st
	}
	sum1, counts1, st := gen(3)
	sum2, counts2, _ := gen(3)
	if sum1 != sum2 || toJSON(counts1) != toJSON(counts2) {
		t.Errorf("the same seed gave different data:\n%+v %v\n%+v %v", sum1, counts1, sum2, counts2)
	}
	if sum3, _, _ := gen(4); sum3 == sum1 {
		t.Errorf("another seed gave the same data: %+v", sum3)
	}
	if sum1.Participations != 400 || sum1.Participants < 100 || sum1.Participants >= 400 || sum1.Confirmed == 0 ||
		sum1.Campaigns != 8 || sum1.Optins != 13 || sum1.Subcategories != 8 {
		t.Errorf("got %+v, want 400 participations by repeat participants, some confirmed", sum1)
	}
	ctx := context.Background()
	acct, err := st.AccountByNameOrID(ctx, assent.DefaultAccountName)
	if err != nil || acct.TimeZone != "Europe/Brussels" {
		t.Errorf("account: got %+v %v, want Europe/Brussels", acct, err)
	}
	if check, err := st.VerifyLedger(ctx, acct.ID); err != nil || !check.OK {
		t.Errorf("ledger: got %+v %v, want it whole", check, err)
	}
	var ended int
	cs, _, err := st.Campaigns(ctx, acct.ID, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.EndsAt != nil && c.EndsAt.Before(now) {
			ended++
		}
	}
	if ended != 3 {
		t.Errorf("got %d finished campaigns, want 3", ended)
	}
}

// TestImportCommand imports an NDJSON file with the CLI: a file with a bad
// line imports nothing and names the line and the field; the fixed file
// imports every line; standard input works too.
func TestImportCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	st := storetest.Open(t, dsn)
	acct, err := st.CreateAccount(ctx, "shop", "Europe/Brussels")
	if err != nil {
		t.Fatal(err)
	}
	o, err := st.CreateOptin(ctx, acct.ID, assent.Optin{Name: "News", Language: "en", Text: "Send me news",
		Display: assent.DisplayCheckbox, Subcategories: []string{assent.CategoryNewsletterMarketing}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.CreateCampaign(ctx, acct.ID, assent.Campaign{Name: "Spring", Language: "en", Optins: []string{o.ID}})
	if err != nil {
		t.Fatal(err)
	}
	line := func(email, extra string) string {
		return fmt.Sprintf(`{"campaign_id":%q,"created_at":"2026-03-01T10:00:00Z","email":%q,"answers":{%q:true}%s}`,
			c.ID, email, o.ID, extra)
	}
	dir := t.TempDir()
	write := func(name string, lines ...string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	importFile := func(stdin string, args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, append([]string{"import", "-db", dsn, "-account", "shop"}, args...), envOf(nil),
			strings.NewReader(stdin), &out, &errOut)
		return out.String(), errOut.String(), err
	}

	bad := write("bad.ndjson", line("ann@example.com", ""), line("bob", ""), "", line("cy@example.com", `,"colour":"red"`),
		`{"campaign_id":"cmp_nope","created_at":"yesterday"}`)
	_, stderr, err := importFile("", "-file", bad)
	if err == nil || !strings.Contains(err.Error(), "3 of 5 lines refused; nothing imported") {
		t.Fatalf("bad file: got error %v", err)
	}
	for _, want := range []string{"line 2: email: must be a valid email address\n",
		`line 4: not a participation object: unknown field "colour"`,
		"line 5: created_at: must be an RFC 3339 time"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("bad file: stderr %q lacks %q", stderr, want)
		}
	}
	if n := storetest.Count(t, st, "participations"); n != 0 {
		t.Fatalf("bad file: %d participations stored, want 0", n)
	}

	good := write("good.ndjson", line("ann@example.com", ""), line("bob@example.com", ""), line("ANN@example.com", ""))
	out, _, err := importFile("", "-file", good, "-batch", "2", "-cache", "8")
	if err != nil || !regexp.MustCompile(`^imported 3 participations into shop in `).MatchString(out) {
		t.Fatalf("good file: got %q, %v", out, err)
	}
	out, _, err = importFile(line("dee@example.com", "")+"\n", "-file", "-")
	if err != nil || !strings.HasPrefix(out, "imported 1 participations") {
		t.Fatalf("standard input: got %q, %v", out, err)
	}
	for table, want := range map[string]int{"participations": 4, "participants": 3} {
		if n := storetest.Count(t, st, table); n != want {
			t.Errorf("%s: got %d, want %d", table, n, want)
		}
	}
	if _, _, err := importFile(""); err == nil || !strings.Contains(err.Error(), "import needs -file") {
		t.Errorf("no file: got %v", err)
	}

	// A double opt-in accepted three days ago and never confirmed: expired
	// by the import with -confirmation-ttl 48h, still waiting with the
	// default 7 days.
	daily, err := st.CreateOptin(ctx, acct.ID, assent.Optin{Name: "Daily", Language: "en", Text: "Daily deals",
		Display: assent.DisplayCheckbox, DoubleOptin: true, Subcategories: []string{assent.CategoryNewsletterMarketing}})
	if err != nil {
		t.Fatal(err)
	}
	dc, err := st.CreateCampaign(ctx, acct.ID, assent.Campaign{Name: "Deals", Language: "en", Optins: []string{daily.ID}})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-72 * time.Hour).Format(time.RFC3339)
	for _, tc := range []struct {
		email string
		args  []string
		want  assent.ConsentState
	}{
		{"eve@example.com", []string{"-confirmation-ttl", "48h"}, assent.StateExpired},
		{"fay@example.com", nil, assent.StatePending},
	} {
		l := fmt.Sprintf(`{"campaign_id":%q,"created_at":%q,"email":%q,"answers":{%q:true}}`, dc.ID, at, tc.email, daily.ID)
		if _, _, err := importFile(l+"\n", append([]string{"-file", "-"}, tc.args...)...); err != nil {
			t.Fatalf("%s: %v", tc.email, err)
		}
		p, err := st.ParticipantByEmail(ctx, acct.ID, tc.email)
		if err != nil {
			t.Fatal(err)
		}
		var got assent.ConsentState
		for _, c := range p.Consents {
			if c.OptinID == daily.ID {
				got = c.State
			}
		}
		if got != tc.want {
			t.Errorf("%s %v: got %q, want %q", tc.email, tc.args, got, tc.want)
		}
	}
}
