package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/assentdev/assent"
)

// formEnv is a test env with a live campaign showing a checkbox newsletter,
// a mandatory legal checkbox and an optional radio for partners; the
// first name is required.
type formEnv struct {
	*testEnv
	campaign, newsletter, rules, partners string
}

func newFormEnv(t *testing.T) *formEnv {
	t.Helper()
	e := &formEnv{testEnv: newTestEnv(t)}
	mk := func(name, display string, mandatory bool, sub string) string {
		r := e.must(201, e.admin("POST", "/api/v1/optins", map[string]any{"name": name, "language": "en",
			"text": name + " text", "display": display, "mandatory": mandatory, "subcategories": []string{sub}}))
		return r.str("id")
	}
	e.newsletter = mk("Newsletter", "checkbox", false, "newsletter_marketing")
	e.rules = mk("Rules", "checkbox", true, "legal")
	e.partners = mk("Partners", "radio", false, "partners")
	e.campaign = e.must(201, e.admin("POST", "/api/v1/campaigns", map[string]any{"name": "Contest", "language": "en",
		"fields": map[string]string{"first_name": "required"}, "optins": []string{e.newsletter, e.rules, e.partners}})).str("id")
	return e
}

// body returns a valid participation body, changed by the given edits.
func (e *formEnv) body(email string, edit func(map[string]any)) map[string]any {
	b := map[string]any{"email": email, "first_name": "Ada",
		"answers": map[string]any{e.newsletter: true, e.rules: true, e.partners: nil},
		"utm":     map[string]string{"source": "newsletter", "campaign": "xmas"}}
	if edit != nil {
		edit(b)
	}
	return b
}

func (e *formEnv) participate(key string, body any) response {
	e.t.Helper()
	return e.call(key, "POST", "/api/v1/campaigns/"+e.campaign+"/participations", body)
}

func TestParticipationCreate(t *testing.T) {
	t.Parallel()
	e := newFormEnv(t)
	r := e.must(201, e.participate(e.keys[assent.RoleCollector], e.body("Ada@Example.com", nil)))
	if r.str("id") == "" || r.str("participant_id") == "" || r.body["new_participant"] != true {
		t.Errorf("receipt: got %s, want id, participant_id and new_participant true", r.raw)
	}
	optins, _ := r.body["optins"].([]any)
	want := map[string]string{e.newsletter: "given", e.rules: "given", e.partners: ""}
	if len(optins) != 3 {
		t.Fatalf("optins: got %d, want 3", len(optins))
	}
	for _, o := range optins {
		o := o.(map[string]any)
		if got := o["state"]; got != want[o["id"].(string)] {
			t.Errorf("state of %v: got %v, want %q", o["id"], got, want[o["id"].(string)])
		}
	}
	r2 := e.must(201, e.participate(e.keys[assent.RoleEditor], e.body("ada@example.com", nil)))
	if r2.body["new_participant"] != false || r2.str("participant_id") != r.str("participant_id") {
		t.Errorf("second participation: got %s, want the same participant, not new", r2.raw)
	}
}

func TestParticipationRefused(t *testing.T) {
	t.Parallel()
	e := newFormEnv(t)
	answers := func(m map[string]any) func(map[string]any) {
		return func(b map[string]any) { b["answers"] = m }
	}
	tests := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"no email", e.body("", nil), 422, "email"},
		{"bad email", e.body("ada@@example.com", nil), 422, "email"},
		{"required first name missing", e.body("a@example.com", func(b map[string]any) { delete(b, "first_name") }), 422, "first_name"},
		{"mandatory refused", e.body("a@example.com", answers(map[string]any{e.newsletter: true, e.rules: false})), 422, "answers." + e.rules},
		{"mandatory missing", e.body("a@example.com", answers(map[string]any{e.newsletter: true})), 422, "answers." + e.rules},
		{"checkbox unanswered", e.body("a@example.com", answers(map[string]any{e.rules: true})), 422, "answers." + e.newsletter},
		{"opt-in not on the form", e.body("a@example.com", answers(map[string]any{e.newsletter: true, e.rules: true, "opt_x": true})), 422, "answers.opt_x"},
		{"answer of the wrong type", e.body("a@example.com", answers(map[string]any{e.newsletter: "yes", e.rules: true})), 400, ""},
		{"unknown field", e.body("a@example.com", func(b map[string]any) { b["phone"] = "1" }), 400, "phone"},
		{"bad ip", e.body("a@example.com", func(b map[string]any) { b["ip"] = "not-an-ip" }), 422, "ip"},
		{"utm too long", e.body("a@example.com", func(b map[string]any) { b["utm"] = map[string]string{"term": strings.Repeat("x", 201)} }), 422, "utm.term"},
	}
	for _, tt := range tests {
		r := e.participate(e.keys[assent.RoleCollector], tt.body)
		if r.status != tt.status || (tt.field != "" && r.errorField(tt.field) == "") {
			t.Errorf("%s: got %d %s, want %d naming %q", tt.name, r.status, r.raw, tt.status, tt.field)
		}
	}
	// Several problems at once are all named.
	r := e.participate(e.keys[assent.RoleCollector], map[string]any{"email": "nope", "answers": map[string]any{}})
	for _, f := range []string{"email", "first_name", "answers." + e.rules, "answers." + e.newsletter} {
		if r.errorField(f) == "" {
			t.Errorf("all problems at once: %s not named in %s", f, r.raw)
		}
	}
	if got := e.admin("GET", "/api/v1/participants?email=a@example.com", nil); got.status != 404 {
		t.Errorf("after refusals, lookup: got %d, want 404: a refused participation stored a participant", got.status)
	}
}

