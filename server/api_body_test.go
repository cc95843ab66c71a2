package server_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/assentdev/assent"
)

func TestBodyWrongTypes(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	optin := e.optin("en", "legal")
	campaign := e.campaign("en", optin)
	before := e.snapshot("/api/v1/account", "/api/v1/subcategories", "/api/v1/optins", "/api/v1/campaigns",
		"/api/v1/optins/"+optin+"/versions", "/api/v1/apikeys", "/api/v1/users")
	tests := []struct {
		method, path, body string
		field              string
	}{
		{"POST", "/api/v1/subcategories", `{"name": 3, "value": "x", "category": "legal"}`, "name"},
		{"POST", "/api/v1/subcategories", `{"name": "x", "value": ["x"], "category": "legal"}`, "value"},
		{"POST", "/api/v1/subcategories", `{"name": "x", "value": "x", "category": {"key": "legal"}}`, "category"},
		{"PATCH", "/api/v1/subcategories/x", `{"name": false}`, "name"},
		{"POST", "/api/v1/optins", `{"name": "x", "language": "en", "text": "x", "mandatory": "yes", "subcategories": ["legal"]}`, "mandatory"},
		{"POST", "/api/v1/optins", `{"name": "x", "language": "en", "text": "x", "subcategories": "legal"}`, "subcategories"},
		{"POST", "/api/v1/optins", `{"name": "x", "language": "en", "text": "x", "subcategories": [1]}`, "subcategories"},
		{"POST", "/api/v1/optins", `{"name": "x", "language": "en", "text": "x", "double_optin": 1, "subcategories": ["legal"]}`, "double_optin"},
		{"POST", "/api/v1/optins", `{"name": "x", "language": 7, "text": "x", "subcategories": ["legal"]}`, "language"},
		{"PATCH", "/api/v1/optins/" + optin, `{"mandatory": "true"}`, "mandatory"},
		{"PATCH", "/api/v1/optins/" + optin, `{"text": 12}`, "text"},
		{"PATCH", "/api/v1/optins/" + optin, `{"subcategories": {"legal": true}}`, "subcategories"},
		{"POST", "/api/v1/campaigns", `{"name": "x", "language": "en", "optins": "` + optin + `"}`, "optins"},
		{"POST", "/api/v1/campaigns", `{"name": "x", "language": "en", "starts_at": 1767225600}`, "starts_at"},
		{"POST", "/api/v1/campaigns", `{"name": "x", "language": "en", "fields": {"first_name": true}}`, "fields.first_name"},
		{"POST", "/api/v1/campaigns", `{"name": "x", "language": "en", "fields": "required"}`, "fields"},
		{"PATCH", "/api/v1/campaigns/" + campaign, `{"ends_at": false}`, "ends_at"},
		{"PATCH", "/api/v1/campaigns/" + campaign, `{"status": 0}`, "status"},
		{"PATCH", "/api/v1/account", `{"time_zone": 1}`, "time_zone"},
		{"POST", "/api/v1/users", `{"email": "a@example.com", "role": "admin", "password": 1234567890}`, "password"},
		{"POST", "/api/v1/apikeys", `{"name": "x", "role": true}`, "role"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.field, func(t *testing.T) {
			e := e.in(t)
			r := e.must(400, e.admin(tt.method, tt.path, tt.body))
			if got := r.errorCode(); got != "bad_request" {
				t.Errorf("code: got %q, want bad_request", got)
			}
			if r.errorField(tt.field) == "" {
				t.Errorf("fields: got %s, want a problem for %s", r.raw, tt.field)
			}
			if !strings.Contains(r.errorMessage(), tt.field) {
				t.Errorf("message: got %q, want it to name %s", r.errorMessage(), tt.field)
			}
		})
	}
	e.unchanged(before)
}

