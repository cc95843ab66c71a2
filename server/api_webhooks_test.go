package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/webhook"
)

// hookBody returns a valid endpoint body, changed by edit.
func hookBody(edit func(map[string]any)) map[string]any {
	b := map[string]any{"url": "https://hooks.example.com/assent", "events": []string{"participation.created"}}
	if edit != nil {
		edit(b)
	}
	return b
}

func TestWebhookCreate(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	r := e.must(201, e.admin("POST", "/api/v1/webhooks", hookBody(func(b map[string]any) {
		b["events"] = []string{"consent.withdrawn", "participation.created"}
		b["categories"] = []string{"partners", "newsletter_marketing"}
		b["header"] = map[string]string{"name": "Authorization", "value": "Bearer abc"}
	})))
	id, secret := r.str("id"), r.str("secret")
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if !strings.HasPrefix(secret, "whsec_") || err != nil || len(key) < 24 {
		t.Errorf("secret: got %q, want whsec_ and base64 of at least 24 bytes", secret)
	}
	want := map[string]any{
		"url":                  "https://hooks.example.com/assent",
		"events":               []any{"participation.created", "consent.withdrawn"},
		"categories":           []any{"newsletter_marketing", "partners"},
		"header":               map[string]any{"name": "Authorization", "value": "Bearer abc"},
		"enabled":              true,
		"last_attempt_at":      nil,
		"last_status_code":     nil,
		"last_success_at":      nil,
		"consecutive_failures": 0.0,
		"pending_deliveries":   0.0,
		"failed_deliveries":    0.0,
	}
	for k, v := range want {
		if !reflect.DeepEqual(r.body[k], v) {
			t.Errorf("%s: got %#v, want %#v", k, r.body[k], v)
		}
	}
	// The secret is shown once.
	got := e.get("/api/v1/webhooks/" + id)
	if _, ok := got.body["secret"]; ok {
		t.Errorf("GET shows the secret: %s", got.raw)
	}
	list := e.get("/api/v1/webhooks")
	if ids := list.ids(); len(ids) != 1 || ids[0] != id || strings.Contains(string(list.raw), secret) {
		t.Errorf("list: got %s, want the endpoint without its secret", list.raw)
	}
	for k, v := range want {
		if !reflect.DeepEqual(got.body[k], v) {
			t.Errorf("GET %s: got %#v, want %#v", k, got.body[k], v)
		}
	}
	// Plain http is for loopback addresses only; an endpoint may start disabled.
	for _, u := range []string{"http://127.0.0.1:9000/hook", "http://localhost/hook", "http://[::1]:8080/hook"} {
		r := e.must(201, e.admin("POST", "/api/v1/webhooks", hookBody(func(b map[string]any) {
			b["url"], b["enabled"] = u, false
		})))
		if r.body["enabled"] != false || r.body["header"] != nil || !reflect.DeepEqual(r.body["categories"], []any{}) {
			t.Errorf("%s: got %s", u, r.raw)
		}
	}
}