func TestParticipationCampaignRules(t *testing.T) {
	t.Parallel()
	e := newFormEnv(t)
	e.must(200, e.admin("PATCH", "/api/v1/campaigns/"+e.campaign, map[string]any{
		"starts_at": "2020-01-01T00:00:00Z", "ends_at": "2020-02-01T00:00:00Z"}))
	r := e.participate(e.keys[assent.RoleCollector], e.body("a@example.com", nil))
	if r.status != 422 || !strings.Contains(r.errorField("campaign"), "ended") {
		t.Errorf("ended campaign: got %d %s, want 422 saying it ended", r.status, r.raw)
	}
	if r := e.call(e.otherKey, "POST", "/api/v1/campaigns/"+e.campaign+"/participations", e.body("a@example.com", nil)); r.status != 404 {
		t.Errorf("another account's campaign: got %d, want 404", r.status)
	}
	if r := e.participate(e.keys[assent.RoleObserver], e.body("a@example.com", nil)); r.status != 403 {
		t.Errorf("observer: got %d, want 403", r.status)
	}
}

func TestParticipationIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := newFormEnv(t)
	send := func(key string, body any) response {
		req := e.rawRequest(e.keys[assent.RoleCollector], "POST", "/api/v1/campaigns/"+e.campaign+"/participations", body)
		req.Header.Set("Idempotency-Key", key)
		return e.doRequest(req)
	}
	first := e.must(201, send("retry-1", e.body("ada@example.com", nil)))
	again := e.must(201, send("retry-1", e.body("ada@example.com", nil)))
	if again.str("id") != first.str("id") || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry: got %s (replayed %q), want %s replayed", again.str("id"), again.header.Get("Idempotent-Replayed"), first.str("id"))
	}
	other := send("retry-1", e.body("bob@example.com", nil))
	if other.status != 409 || strings.Contains(string(other.raw), "api:") {
		t.Errorf("same key, other body: got %d %s, want 409", other.status, other.raw)
	}
	// A retry after the campaign closed still answers the first receipt.
	e.must(200, e.admin("PATCH", "/api/v1/campaigns/"+e.campaign, map[string]any{"status": "archived"}))
	late := e.must(201, send("retry-1", e.body("ada@example.com", nil)))
	if late.str("id") != first.str("id") {
		t.Errorf("retry after closing: got %s, want %s", late.str("id"), first.str("id"))
	}
	p := e.must(200, e.admin("GET", "/api/v1/participants/"+first.str("participant_id")+"/proof", nil))
	if n := len(p.body["participations"].([]any)); n != 1 {
		t.Errorf("participations after a retry: got %d, want 1", n)
	}
}

func TestParticipationsConcurrent(t *testing.T) {
	t.Parallel()
	e := newFormEnv(t)
	const n = 100
	var wg sync.WaitGroup
	ids := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req := e.rawRequest(e.keys[assent.RoleCollector], "POST", "/api/v1/campaigns/"+e.campaign+"/participations",
				e.body(fmt.Sprintf("p%d@example.com", i%20), nil))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			defer res.Body.Close()
			if res.StatusCode == 201 {
				ids[i] = "ok"
			}
		}(i)
	}
	wg.Wait()
	for i, id := range ids {
		if id != "ok" {
			t.Fatalf("submission %d was not acknowledged", i)
		}
	}
	total := 0
	for i := 0; i < 20; i++ {
		p := e.must(200, e.admin("GET", fmt.Sprintf("/api/v1/participants?email=p%d@example.com", i), nil))
		pr := e.must(200, e.admin("GET", "/api/v1/participants/"+p.str("id")+"/proof", nil))
		total += len(pr.body["participations"].([]any))
	}
	if total != n {
		t.Errorf("participations stored: got %d, want %d", total, n)
	}
}