func TestBodyMalformed(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	optin := e.optin("en", "legal")
	before := e.snapshot("/api/v1/subcategories", "/api/v1/optins", "/api/v1/optins/"+optin+"/versions")
	tests := []struct {
		name, body string
		field      string // a field the answer must name, if any
	}{
		{"empty", "", ""},
		{"blank", " \n\t ", ""},
		{"cut short", `{"name": "x"`, ""},
		{"cut in a string", `{"name": "x`, ""},
		{"unquoted key", `{name: "x"}`, ""},
		{"single quotes", `{'name': 'x'}`, ""},
		{"trailing comma", `{"name": "x",}`, ""},
		{"two objects", `{"name": "x"} {"name": "y"}`, ""},
		{"trailing garbage", `{"name": "x"} garbage`, ""},
		{"array", `[{"name": "x"}]`, ""},
		{"string", `"name"`, ""},
		{"number", `42`, ""},
		{"null", `null`, ""},
	}
	for _, tt := range tests {
		for _, target := range []struct{ method, path string }{
			{"POST", "/api/v1/subcategories"},
			{"PATCH", "/api/v1/optins/" + optin},
		} {
			t.Run(tt.name+" "+target.method, func(t *testing.T) {
				e := e.in(t)
				r := e.must(400, e.send(e.keys[assent.RoleAdmin], target.method, target.path, "application/json", []byte(tt.body)))
				if got := r.errorCode(); got != "bad_request" {
					t.Errorf("code: got %q, want bad_request", got)
				}
				if r.errorMessage() == "" {
					t.Errorf("message: got none in %s", r.raw)
				}
				if tt.field != "" && r.errorField(tt.field) == "" {
					t.Errorf("fields: got %s, want a problem for %s", r.raw, tt.field)
				}
			})
		}
	}
	e.unchanged(before)
}

// TestBodyUnknownFields checks that a field the route does not take is
// refused by name, rather than ignored: in particular, nothing derived or
// secret (id, version, categories, key) can be set by a client.
func TestBodyUnknownFields(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	optin := e.optin("en", "legal")
	campaign := e.campaign("en", optin)
	sub := e.subcategory("news", "legal")
	before := e.snapshot("/api/v1/account", "/api/v1/subcategories", "/api/v1/optins", "/api/v1/campaigns",
		"/api/v1/optins/"+optin+"/versions", "/api/v1/apikeys", "/api/v1/users")
	tests := []struct {
		method, path, body string
		field              string
	}{
		{"POST", "/api/v1/subcategories", `{"name": "x", "value": "x", "category": "legal", "colour": "red"}`, "colour"},
		{"POST", "/api/v1/subcategories", `{"nmae": "x", "value": "x", "category": "legal"}`, "nmae"},
		{"POST", "/api/v1/subcategories", `{"name": "x", "value": "x", "category": "legal", "builtin": true}`, "builtin"},
		{"POST", "/api/v1/subcategories", `{"id": "sub_mine", "name": "x", "value": "x", "category": "legal"}`, "id"},
		{"PATCH", "/api/v1/subcategories/" + sub, `{"builtin": true}`, "builtin"},
		{"POST", "/api/v1/optins", `{"name": "x", "language": "en", "text": "x", "subcategories": ["legal"], "categories": ["legal"]}`, "categories"},
		{"POST", "/api/v1/optins", `{"name": "x", "language": "en", "text": "x", "subcategories": ["legal"], "version": 3}`, "version"},
		{"PATCH", "/api/v1/optins/" + optin, `{"text": "new", "version": 1}`, "version"},
		{"PATCH", "/api/v1/optins/" + optin, `{"answered": false}`, "answered"},
		{"PATCH", "/api/v1/optins/" + optin, `{"txt": "new"}`, "txt"},
		{"POST", "/api/v1/campaigns", `{"name": "x", "language": "en", "form_url": "https://evil.example"}`, "form_url"},
		{"PATCH", "/api/v1/campaigns/" + campaign, `{"id": "cmp_other"}`, "id"},
		{"PATCH", "/api/v1/account", `{"id": "acc_other"}`, "id"},
		{"PATCH", "/api/v1/account", `{"secret": "x"}`, "secret"},
		{"POST", "/api/v1/users", `{"email": "a@example.com", "role": "admin", "password_hash": "x"}`, "password_hash"},
		{"POST", "/api/v1/apikeys", `{"name": "x", "role": "admin", "key": "assent_chosen"}`, "key"},
		{"POST", "/api/v1/apikeys", `{"name": "x", "role": "admin", "account_id": "acc_other"}`, "account_id"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.field, func(t *testing.T) {
			e := e.in(t)
			r := e.must(400, e.admin(tt.method, tt.path, tt.body))
			if got := r.errorCode(); got != "bad_request" {
				t.Errorf("code: got %q, want bad_request", got)
			}
			if r.errorField(tt.field) == "" {
				t.Errorf("fields: got %s, want a problem for %s", r.raw, tt.field)
			}
		})
	}
	// A field unknown inside an object is refused too.
	r := e.must(400, e.admin("PATCH", "/api/v1/campaigns/"+campaign, `{"fields": {"email": "hidden"}}`))
	if !strings.Contains(r.errorMessage(), "email") {
		t.Errorf("nested unknown field: got %s, want the message to name email", r.raw)
	}
	e.unchanged(before)
}

