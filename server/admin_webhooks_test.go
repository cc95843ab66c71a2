package server_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/webhook"
)

// hookCall is a call a test receiver got.
type hookCall struct {
	id, timestamp, signature, token string
	body                            []byte
}

// hookReceiver is a real HTTP endpoint that records its calls and answers
// with status (200 unless set).
type hookReceiver struct {
	url    string
	mu     sync.Mutex
	calls  []hookCall
	status int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	rc := &hookReceiver{status: http.StatusOK}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.calls = append(rc.calls, hookCall{id: r.Header.Get("Webhook-Id"), timestamp: r.Header.Get("Webhook-Timestamp"),
			signature: r.Header.Get("Webhook-Signature"), token: r.Header.Get("X-Token"), body: body})
		w.WriteHeader(rc.status)
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL + "/hook"
	return rc
}

func (rc *hookReceiver) answer(status int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.status = status
}

func (rc *hookReceiver) got() []hookCall {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hookCall(nil), rc.calls...)
}

// signedWith reports whether a call carries a signature made with secret.
func (c hookCall) signedWith(secret string) bool {
	ts, _ := strconv.ParseInt(c.timestamp, 10, 64)
	want, err := webhook.Sign([]string{secret}, c.id, ts, c.body)
	return err == nil && strings.Contains(" "+c.signature+" ", " "+want+" ")
}

