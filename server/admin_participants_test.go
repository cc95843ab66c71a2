package server_test

import (
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/assentdev/assent"
)

// consentStates returns a participant's current states by opt-in id, as
// the API tells them.
func (e *formEnv) consentStates(id string) map[string]string {
	e.t.Helper()
	r := e.must(200, e.admin("GET", "/api/v1/participants/"+id, nil))
	out := map[string]string{}
	consents, _ := r.body["consents"].([]any)
	for _, c := range consents {
		c := c.(map[string]any)
		out[c["optin_id"].(string)], _ = c["state"].(string)
	}
	return out
}

func TestAdminParticipants(t *testing.T) {
	t.Parallel()
	e := newFormEnv(t)
	e.must(200, e.admin("PATCH", "/api/v1/optins/"+e.newsletter, map[string]any{
		"text": "Send me the [news](https://example.com/news) <b>weekly</b>."}))
	pid := e.must(201, e.participate(e.keys[assent.RoleCollector], e.body("ada@example.com", nil))).str("participant_id")
	marketer, admin := e.signedIn(assent.RoleMarketer), e.signedIn(assent.RoleAdmin)
	path := "/admin/participants/" + pid

	// The nav leads to the search, which leads to the participant.
	if p := e.adminMust(200, marketer, "GET", "/admin/campaigns", nil); !strings.Contains(p.body, `href="/admin/participants"`) {
		t.Error("the nav does not link to the participants")
	}
	e.adminMust(200, marketer, "GET", "/admin/participants", nil)
	p := e.adminMust(303, marketer, "GET", "/admin/participants?email=ADA@example.com", nil)
	if got := p.header.Get("Location"); got != path {
		t.Errorf("search: got redirect to %q, want %q", got, path)
	}
	p = e.adminMust(200, marketer, "GET", "/admin/participants?email=nobody@example.com", nil)
	if !strings.Contains(p.body, "No participant found") || !strings.Contains(p.body, "nobody@example.com") {
		t.Errorf("search for an unknown address: want it said\n%s", p.body)
	}

	// The page: who, the consents, the history and the exact text shown.
	p = e.adminMust(200, marketer, "GET", path, nil)
	for _, want := range []string{"ada@example.com", "Ada", `data-state="given"`, `data-event="given"`, `data-event="unanswered"`,
		"Rules text", `<a href="https://example.com/news" target="_blank" rel="noopener noreferrer">news`, "&lt;b&gt;weekly&lt;/b&gt;",
		"Participation in Contest", "Download proof (JSON)", `name="optin_id" value="` + e.newsletter + `"`, `name="all"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("participant page: %s is missing", want)
		}
	}
	if strings.Contains(p.body, path+"/erase") {
		t.Error("participant page: a marketer is offered the erasure")
	}
	if p := e.adminMust(200, admin, "GET", path, nil); !strings.Contains(p.body, `href="`+path+`/erase"`) {
		t.Error("participant page: an admin is not offered the erasure")
	}

	// The proof as JSON is the API's.
	p = e.adminMust(200, marketer, "GET", path+"/proof.json", nil)
	api := e.must(200, e.admin("GET", "/api/v1/participants/"+pid+"/proof", nil))
	if !strings.HasPrefix(p.header.Get("Content-Type"), "application/json") || strings.TrimSpace(p.body) != strings.TrimSpace(string(api.raw)) {
		t.Errorf("proof.json: got %s\n%s\nwant the API's\n%s", p.header.Get("Content-Type"), p.body, api.raw)
	}

	// Withdraw one, then all.
	p = e.adminMust(303, marketer, "POST", path+"/withdraw", map[string][]string{"optin_id": {e.newsletter}})
	if !strings.Contains(p.flash(), "withdrawn") {
		t.Errorf("withdraw: got flash %q", p.flash())
	}
	if st := e.consentStates(pid); st[e.newsletter] != "withdrawn" || st[e.rules] != "given" {
		t.Errorf("after withdrawing one: got %v", st)
	}
	if p := e.adminMust(200, marketer, "GET", path, nil); !strings.Contains(p.body, `data-event="withdrawn"`) ||
		!strings.Contains(p.body, "Admin pages") {
		t.Error("the withdrawal is not in the history, from the admin pages")
	}
	e.adminMust(303, marketer, "POST", path+"/withdraw", map[string][]string{"all": {"1"}})
	if st := e.consentStates(pid); st[e.newsletter] != "withdrawn" || st[e.rules] != "withdrawn" {
		t.Errorf("after withdrawing all: got %v", st)
	}
	if p := e.adminMust(303, marketer, "POST", path+"/withdraw", nil); !strings.Contains(p.flash(), "Choose") {
		t.Errorf("withdraw nothing: got flash %q", p.flash())
	}

	// Other roles may not see participants.
	for _, role := range []assent.Role{assent.RoleEditor, assent.RoleObserver} {
		tok := e.signedIn(role)
		for _, u := range []string{"/admin/participants", path, path + "/proof.json"} {
			e.adminMust(403, tok, "GET", u, nil)
		}
		e.adminMust(403, tok, "POST", path+"/withdraw", map[string][]string{"all": {"1"}})
	}

	// Erasure: admin only, confirmed.
	e.adminMust(403, marketer, "GET", path+"/erase", nil)
	e.adminMust(403, marketer, "POST", path+"/erase", map[string][]string{"confirm": {"yes"}})
	p = e.adminMust(200, admin, "GET", path+"/erase", nil)
	if !strings.Contains(p.body, `type="checkbox" id="confirm" name="confirm" value="yes"`) {
		t.Errorf("erase: no confirmation box\n%s", p.body)
	}
	p = e.adminMust(422, admin, "POST", path+"/erase", nil)
	if p.fieldError("confirm") == "" {
		t.Error("erase unconfirmed: no problem next to the box")
	}
	e.adminMust(303, admin, "GET", "/admin/participants?email=ada@example.com", nil) // still there
	p = e.adminMust(303, admin, "POST", path+"/erase", map[string][]string{"confirm": {"yes"}})
	if !strings.Contains(p.flash(), "erased") {
		t.Errorf("erase: got flash %q", p.flash())
	}
	p = e.adminMust(200, admin, "GET", path, nil)
	if strings.Contains(p.body, "ada@example.com") || strings.Contains(p.body, "Ada") || strings.Contains(p.body, "test/1.0") ||
		!strings.Contains(p.body, "Erased participant") || !strings.Contains(p.body, `data-event="given"`) {
		t.Errorf("after erasure: want the anonymous record only\n%s", p.body)
	}
	if strings.Contains(p.body, path+"/erase") {
		t.Error("after erasure: the erasure is still offered")
	}
	p = e.adminMust(200, admin, "GET", "/admin/participants?email=ada@example.com", nil)
	if !strings.Contains(p.body, "No participant found") {
		t.Error("after erasure: the participant is still found by email")
	}
}

func TestAdminAudience(t *testing.T) {
	t.Parallel()
	e := newFormEnv(t)
	collector := e.keys[assent.RoleCollector]
	ids := map[string]string{}
	for _, email := range []string{"ada@example.com", "bob@example.com", "cy@example.com"} {
		b := e.body(email, nil)
		if email == "bob@example.com" {
			b["answers"] = map[string]any{e.newsletter: false, e.rules: true, e.partners: nil}
		}
		ids[email] = e.must(201, e.participate(collector, b)).str("participant_id")
	}
	path := "/admin/optins/" + e.newsletter + "/audience"
	tokens := map[assent.Role]string{}
	for _, role := range assent.UserRoles {
		tok := e.signedIn(role)
		tokens[role] = tok
		if p := e.adminMust(200, tok, "GET", "/admin/optins/"+e.newsletter, nil); !strings.Contains(p.body, `href="`+path+`"`) {
			t.Errorf("the opt-in page does not link to its audience for %s", role)
		}
		p := e.adminMust(200, tok, "GET", path, nil)
		ada, cy := strings.Index(p.body, "ada@example.com"), strings.Index(p.body, "cy@example.com")
		if ada < 0 || cy < 0 || cy > ada || strings.Contains(p.body, "bob@example.com") {
			t.Errorf("audience as %s: want cy then ada, not bob\n%s", role, p.body)
		}
		if links := strings.Contains(p.body, `href="/admin/participants/`+ids["ada@example.com"]+`"`); links != (role == assent.RoleAdmin || role == assent.RoleMarketer) {
			t.Errorf("audience as %s: links to participants %v", role, links)
		}
	}
	observer := tokens[assent.RoleObserver]
	p := e.adminMust(200, observer, "GET", path+"?state=refused", nil)
	if !strings.Contains(p.body, "bob@example.com") || strings.Contains(p.body, "ada@example.com") {
		t.Errorf("refused audience: want bob only\n%s", p.body)
	}
	p = e.adminMust(200, observer, "GET", path+"?state=withdrawn", nil)
	if strings.Contains(p.body, "@example.com") {
		t.Error("withdrawn audience: want nobody")
	}
	p = e.adminMust(200, observer, "GET", path+"?state=nonsense", nil) // dropped: given
	if !strings.Contains(p.body, "ada@example.com") {
		t.Error("an unknown state: want the given audience")
	}

	// The CSV export.
	p = e.adminMust(200, observer, "GET", path, nil)
	m := regexp.MustCompile(`href="([^"]*format=csv[^"]*)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatal("no CSV link")
	}
	p = e.adminMust(200, observer, "GET", html.UnescapeString(m[1]), nil)
	lines := strings.Split(strings.TrimSpace(p.body), "\n")
	if !strings.HasPrefix(p.header.Get("Content-Type"), "text/csv") || len(lines) != 3 ||
		lines[0] != "participant_id,email,first_name,last_name,state,added_at" || !strings.Contains(lines[1], "cy@example.com") {
		t.Errorf("CSV: got %s\n%s", p.header.Get("Content-Type"), p.body)
	}

	// Pages of 25, newest first.
	for i := 0; i < 24; i++ {
		e.must(201, e.participate(collector, e.body("p"+strings.Repeat("x", i)+"@example.com", nil)))
	}
	p = e.adminMust(200, observer, "GET", path, nil)
	m = regexp.MustCompile(`href="([^"]*cursor=[^"]*)"`).FindStringSubmatch(p.body)
	if m == nil || strings.Contains(p.body, "ada@example.com") {
		t.Fatalf("first page: want 25 rows without ada, and a next page\n%s", p.body)
	}
	p = e.adminMust(200, observer, "GET", html.UnescapeString(m[1]), nil)
	if !strings.Contains(p.body, "ada@example.com") || strings.Contains(p.body, "cy@example.com") || !strings.Contains(p.body, "First page") {
		t.Errorf("second page: want ada only\n%s", p.body)
	}
}