func TestBodyContentType(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	before := e.snapshot("/api/v1/subcategories")
	body := []byte(`{"name": "News", "value": "news", "category": "newsletter_marketing"}`)
	refused := []string{"", "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded",
		"multipart/form-data; boundary=x", "application/jsonx", "json", ";;"}
	for _, ct := range refused {
		t.Run(ct, func(t *testing.T) {
			e := e.in(t)
			r := e.must(415, e.send(e.keys[assent.RoleAdmin], "POST", "/api/v1/subcategories", ct, body))
			if got := r.errorCode(); got != "unsupported_media_type" {
				t.Errorf("code: got %q, want unsupported_media_type", got)
			}
		})
	}
	e.unchanged(before)
	accepted := []string{"application/json", "application/json; charset=utf-8", "Application/JSON", "application/merge-patch+json"}
	for i, ct := range accepted {
		t.Run(ct, func(t *testing.T) {
			e := e.in(t)
			b := bytes.ReplaceAll(body, []byte(`"news"`), []byte{'"', 'n', byte('0' + i), '"'})
			e.must(201, e.send(e.keys[assent.RoleAdmin], "POST", "/api/v1/subcategories", ct, b))
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	optin := e.optin("en", "legal")
	before := e.snapshot("/api/v1/subcategories", "/api/v1/optins", "/api/v1/optins/"+optin+"/versions")
	// jsonOfSize returns a subcategory body of exactly n bytes.
	jsonOfSize := func(n int) []byte {
		head, tail := `{"name": "`, `", "value": "big", "category": "legal"}`
		return []byte(head + strings.Repeat("x", n-len(head)-len(tail)) + tail)
	}
	tests := []struct {
		name   string
		method string
		path   string
		body   []byte
		want   int
	}{
		{"one byte over 1 MiB", "POST", "/api/v1/subcategories", jsonOfSize(1<<20 + 1), 413},
		{"4 MiB", "POST", "/api/v1/subcategories", jsonOfSize(4 << 20), 413},
		{"4 MiB patch", "PATCH", "/api/v1/optins/" + optin, []byte(`{"text": "` + strings.Repeat("y", 4<<20) + `"}`), 413},
		// At the limit, the body is read and judged on its content.
		{"exactly 1 MiB", "POST", "/api/v1/subcategories", jsonOfSize(1 << 20), 422},
		{"1 MiB of spaces after a bad object", "POST", "/api/v1/subcategories", append([]byte(`{"name": ""}`), bytes.Repeat([]byte(" "), 1<<20-12)...), 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.in(t)
			r := e.must(tt.want, e.send(e.keys[assent.RoleAdmin], tt.method, tt.path, "application/json", tt.body))
			if tt.want == 413 && r.errorCode() != "too_large" {
				t.Errorf("code: got %q, want too_large", r.errorCode())
			}
		})
	}
	e.unchanged(before)
}

func TestUnknownAPIPath(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	for _, tt := range []struct{ key, method, path string }{
		{e.keys[assent.RoleAdmin], "GET", "/api/v1/nope"},
		{"", "GET", "/api/v1/nope"},
		{e.keys[assent.RoleAdmin], "GET", "/api/v1/optins/x/y"},
		{e.keys[assent.RoleAdmin], "GET", "/api/v1/"},
		{e.keys[assent.RoleObserver], "DELETE", "/api/v1/things/1"},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			e := e.in(t)
			r := e.call(tt.key, tt.method, tt.path, nil)
			if r.status != 404 || r.errorCode() != "not_found" {
				t.Errorf("got %d %s, want 404 not_found", r.status, r.raw)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type: got %q, want application/json", ct)
			}
		})
	}
}