func TestWebhookCreateInvalid(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	tests := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"no url", hookBody(func(b map[string]any) { delete(b, "url") }), 422, "url"},
		{"http to a public host", hookBody(func(b map[string]any) { b["url"] = "http://example.com/hook" }), 422, "url"},
		{"http to a private address", hookBody(func(b map[string]any) { b["url"] = "http://10.0.0.1/hook" }), 422, "url"},
		{"http to a look-alike", hookBody(func(b map[string]any) { b["url"] = "http://localhost.evil.example/h" }), 422, "url"},
		{"ftp", hookBody(func(b map[string]any) { b["url"] = "ftp://example.com/hook" }), 422, "url"},
		{"no host", hookBody(func(b map[string]any) { b["url"] = "https:///hook" }), 422, "url"},
		{"relative", hookBody(func(b map[string]any) { b["url"] = "hooks.example.com/assent" }), 422, "url"},
		{"fragment", hookBody(func(b map[string]any) { b["url"] = "https://example.com/h#x" }), 422, "url"},
		{"NUL", hookBody(func(b map[string]any) { b["url"] = "https://example.com/\u0000" }), 422, "url"},
		{"no events", hookBody(func(b map[string]any) { delete(b, "events") }), 422, "events"},
		{"empty events", hookBody(func(b map[string]any) { b["events"] = []string{} }), 422, "events"},
		{"unknown event", hookBody(func(b map[string]any) { b["events"] = []string{"participation.updated"} }), 422, "events"},
		{"test event", hookBody(func(b map[string]any) { b["events"] = []string{"webhook.test"} }), 422, "events"},
		{"event twice", hookBody(func(b map[string]any) {
			b["events"] = []string{"consent.expired", "consent.expired"}
		}), 422, "events"},
		{"unknown category", hookBody(func(b map[string]any) { b["categories"] = []string{"marketing"} }), 422, "categories"},
		{"category twice", hookBody(func(b map[string]any) { b["categories"] = []string{"legal", "legal"} }), 422, "categories"},
		{"header without name", hookBody(func(b map[string]any) {
			b["header"] = map[string]string{"name": "", "value": "x"}
		}), 422, "header.name"},
		{"header name with a space", hookBody(func(b map[string]any) {
			b["header"] = map[string]string{"name": "X Token", "value": "x"}
		}), 422, "header.name"},
		{"reserved header", hookBody(func(b map[string]any) {
			b["header"] = map[string]string{"name": "Webhook-Signature", "value": "x"}
		}), 422, "header.name"},
		{"header without value", hookBody(func(b map[string]any) {
			b["header"] = map[string]string{"name": "X-Token", "value": ""}
		}), 422, "header.value"},
		{"header value with a line break", hookBody(func(b map[string]any) {
			b["header"] = map[string]string{"name": "X-Token", "value": "a\r\nX-Evil: 1"}
		}), 422, "header.value"},
		{"header as a string", hookBody(func(b map[string]any) { b["header"] = "Authorization: x" }), 400, "header"},
		{"header with another field", hookBody(func(b map[string]any) {
			b["header"] = map[string]string{"name": "X-Token", "value": "x", "secret": "y"}
		}), 400, "header"},
		{"events as a string", hookBody(func(b map[string]any) { b["events"] = "participation.created" }), 400, "events"},
		{"secret chosen", hookBody(func(b map[string]any) { b["secret"] = "whsec_mine" }), 400, "secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.in(t)
			r := e.must(tt.status, e.admin("POST", "/api/v1/webhooks", tt.body))
			if r.errorField(tt.field) == "" {
				t.Errorf("fields: got %s, want a problem for %s", r.raw, tt.field)
			}
		})
	}
	if ids := e.get("/api/v1/webhooks").ids(); len(ids) != 0 {
		t.Errorf("refused bodies created %d endpoints", len(ids))
	}
}

func TestWebhookUpdateDelete(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	id := e.must(201, e.admin("POST", "/api/v1/webhooks", hookBody(func(b map[string]any) {
		b["categories"] = []string{"legal"}
		b["header"] = map[string]string{"name": "X-Token", "value": "abc"}
	}))).str("id")
	path := "/api/v1/webhooks/" + id
	r := e.must(200, e.admin("PATCH", path, map[string]any{}))
	if r.body["header"] == nil || !reflect.DeepEqual(r.body["categories"], []any{"legal"}) {
		t.Errorf("empty PATCH changed the endpoint: %s", r.raw)
	}
	r = e.must(200, e.admin("PATCH", path, map[string]any{"url": "https://new.example/h", "header": nil,
		"categories": []string{}, "enabled": false, "events": []string{"consent.expired", "consent.confirmed"}}))
	want := map[string]any{"url": "https://new.example/h", "header": nil, "categories": []any{}, "enabled": false,
		"events": []any{"consent.confirmed", "consent.expired"}}
	for k, v := range want {
		if !reflect.DeepEqual(r.body[k], v) {
			t.Errorf("PATCH %s: got %#v, want %#v", k, r.body[k], v)
		}
	}
	if _, ok := r.body["secret"]; ok {
		t.Errorf("PATCH shows the secret: %s", r.raw)
	}
	before := e.snapshot(path)
	for _, tt := range []struct {
		body   any
		status int
		field  string
	}{
		{map[string]any{"events": []string{}}, 422, "events"},
		{map[string]any{"url": "http://example.com"}, 422, "url"},
		{map[string]any{"header": map[string]string{"name": "Content-Type", "value": "text/plain"}}, 422, "header.name"},
		{map[string]any{"enabled": "yes"}, 400, "enabled"},
		{map[string]any{"id": "whk_mine"}, 400, "id"},
	} {
		r := e.must(tt.status, e.admin("PATCH", path, tt.body))
		if r.errorField(tt.field) == "" {
			t.Errorf("PATCH %v: got %s, want a problem for %s", tt.body, r.raw, tt.field)
		}
	}
	e.unchanged(before)
	rotated := e.must(200, e.admin("POST", path+"/rotate-secret", nil))
	if s := rotated.str("secret"); !strings.HasPrefix(s, "whsec_") || rotated.str("id") != id {
		t.Errorf("rotate: got %s, want the endpoint with a new secret", rotated.raw)
	}
	e.must(204, e.admin("DELETE", path, nil))
	e.must(404, e.admin("GET", path, nil))
	e.must(404, e.admin("DELETE", path, nil))
}