// secretOn returns the whsec_ secret a page shows, or "".
func secretOn(p page) string {
	m := regexp.MustCompile(`value="(whsec_[^"]+)"`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// TestAdminWebhooks follows an admin through the webhook pages with a
// real receiver: a refused form keeps what was typed, the secret shows
// once, a test event arrives signed with it and shows in the log, a
// failure shows with its retry, a replay resends the same event, and the
// endpoint is edited, disabled, rotated and deleted.
func TestAdminWebhooks(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	token := e.signedIn(assent.RoleAdmin)
	rc := newHookReceiver(t)
	d := webhook.New(e.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	deliver := func(want int) {
		t.Helper()
		if n, err := d.DeliverDue(context.Background()); err != nil || n != want {
			t.Fatalf("deliver: got %d attempts (%v), want %d", n, err, want)
		}
	}

	p := e.adminMust(200, token, "GET", "/admin/settings/users", nil)
	if !strings.Contains(p.body, `href="/admin/settings/webhooks"`) {
		t.Error("the settings tabs do not link the webhooks")
	}
	if p := e.adminMust(200, token, "GET", "/admin/settings/webhooks", nil); !strings.Contains(p.body, "No webhook endpoint") {
		t.Errorf("empty list:\n%s", p.body)
	}
	e.adminMust(200, token, "GET", "/admin/settings/webhooks/new", nil)

	// A refused form: problems next to the fields, values kept.
	p = e.adminMust(422, token, "POST", "/admin/settings/webhooks", url.Values{"url": {"http://example.com/hook"},
		"header.name": {"X-Token"}, "categories": {"legal"}})
	for id, want := range map[string]string{"url": "Must use https", "events": "Must list at least one",
		"header-value": "Is required"} {
		if got := p.fieldError(id); !strings.HasPrefix(got, want) {
			t.Errorf("refused form, %s: got problem %q, want %q…", id, got, want)
		}
	}
	for _, kept := range []string{`value="http://example.com/hook"`, `value="X-Token"`, `value="legal" checked`} {
		if !strings.Contains(p.body, kept) {
			t.Errorf("refused form: want %s kept", kept)
		}
	}
	if ids := e.get("/api/v1/webhooks").ids(); len(ids) != 0 {
		t.Fatalf("a refused form registered %v", ids)
	}

	// Registered: the secret shows in this answer only.
	p = e.adminMust(201, token, "POST", "/admin/settings/webhooks", url.Values{"url": {rc.url},
		"events": {"participation.created", "consent.withdrawn"}, "categories": {"legal"}, "header.name": {"X-Token"},
		"header.value": {"abc"}, "enabled": {"on"}})
	secret := secretOn(p)
	if !strings.HasPrefix(secret, "whsec_") || !strings.Contains(p.body, "shown only this once") {
		t.Fatalf("created: got no secret on the page\n%s", p.body)
	}
	list := e.get("/api/v1/webhooks")
	if len(list.ids()) != 1 {
		t.Fatalf("registered: got %s", list.raw)
	}
	id := list.ids()[0]
	hook := e.get("/api/v1/webhooks/" + id)
	if hook.str("url") != rc.url || fmt.Sprint(hook.body["events"]) != "[participation.created consent.withdrawn]" ||
		fmt.Sprint(hook.body["categories"]) != "[legal]" || hook.body["enabled"] != true ||
		fmt.Sprint(hook.body["header"]) != "map[name:X-Token value:abc]" {
		t.Errorf("registered: got %s", hook.raw)
	}
	path := "/admin/settings/webhooks/" + id
	if p := e.adminMust(200, token, "GET", path, nil); strings.Contains(p.body, secret) || !strings.Contains(p.body, "No calls yet") {
		t.Errorf("the endpoint's page shows the secret again, or no health:\n%s", p.body)
	}

	// A test event reaches the receiver, signed, with the custom header.
	p = e.adminMust(303, token, "POST", path+"/test", nil)
	if !strings.HasPrefix(p.flash(), "ok:Test event queued") || p.header.Get("Location") != path {
		t.Errorf("test: got flash %q to %q", p.flash(), p.header.Get("Location"))
	}
	if p := e.adminMust(200, token, "GET", path, nil); !strings.Contains(p.body, "webhook.test") || !strings.Contains(p.body, "Not sent yet") {
		t.Errorf("log: want the queued test event\n%s", p.body)
	}
	deliver(1)
	calls := rc.got()
	if len(calls) != 1 || !calls[0].signedWith(secret) || calls[0].token != "abc" || !strings.Contains(string(calls[0].body), `"type":"webhook.test"`) {
		t.Fatalf("receiver: got %+v, want one signed test call with the header", calls)
	}
	testEvent := calls[0].id
	p = e.adminMust(200, token, "GET", path, nil)
	for _, want := range []string{"Healthy", "Delivered", "HTTP 200", testEvent} {
		if !strings.Contains(p.body, want) {
			t.Errorf("after a delivery: want %q on the page", want)
		}
	}

	// A failure shows, with when it is tried again; a replay resends the
	// same event at once.
	rc.answer(http.StatusInternalServerError)
	e.adminMust(303, token, "POST", path+"/test", nil)
	deliver(1)
	p = e.adminMust(200, token, "GET", path, nil)
	for _, want := range []string{"Failing", "1 failed attempt since the last success", "HTTP 500", "Pending"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("after a failure: want %q on the page\n%s", want, p.body)
		}
	}
	if !regexp.MustCompile(`badge-scheduled">Pending</span></td>\s*<td class="num">1</td>\s*<td>HTTP 500</td>\s*<td class="nowrap"><time`).MatchString(p.body) {
		t.Errorf("the failed delivery shows no next retry:\n%s", p.body)
	}
	if p := e.adminMust(200, token, "GET", "/admin/settings/webhooks", nil); !strings.Contains(p.body, "Failing") || !strings.Contains(p.body, rc.url) {
		t.Errorf("list: want the endpoint failing\n%s", p.body)
	}
	rc.answer(http.StatusOK)
	p = e.adminMust(303, token, "POST", path+"/replay", url.Values{"event": {testEvent}})
	if got := p.flash(); got != "ok:Event "+testEvent+" queued again for this endpoint." {
		t.Errorf("replay: got flash %q", got)
	}
	deliver(1)
	if calls := rc.got(); len(calls) != 3 || calls[2].id != testEvent || string(calls[2].body) != string(calls[0].body) {
		t.Errorf("replay: got calls %+v, want the first event again, unchanged", calls)
	}
	e.adminMust(404, token, "POST", path+"/replay", url.Values{"event": {"evt_nope"}})

	// Edited: a refused change keeps what was typed; a good one is saved.
	p = e.adminMust(200, token, "GET", path+"/edit", nil)
	for _, want := range []string{`value="` + rc.url + `"`, `value="abc"`, `value="consent.withdrawn" checked`, `value="on" checked`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("edit form: want %s", want)
		}
	}
	p = e.adminMust(422, token, "POST", path, url.Values{"url": {"ftp://x.example/h"}, "events": {"consent.expired"},
		"enabled": {"on"}})
	if p.fieldError("url") == "" || !strings.Contains(p.body, `value="ftp://x.example/h"`) || !strings.Contains(p.body, `value="consent.expired" checked`) {
		t.Errorf("refused change: got\n%s", p.body)
	}
	p = e.adminMust(303, token, "POST", path, url.Values{"url": {rc.url}, "events": {"consent.expired"}, "enabled": {"on"}})
	hook = e.get("/api/v1/webhooks/" + id)
	if fmt.Sprint(hook.body["events"]) != "[consent.expired]" || hook.body["header"] != nil || fmt.Sprint(hook.body["categories"]) != "[]" {
		t.Errorf("saved: got %s", hook.raw)
	}

	// Disabled, it gets nothing, and says why; enabled again, it does.
	e.adminMust(303, token, "POST", path+"/disable", nil)
	if e.get("/api/v1/webhooks/" + id).body["enabled"] != false {
		t.Error("disable: the endpoint is still enabled")
	}
	p = e.adminMust(303, token, "POST", path+"/test", nil)
	if got := p.flash(); !strings.HasPrefix(got, "error:The endpoint is disabled") {
		t.Errorf("test while disabled: got flash %q", got)
	}
	if p := e.adminMust(200, token, "GET", path, nil); !strings.Contains(p.body, "This endpoint is disabled") {
		t.Error("the page of a disabled endpoint does not say so")
	}
	e.adminMust(303, token, "POST", path+"/enable", nil)
	if e.get("/api/v1/webhooks/" + id).body["enabled"] != true {
		t.Error("enable: the endpoint is still disabled")
	}

	// Rotated: a new secret, shown once, signs the calls.
	p = e.adminMust(200, token, "POST", path+"/rotate-secret", nil)
	rotated := secretOn(p)
	if !strings.HasPrefix(rotated, "whsec_") || rotated == secret {
		t.Fatalf("rotate: got secret %q, want a new one", rotated)
	}
	e.adminMust(303, token, "POST", path+"/test", nil)
	deliver(2) // and the retry that waited while the endpoint was disabled
	if calls := rc.got(); !calls[len(calls)-1].signedWith(rotated) {
		t.Error("after the rotation: the call is not signed with the new secret")
	}

	// Deleted, with its log.
	p = e.adminMust(303, token, "POST", path+"/delete", nil)
	if p.header.Get("Location") != "/admin/settings/webhooks" {
		t.Errorf("delete: got redirect to %q", p.header.Get("Location"))
	}
	e.must(404, e.admin("GET", "/api/v1/webhooks/"+id, nil))
	e.adminMust(404, token, "GET", path, nil)
}

// TestAdminWebhookLogPages checks that the delivery log shows newest first,
// a page at a time, and that another account's endpoint is not found.
func TestAdminWebhookLogPages(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	token := e.signedIn(assent.RoleAdmin)
	id := e.must(201, e.admin("POST", "/api/v1/webhooks", hookBody(nil))).str("id")
	var events []string
	for range 27 {
		events = append(events, e.must(202, e.admin("POST", "/api/v1/webhooks/"+id+"/test", nil)).str("event_id"))
	}
	path := "/admin/settings/webhooks/" + id
	first := e.adminMust(200, token, "GET", path, nil)
	next := regexp.MustCompile(`href="([^"]+cursor=[^"]+)">Next page`).FindStringSubmatch(first.body)
	if next == nil {
		t.Fatalf("no next page:\n%s", first.body)
	}
	if !strings.Contains(first.body, events[26]) || strings.Contains(first.body, events[1]) ||
		strings.Index(first.body, events[26]) > strings.Index(first.body, events[25]) {
		t.Error("page 1: want the newest events first")
	}
	second := e.adminMust(200, token, "GET", strings.ReplaceAll(next[1], "&amp;", "&"), nil)
	if !strings.Contains(second.body, events[0]) || !strings.Contains(second.body, events[1]) ||
		strings.Contains(second.body, events[2]) || !strings.Contains(second.body, "First page") {
		t.Errorf("page 2: want the two oldest events and a link back\n%s", second.body)
	}
	// A cursor from elsewhere starts over.
	e.adminMust(200, token, "GET", path+"?cursor=nonsense", nil)

	theirs := e.must(201, e.call(e.otherKey, "POST", "/api/v1/webhooks", hookBody(nil))).str("id")
	for _, tc := range []struct{ method, path string }{
		{"GET", "/admin/settings/webhooks/" + theirs}, {"GET", "/admin/settings/webhooks/" + theirs + "/edit"},
		{"POST", "/admin/settings/webhooks/" + theirs + "/test"}, {"POST", "/admin/settings/webhooks/" + theirs + "/delete"},
		{"POST", "/admin/settings/webhooks/" + theirs + "/rotate-secret"}, {"POST", "/admin/settings/webhooks/" + theirs + "/disable"},
	} {
		e.adminMust(404, token, tc.method, tc.path, nil)
	}
	// Nor is their endpoint a target for our events.
	p := e.adminMust(303, token, "POST", path+"/replay", url.Values{"event": {events[0]}})
	if !strings.HasPrefix(p.flash(), "ok:") {
		t.Errorf("replay to our own endpoint: got flash %q", p.flash())
	}
	e.adminMust(404, token, "POST", "/admin/settings/webhooks/"+theirs+"/replay", url.Values{"event": {events[0]}})
	if ids := e.call(e.otherKey, "GET", "/api/v1/webhooks/"+theirs+"/deliveries", nil).data(); len(ids) != 0 {
		t.Errorf("their endpoint got deliveries: %v", ids)
	}
}