// TestWrongMethod checks that a known path with another method answers 405
// with an Allow header naming the methods it takes.
func TestWrongMethod(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	for _, tt := range []struct{ method, path, allow string }{
		{"POST", "/api/v1/optins/x/versions", "GET"},
		{"PUT", "/api/v1/optins", "GET, POST"},
		{"DELETE", "/api/v1/campaigns/x", "GET, PATCH"},
		{"PUT", "/api/v1/subcategories/x", "GET, PATCH, DELETE"},
	} {
		r := e.admin(tt.method, tt.path, nil)
		if r.status != 405 || r.errorCode() != "method_not_allowed" || r.header.Get("Allow") != tt.allow {
			t.Errorf("%s %s: got %d %s (Allow %q), want 405 method_not_allowed with Allow %q",
				tt.method, tt.path, r.status, r.raw, r.header.Get("Allow"), tt.allow)
		}
	}
}

// TestErrorShape provokes every error status the API has so far and checks
// the one shape: {"error": {"code", "message", "request_id"}}, the code
// going with the status and the request id with the X-Request-Id header.
func TestErrorShape(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	admin := e.keys[assent.RoleAdmin]
	e.subcategory("news", "legal")
	tests := []struct {
		name                  string
		key, method, path, ct string
		body                  string
		status                int
		code                  string
		fields                bool
	}{
		{"malformed", admin, "POST", "/api/v1/subcategories", "application/json", "{", 400, "bad_request", false},
		{"wrong type", admin, "POST", "/api/v1/subcategories", "application/json", `{"name": 1}`, 400, "bad_request", true},
		{"no key", "", "GET", "/api/v1/optins", "", "", 401, "unauthorized", false},
		{"forbidden", e.keys[assent.RoleObserver], "POST", "/api/v1/subcategories", "application/json", `{}`, 403, "forbidden", false},
		{"not found", admin, "GET", "/api/v1/optins/nope", "", "", 404, "not_found", false},
		{"conflict", admin, "POST", "/api/v1/subcategories", "application/json",
			`{"name": "x", "value": "news", "category": "legal"}`, 409, "conflict", true},
		{"too large", admin, "POST", "/api/v1/subcategories", "application/json", strings.Repeat(" ", 1<<20+1), 413, "too_large", false},
		{"not JSON", admin, "POST", "/api/v1/subcategories", "text/plain", `{}`, 415, "unsupported_media_type", false},
		{"invalid", admin, "POST", "/api/v1/subcategories", "application/json", `{}`, 422, "invalid", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.in(t)
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			r := e.must(tt.status, e.send(tt.key, tt.method, tt.path, tt.ct, body))
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type: got %q, want application/json", ct)
			}
			if len(r.body) != 1 {
				t.Errorf("body: got %s, want only an error member", r.raw)
			}
			detail, _ := r.body["error"].(map[string]any)
			if got := r.errorCode(); got != tt.code {
				t.Errorf("code: got %q, want %s", got, tt.code)
			}
			if r.errorMessage() == "" {
				t.Errorf("message: got none in %s", r.raw)
			}
			id, _ := detail["request_id"].(string)
			if id == "" || id != r.header.Get("X-Request-Id") {
				t.Errorf("request_id: got %q, want the X-Request-Id header %q", id, r.header.Get("X-Request-Id"))
			}
			if _, has := detail["fields"]; has != tt.fields {
				t.Errorf("fields: got %s, want fields present %v", r.raw, tt.fields)
			}
			for k := range detail {
				switch k {
				case "code", "message", "request_id", "fields":
				default:
					t.Errorf("error: got member %q, want only code, message, request_id, fields", k)
				}
			}
		})
	}
}

// Every answer carries a request id, and two requests never share one.
func TestRequestIDs(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	seen := map[string]bool{}
	for range 20 {
		id := e.get("/api/v1/categories").header.Get("X-Request-Id")
		if id == "" || seen[id] {
			t.Fatalf("got request id %q, want a new one each time", id)
		}
		seen[id] = true
	}
}

