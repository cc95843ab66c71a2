package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
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