func TestParticipantConsentsProofWithdrawalErasure(t *testing.T) {
	t.Parallel()
	e := newFormEnv(t)
	r := e.must(201, e.participate(e.keys[assent.RoleCollector], e.body("ada@example.com", nil)))
	pid := r.str("participant_id")

	p := e.must(200, e.call(e.keys[assent.RoleMarketer], "GET", "/api/v1/participants?email=%20ADA@example.com", nil))
	if p.str("id") != pid || !strings.HasPrefix(p.str("preferences_url"), "https://assent.example/preferences/") {
		t.Errorf("lookup by email: got %s", p.raw)
	}
	if r := e.call(e.keys[assent.RoleEditor], "GET", "/api/v1/participants/"+pid, nil); r.status != 403 {
		t.Errorf("editor reading a participant: got %d, want 403", r.status)
	}
	if r := e.call(e.otherKey, "GET", "/api/v1/participants/"+pid, nil); r.status != 404 {
		t.Errorf("another account reading a participant: got %d, want 404", r.status)
	}

	proof := e.must(200, e.admin("GET", "/api/v1/participants/"+pid+"/proof", nil))
	events, _ := proof.body["events"].([]any)
	if len(events) != 3 {
		t.Fatalf("proof events: got %d, want 3", len(events))
	}
	first := events[0].(map[string]any)
	shown, _ := first["shown"].(map[string]any)
	if shown["text"] != "Newsletter text" || first["campaign_name"] != "Contest" || first["ip_hash"] == "" {
		t.Errorf("proof event: got %v", first)
	}

	w := e.must(200, e.admin("POST", "/api/v1/participants/"+pid+"/withdrawals", map[string]any{"optin_id": e.newsletter}))
	if !strings.Contains(string(w.raw), `"optin_id":"`+e.newsletter+`","optin_name":"Newsletter","state":"withdrawn"`) {
		t.Errorf("after withdrawing the newsletter: %s", w.raw)
	}
	for name, body := range map[string]any{"neither": map[string]any{}, "both": map[string]any{"optin_id": e.rules, "all": true}} {
		if r := e.admin("POST", "/api/v1/participants/"+pid+"/withdrawals", body); r.status != 422 {
			t.Errorf("withdrawal with %s: got %d, want 422", name, r.status)
		}
	}
	w = e.must(200, e.admin("POST", "/api/v1/participants/"+pid+"/withdrawals", map[string]any{"all": true}))
	if strings.Contains(string(w.raw), `"state":"given"`) {
		t.Errorf("after withdrawing all, a consent is still given: %s", w.raw)
	}

	if r := e.call(e.keys[assent.RoleMarketer], "DELETE", "/api/v1/participants/"+pid, nil); r.status != 403 {
		t.Errorf("marketer erasing: got %d, want 403", r.status)
	}
	e.must(204, e.admin("DELETE", "/api/v1/participants/"+pid, nil))
	if r := e.admin("GET", "/api/v1/participants?email=ada@example.com", nil); r.status != 404 {
		t.Errorf("lookup after erasure: got %d, want 404", r.status)
	}
	after := e.must(200, e.admin("GET", "/api/v1/participants/"+pid+"/proof", nil))
	if strings.Contains(string(after.raw), "ada@example.com") || strings.Contains(string(after.raw), "Ada") {
		t.Errorf("personal data left after erasure: %s", after.raw)
	}
	if n := len(after.body["events"].([]any)); n != 5 {
		t.Errorf("events after erasure: got %d, want 5 (3 answers, 2 withdrawals)", n)
	}
	v := e.must(200, e.admin("GET", "/api/v1/ledger/verify", nil))
	if v.body["ok"] != true || v.body["events"] != float64(5) {
		t.Errorf("ledger verify: got %s, want ok with 5 events", v.raw)
	}
}

// rawRequest builds an API request like call does, for tests that need
// to add headers.
func (e *testEnv) rawRequest(key, method, path string, body any) *http.Request {
	e.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	return req
}

// doRequest sends req and decodes the answer as call does.
func (e *testEnv) doRequest(req *http.Request) response {
	e.t.Helper()
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
			e.t.Fatalf("answer is not JSON: %v\n%s", err, raw)
		}
	}
	return r
}
