package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

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
func startServe(t *testing.T, dsn string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-listen", "127.0.0.1:0"}, envOf(map[string]string{"ASSENT_DB": dsn}),
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
		{"bad flag", env, []string{"serve", "-nope"}, "", "flag provided but not defined: -nope"},
		{"bad log format", env, []string{"serve", "-log-format", "xml"}, "", `-log-format "xml"`},
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