func TestWebhookLimit(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	for i := 0; i < assent.MaxWebhookEndpoints; i++ {
		e.must(201, e.admin("POST", "/api/v1/webhooks", hookBody(nil)))
	}
	if r := e.admin("POST", "/api/v1/webhooks", hookBody(nil)); r.status != 409 || r.errorCode() != "conflict" {
		t.Errorf("endpoint %d: got %d %s, want 409 conflict", assent.MaxWebhookEndpoints+1, r.status, r.raw)
	}
	// Pages of the list.
	first := e.get("/api/v1/webhooks?limit=30")
	next, _ := first.body["next_cursor"].(string)
	second := e.get("/api/v1/webhooks?limit=30&cursor=" + next)
	if len(first.ids()) != 30 || len(second.ids()) != 20 || second.body["next_cursor"] != nil || first.ids()[29] >= second.ids()[0] {
		t.Errorf("pages: got %d then %d (next %v), want 30 then 20 in order", len(first.ids()), len(second.ids()),
			second.body["next_cursor"])
	}
}

func TestWebhookOfAnotherAccount(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	id := e.must(201, e.admin("POST", "/api/v1/webhooks", hookBody(nil))).str("id")
	event := e.must(202, e.admin("POST", "/api/v1/webhooks/"+id+"/test", nil)).str("event_id")
	otherHook := e.must(201, e.call(e.otherKey, "POST", "/api/v1/webhooks", hookBody(nil))).str("id")
	before := e.snapshot("/api/v1/webhooks", "/api/v1/webhooks/"+id, "/api/v1/webhooks/"+id+"/deliveries")
	for _, tt := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/webhooks/" + id, nil},
		{"PATCH", "/api/v1/webhooks/" + id, map[string]any{"url": "https://evil.example/h"}},
		{"DELETE", "/api/v1/webhooks/" + id, nil},
		{"POST", "/api/v1/webhooks/" + id + "/rotate-secret", nil},
		{"GET", "/api/v1/webhooks/" + id + "/deliveries", nil},
		{"POST", "/api/v1/webhooks/" + id + "/test", nil},
		{"POST", "/api/v1/events/" + event + "/replay", nil},
		{"POST", "/api/v1/events/" + event + "/replay", map[string]any{"endpoint_id": otherHook}},
	} {
		if r := e.call(e.otherKey, tt.method, tt.path, tt.body); r.status != 404 || r.errorCode() != "not_found" {
			t.Errorf("%s %s as another account: got %d %s, want 404", tt.method, tt.path, r.status, r.raw)
		}
	}
	if ids := e.call(e.otherKey, "GET", "/api/v1/webhooks", nil).ids(); len(ids) != 1 || ids[0] != otherHook {
		t.Errorf("other's list: got %v, want only its own endpoint", ids)
	}
	// Nor can acme send its event to the other account's endpoint.
	r := e.admin("POST", "/api/v1/events/"+event+"/replay", map[string]any{"endpoint_id": otherHook})
	if r.status != 422 || r.errorField("endpoint_id") == "" {
		t.Errorf("replay to another account's endpoint: got %d %s, want 422 naming endpoint_id", r.status, r.raw)
	}
	e.unchanged(before)
}

