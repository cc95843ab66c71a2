package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/server"
	"github.com/assentdev/assent/store"
	"github.com/assentdev/assent/store/storetest"
)

// testEnv is a real server on a real database, with an account "acme"
// holding one API key per role, and a second account "other" with an
// admin key, to check that accounts never see each other's data.
type testEnv struct {
	t     *testing.T
	store *store.Store
	url   string
	acme  assent.Account
	other assent.Account
	keys  map[assent.Role]string // keys of acme
	// otherKey is the admin key of the account other.
	otherKey string
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	st := storetest.New(t)
	e := &testEnv{t: t, store: st, keys: map[assent.Role]string{}}
	e.acme = storetest.Account(t, st, "acme")
	e.other = storetest.Account(t, st, "other")
	ctx := context.Background()
	for _, r := range assent.Roles {
		k, err := st.CreateAPIKey(ctx, e.acme.ID, string(r), r)
		if err != nil {
			t.Fatal(err)
		}
		e.keys[r] = k.Key
	}
	k, err := st.CreateAPIKey(ctx, e.other.ID, "other admin", assent.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	e.otherKey = k.Key
	srv := httptest.NewServer(server.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)),
		server.Config{BaseURL: "https://assent.example"}))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// in returns a copy of e that reports to t, for use inside subtests.
func (e *testEnv) in(t *testing.T) *testEnv {
	c := *e
	c.t = t
	return &c
}

// response is an answer of the API, its body decoded when it is JSON.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// errorCode returns error.code of an error answer.
func (r response) errorCode() string {
	e, _ := r.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// errorField returns error.fields[name] of an error answer.
func (r response) errorField(name string) string {
	e, _ := r.body["error"].(map[string]any)
	fields, _ := e["fields"].(map[string]any)
	v, _ := fields[name].(string)
	return v
}

func (r response) str(key string) string {
	v, _ := r.body[key].(string)
	return v
}

// data returns the "data" array of a list answer.
func (r response) data() []any {
	v, _ := r.body["data"].([]any)
	return v
}

// call sends a request with key as bearer token (none when empty) and body
// as JSON: a string or []byte is sent as is, anything else is marshalled.
func (e *testEnv) call(key, method, path string, body any) response {
	e.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
		return e.send(key, method, path, "", nil)
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		raw = buf
	}
	return e.send(key, method, path, "application/json", raw)
}

// send sends body as is, with the given Content-Type (none when empty) and
// key as bearer token (none when empty).
func (e *testEnv) send(key, method, path, contentType string, body []byte) response {
	e.t.Helper()
	header := http.Header{}
	if contentType != "" {
		header.Set("Content-Type", contentType)
	}
	if key != "" {
		header.Set("Authorization", "Bearer "+key)
	}
	return e.do(method, path, header, body)
}

// do sends a request with exactly the given headers and body (none when nil).
func (e *testEnv) do(method, path string, header http.Header, body []byte) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := response{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: answer is not JSON: %v\n%s", method, path, err, raw)
		}
	}
	return r
}

// admin calls the API as acme's admin.
func (e *testEnv) admin(method, path string, body any) response {
	e.t.Helper()
	return e.call(e.keys[assent.RoleAdmin], method, path, body)
}

// must checks the status of r and returns it, failing the test otherwise.
func (e *testEnv) must(want int, r response) response {
	e.t.Helper()
	if r.status != want {
		e.t.Fatalf("got status %d, want %d: %s", r.status, want, r.raw)
	}
	return r
}

// errorMessage returns error.message of an error answer.
func (r response) errorMessage() string {
	e, _ := r.body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

// strs returns the array of strings under key.
func (r response) strs(key string) []string {
	return toStrings(r.body[key])
}

// toStrings converts a decoded JSON array of strings; nil stays nil.
func toStrings(v any) []string {
	a, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, len(a))
	for i, x := range a {
		out[i], _ = x.(string)
	}
	return out
}

// ids returns the "id" of every item of a list answer, in order.
func (r response) ids() []string {
	var out []string
	for _, item := range r.data() {
		m, _ := item.(map[string]any)
		id, _ := m["id"].(string)
		out = append(out, id)
	}
	return out
}

// get reads path as acme's admin and fails the test unless it answers 200.
func (e *testEnv) get(path string) response {
	e.t.Helper()
	return e.must(200, e.admin("GET", path, nil))
}

// snapshot returns what acme's admin reads at each path (its status and
// raw body), so that unchanged can check later that a refused write
// changed nothing.
func (e *testEnv) snapshot(paths ...string) map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, p := range paths {
		r := e.admin("GET", p, nil)
		out[p] = fmt.Sprintf("%d %s", r.status, r.raw)
	}
	return out
}

// unchanged fails the test when a path of before reads differently now.
func (e *testEnv) unchanged(before map[string]string) {
	e.t.Helper()
	after := e.snapshot(slices.Sorted(maps.Keys(before))...)
	for p, was := range before {
		if after[p] != was {
			e.t.Errorf("GET %s changed:\ngot  %s\nwant %s", p, after[p], was)
		}
	}
}

// campaign creates a campaign of acme in language with the given opt-ins
// and returns its id.
func (e *testEnv) campaign(language string, optins ...string) string {
	e.t.Helper()
	if optins == nil {
		optins = []string{}
	}
	r := e.must(201, e.admin("POST", "/api/v1/campaigns", map[string]any{
		"name": "Campaign", "language": language, "optins": optins}))
	return r.str("id")
}

// subcategory creates a custom subcategory of acme and returns its id.
func (e *testEnv) subcategory(value, category string) string {
	e.t.Helper()
	r := e.must(201, e.admin("POST", "/api/v1/subcategories",
		map[string]any{"name": "Sub " + value, "value": value, "category": category}))
	return r.str("id")
}

// optin creates an opt-in of acme with the given language and subcategory
// values, and returns its id.
func (e *testEnv) optin(language string, subcategories ...string) string {
	e.t.Helper()
	r := e.must(201, e.admin("POST", "/api/v1/optins", map[string]any{
		"name": "Opt-in", "language": language, "text": "I agree", "subcategories": subcategories}))
	return r.str("id")
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	r := e.must(200, e.call("", "GET", "/healthz", nil))
	if got := r.str("status"); got != "ok" {
		t.Errorf("status: got %q, want ok", got)
	}
}