// TestTextWithNUL: PostgreSQL cannot store the NUL character, SQLite can;
// both engines must refuse it the same way, as an invalid field.
func TestTextWithNUL(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	optin := e.optin("en", "legal")
	campaign := e.campaign("en")
	paths := []string{"/api/v1/account", "/api/v1/subcategories", "/api/v1/optins", "/api/v1/campaigns",
		"/api/v1/apikeys", "/api/v1/users", "/api/v1/optins/" + optin + "/versions"}
	before := e.snapshot(paths...)
	tests := []struct {
		method, path, body string
		field              string
	}{
		{"POST", "/api/v1/subcategories", `{"name": "a\u0000b", "value": "ab", "category": "legal"}`, "name"},
		{"POST", "/api/v1/optins", `{"name": "x\u0000", "language": "en", "text": "x", "subcategories": ["legal"]}`, "name"},
		{"POST", "/api/v1/optins", `{"name": "x", "language": "en", "text": "\u0000", "subcategories": ["legal"]}`, "text"},
		{"PATCH", "/api/v1/optins/" + optin, `{"info": "more\u0000"}`, "info"},
		{"POST", "/api/v1/campaigns", `{"name": "\u0000", "language": "en"}`, "name"},
		{"PATCH", "/api/v1/campaigns/" + campaign, `{"name": "C\u0000"}`, "name"},
		{"PATCH", "/api/v1/account", `{"name": "acme\u0000"}`, "name"},
		{"PATCH", "/api/v1/account", `{"time_zone": "UTC\u0000"}`, "time_zone"},
		{"POST", "/api/v1/users", `{"email": "a@example.com", "name": "A\u0000", "role": "admin", "password": "0123456789"}`, "name"},
		{"POST", "/api/v1/users", `{"email": "a\u0000@example.com", "role": "admin", "password": "0123456789"}`, "email"},
		{"POST", "/api/v1/apikeys", `{"name": "k\u0000", "role": "admin"}`, "name"},
		{"PATCH", "/api/v1/optins/" + optin, `{"subcategories": ["legal\u0000"]}`, "subcategories"},
		{"PATCH", "/api/v1/optins/" + optin, `{"variable": "v\u0000"}`, "variable"},
		{"PATCH", "/api/v1/optins/" + optin, `{"logo_url": "https://example.com/\u0000"}`, "logo_url"},
		{"POST", "/api/v1/campaigns", `{"name": "C", "language": "en", "optins": ["\u0000"]}`, "optins[0]"},
		{"POST", "/api/v1/campaigns", `{"name": "C", "language": "en", "optins": ["` + optin + `\u0000"]}`, "optins[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.field, func(t *testing.T) {
			e := e.in(t)
			r := e.must(422, e.admin(tt.method, tt.path, tt.body))
			if r.errorField(tt.field) == "" {
				t.Errorf("fields: got %s, want a problem for %s", r.raw, tt.field)
			}
		})
	}
	e.unchanged(before)
}

// TestIDsThatNoRowCanHold sends ids and cursors that no id can be (a NUL,
// invalid UTF-8) to every route that takes one: they are not found, or an
// invalid cursor, on both engines, never an internal error.
func TestIDsThatNoRowCanHold(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	for pattern := range routeAllowed {
		if !strings.Contains(pattern, "{id}") {
			continue
		}
		for _, id := range []string{"%00", "opt_%00", "%ff", "%c3%28", "%e2%82"} {
			t.Run(pattern+" "+id, func(t *testing.T) {
				e := e.in(t)
				method, path := routeRequest(pattern, id)
				var body any
				switch {
				case strings.HasSuffix(pattern, "/withdrawals"):
					body = map[string]any{"all": true}
				case method == "PATCH" || method == "POST":
					body = map[string]any{}
				}
				r := e.admin(method, path, body)
				if r.status != 404 || r.errorCode() != "not_found" {
					t.Errorf("got %d %s, want 404 not_found", r.status, r.raw)
				}
			})
		}
	}
	for _, path := range []string{"/api/v1/optins", "/api/v1/campaigns", "/api/v1/users", "/api/v1/apikeys"} {
		for _, cursor := range []string{"AA", "_w", "ww", "YQBi"} { // "\x00", "\xff", "\xc3", "a\x00b"
			t.Run(path+" cursor "+cursor, func(t *testing.T) {
				e := e.in(t)
				r := e.admin("GET", path+"?cursor="+cursor, nil)
				if r.status != 422 || r.errorField("cursor") == "" {
					t.Errorf("got %d %s, want 422 naming cursor", r.status, r.raw)
				}
			})
		}
	}
}