// TestWebhookDeliveryLog follows an endpoint through the API while a
// dispatcher delivers: a failed call, a replay that succeeds, a test
// event, and the log of every attempt, page by page.
func TestWebhookDeliveryLog(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	var mu sync.Mutex
	var got []string // type of each call
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		calls++
		var ev struct{ Type string }
		json.Unmarshal(body, &ev)
		got = append(got, r.Header.Get("Webhook-Id")+" "+ev.Type)
		if calls == 1 {
			http.Error(w, "not now", http.StatusBadGateway)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(srv.Close)
	hook := e.must(201, e.admin("POST", "/api/v1/webhooks", hookBody(func(b map[string]any) { b["url"] = srv.URL }))).str("id")
	optin := e.optin("en", "legal")
	campaign := e.campaign("en", optin)
	e.must(201, e.call(e.keys[assent.RoleCollector], "POST", "/api/v1/campaigns/"+campaign+"/participations",
		map[string]any{"email": "ada@example.com", "answers": map[string]any{optin: true}}))
	d := webhook.New(e.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	deliver := func(want int) {
		t.Helper()
		if n, err := d.DeliverDue(context.Background()); err != nil || n != want {
			t.Fatalf("deliver: got %d attempts (%v), want %d", n, err, want)
		}
	}
	deliver(1)
	status := e.get("/api/v1/webhooks/" + hook)
	if status.body["consecutive_failures"] != 1.0 || status.body["last_status_code"] != 502.0 ||
		status.body["pending_deliveries"] != 1.0 || status.body["last_attempt_at"] == nil || status.body["enabled"] != true {
		t.Errorf("after a failure: got %s", status.raw)
	}
	log := e.get("/api/v1/webhooks/" + hook + "/deliveries")
	first, _ := log.data()[0].(map[string]any)
	for k, v := range map[string]any{"attempt": 1.0, "status_code": 502.0, "success": false, "event_type": "participation.created",
		"response_body": "not now\n", "delivery_state": "pending", "error": ""} {
		if !reflect.DeepEqual(first[k], v) {
			t.Errorf("log, %s: got %#v, want %#v", k, first[k], v)
		}
	}
	if ms, _ := first["duration_ms"].(float64); ms <= 0 || first["created_at"] == nil {
		t.Errorf("log: got duration %v and time %v, want both", first["duration_ms"], first["created_at"])
	}
	event := first["event_id"].(string)

	// Replayed now rather than in 5 s: the retry stays scheduled too.
	for _, bad := range []struct {
		body   any
		status int
		field  string
	}{
		{map[string]any{"endpoint_id": "whk_nope"}, 422, "endpoint_id"},
		{map[string]any{"endpont_id": hook}, 400, "endpont_id"},
	} {
		if r := e.admin("POST", "/api/v1/events/"+event+"/replay", bad.body); r.status != bad.status || r.errorField(bad.field) == "" {
			t.Errorf("replay %v: got %d %s, want %d naming %s", bad.body, r.status, r.raw, bad.status, bad.field)
		}
	}
	e.must(404, e.admin("POST", "/api/v1/events/evt_nope/replay", nil))
	replay := e.must(202, e.admin("POST", "/api/v1/events/"+event+"/replay", nil))
	if ds, _ := replay.body["deliveries"].([]any); len(ds) != 1 || replay.str("event_id") != event {
		t.Errorf("replay: got %s, want one delivery of the event", replay.raw)
	}
	deliver(1)
	test := e.must(202, e.admin("POST", "/api/v1/webhooks/"+hook+"/test", nil))
	if test.str("endpoint_id") != hook || test.str("event_id") == "" || test.str("id") == "" {
		t.Errorf("test: got %s", test.raw)
	}
	deliver(1)
	mu.Lock()
	wantCalls := []string{event + " participation.created", event + " participation.created", test.str("event_id") + " webhook.test"}
	if !reflect.DeepEqual(got, wantCalls) {
		t.Errorf("calls: got %q, want %q", got, wantCalls)
	}
	mu.Unlock()

	status = e.get("/api/v1/webhooks/" + hook)
	if status.body["consecutive_failures"] != 0.0 || status.body["last_status_code"] != 200.0 ||
		status.body["last_success_at"] == nil || status.body["pending_deliveries"] != 1.0 {
		t.Errorf("after the successes: got %s, want 0 failures and the retry still pending", status.raw)
	}
	// Newest first, page by page.
	page1 := e.get("/api/v1/webhooks/" + hook + "/deliveries?limit=2")
	cursor, _ := page1.body["next_cursor"].(string)
	page2 := e.get("/api/v1/webhooks/" + hook + "/deliveries?limit=2&cursor=" + cursor)
	var types []string
	for _, p := range []response{page1, page2} {
		for _, item := range p.data() {
			types = append(types, item.(map[string]any)["event_type"].(string))
		}
	}
	if want := []string{"webhook.test", "participation.created", "participation.created"}; !reflect.DeepEqual(types, want) ||
		page2.body["next_cursor"] != nil {
		t.Errorf("pages: got %v (next %v), want %v then no more", types, page2.body["next_cursor"], want)
	}
	if r := e.admin("GET", "/api/v1/webhooks/"+hook+"/deliveries?cursor=AA", nil); r.status != 422 || r.errorField("cursor") == "" {
		t.Errorf("bad cursor: got %d %s, want 422", r.status, r.raw)
	}
}
