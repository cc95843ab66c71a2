package server_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/assentdev/assent"
)

func TestAdminCampaigns(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	if _, err := e.store.UpdateAccount(ctx, e.acme.ID, func(a *assent.Account) { a.TimeZone = "Europe/Brussels" }); err != nil {
		t.Fatal(err)
	}
	token := e.signedIn(assent.RoleEditor)

	// Refused: every problem at once, dates read or not.
	p := e.adminMust(422, token, "POST", "/admin/campaigns", url.Values{"name": {""}, "language": {"en"}, "type": {"contest"},
		"starts_at": {"tomorrow"}, "fields.first_name": {"required"}, "fields.last_name": {"sometimes"}})
	for id, want := range map[string]string{
		"name":              "Is required",
		"starts_at":         "Must be a date and time, such as 2026-12-01 09:00",
		"fields-last_name":  "Must be required, optional or hidden",
		"fields-first_name": "",
	} {
		if got := p.fieldError(id); got != want {
			t.Errorf("%s: got %q, want %q", id, got, want)
		}
	}
	p = e.adminMust(422, token, "POST", "/admin/campaigns", url.Values{"name": {"Xmas"}, "language": {"en"}, "type": {"contest"},
		"starts_at": {"2026-12-24T18:00"}, "ends_at": {"2026-12-01T09:00"}, "fields.first_name": {"optional"},
		"fields.last_name": {"optional"}})
	if got := p.fieldError("ends_at"); got != "Must be after starts_at" {
		t.Errorf("ends before it starts: got %q", got)
	}
	if n, _ := e.store.CountRows(ctx, "campaigns"); n != 0 {
		t.Fatalf("got %d campaigns stored, want none", n)
	}

	// Created: the period is in the account's time zone, and next year's
	// December, so that the campaign is still scheduled whenever the test
	// runs.
	y := time.Now().Year() + 1
	start, end := fmt.Sprintf("%d-12-01T09:00", y), fmt.Sprintf("%d-01-06T18:30", y+1)
	p = e.adminMust(303, token, "POST", "/admin/campaigns", url.Values{"name": {"Christmas contest"}, "language": {"en"},
		"type": {"contest"}, "starts_at": {start}, "ends_at": {end},
		"fields.first_name": {"required"}, "fields.last_name": {"hidden"}})
	id := strings.TrimPrefix(p.header.Get("Location"), "/admin/campaigns/")
	c, err := e.store.Campaign(ctx, e.acme.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(y, 12, 1, 8, 0, 0, 0, time.UTC); c.StartsAt == nil || !c.StartsAt.Equal(want) {
		t.Errorf("starts at: got %v, want %v (09:00 in Brussels)", c.StartsAt, want)
	}
	if want := time.Date(y+1, 1, 6, 17, 30, 0, 0, time.UTC); c.EndsAt == nil || !c.EndsAt.Equal(want) {
		t.Errorf("ends at: got %v, want %v", c.EndsAt, want)
	}
	if c.Name != "Christmas contest" || c.Type != "contest" || c.Fields.FirstName != "required" || c.Fields.LastName != "hidden" {
		t.Errorf("got %+v", c)
	}
	p = e.adminMust(200, token, "GET", "/admin/campaigns/"+id+"/edit", nil)
	for _, want := range []string{`value="` + start + `"`, `value="` + end + `"`, "Europe/Brussels"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("edit page: want %q", want)
		}
	}
	p = e.adminMust(200, token, "GET", "/admin/campaigns/"+id, nil)
	for _, want := range []string{`value="https://assent.example/f/` + id + `"`, fmt.Sprintf("1 Dec %d, 09:00 – 6 Jan %d, 18:30", y, y+1), "Scheduled",
		"The form shows no opt-in yet."} {
		if !strings.Contains(p.body, want) {
			t.Errorf("campaign page: want %q", want)
		}
	}
	if !strings.Contains(e.adminMust(200, token, "GET", "/admin/campaigns", nil).body, `href="/admin/campaigns/`+id+`"`) {
		t.Error("the list does not link the campaign")
	}

	// The form builder offers only active opt-ins of the campaign's language.
	a := e.optinWith(map[string]any{"name": "Alpha", "text": "A"})
	b := e.optinWith(map[string]any{"name": "Bravo", "text": "B"})
	archived := e.optinWith(map[string]any{"name": "Charlie", "text": "C"})
	e.must(200, e.admin("PATCH", "/api/v1/optins/"+archived, map[string]any{"status": "archived"}))
	french := e.optinWith(map[string]any{"name": "Delta", "text": "D", "language": "fr"})
	p = e.adminMust(200, token, "GET", "/admin/campaigns/"+id, nil)
	offered := regexp.MustCompile(`<option value="(opt_[a-z0-9]+)">`).FindAllStringSubmatch(p.body, -1)
	if len(offered) != 2 || offered[0][1] != a || offered[1][1] != b {
		t.Errorf("offered: got %v, want Alpha and Bravo only", offered)
	}
	form := func() []string {
		c, err := e.store.Campaign(ctx, e.acme.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		return c.Optins
	}
	for _, step := range []struct {
		do, optin string
		want      []string
		flash     string
	}{
		{"add", a, []string{a}, "ok:Opt-in added to the form."},
		{"add", b, []string{a, b}, "ok:Opt-in added to the form."},
		{"up", b, []string{b, a}, "ok:Opt-in moved up."},
		{"up", b, []string{b, a}, ""},
		{"down", b, []string{a, b}, "ok:Opt-in moved down."},
		{"down", b, []string{a, b}, ""},
		{"add", a, []string{a, b}, "error:This opt-in is on the form already."},
		{"add", archived, []string{a, b}, "error:Opt-in \"Charlie\" is archived and cannot be placed on a form."},
		{"add", french, []string{a, b}, "error:Opt-in \"Delta\" is in language fr but the campaign is in en."},
		{"add", "", []string{a, b}, "error:Choose an opt-in to add."},
		{"remove", a, []string{b}, "ok:Opt-in removed from the form."},
		{"up", a, []string{b}, "error:This opt-in is not on the form (any more)."},
	} {
		p := e.adminMust(303, token, "POST", "/admin/campaigns/"+id+"/optins", url.Values{step.do: {step.optin}})
		if got := form(); strings.Join(got, " ") != strings.Join(step.want, " ") {
			t.Errorf("%s %s: got form %v, want %v", step.do, step.optin, got, step.want)
		}
		if got := p.flash(); got != step.flash {
			t.Errorf("%s %s: got flash %q, want %q", step.do, step.optin, got, step.flash)
		}
	}

	// A language that no longer fits the form's opt-ins is refused.
	p = e.adminMust(422, token, "POST", "/admin/campaigns/"+id, url.Values{"name": {"Christmas contest"}, "language": {"fr"},
		"type": {"contest"}, "fields.first_name": {"required"}, "fields.last_name": {"hidden"}})
	if !strings.Contains(p.body, "Opt-in &#34;Bravo&#34; is in language en but the campaign is in fr") {
		t.Errorf("language change: the problem is not shown\n%s", p.body)
	}
	p = e.adminMust(303, token, "POST", "/admin/campaigns/"+id, url.Values{"name": {"Christmas contest 2026"}, "language": {"en"},
		"type": {"signup"}, "starts_at": {""}, "ends_at": {""}, "fields.first_name": {"optional"}, "fields.last_name": {"optional"}})
	if c, _ := e.store.Campaign(ctx, e.acme.ID, id); c.Name != "Christmas contest 2026" || c.StartsAt != nil || c.EndsAt != nil ||
		c.Type != "signup" || strings.Join(c.Optins, " ") != b {
		t.Errorf("after the edit: got %+v", c)
	}
	if !strings.Contains(e.adminMust(200, token, "GET", "/admin/campaigns/"+id, nil).body, "Live") {
		t.Error("a campaign without dates is not shown live")
	}

	// Archive closes the form; restore opens it again.
	e.adminMust(303, token, "POST", "/admin/campaigns/"+id+"/archive", nil)
	e.getPage(410, "/f/"+id)
	e.adminMust(303, token, "POST", "/admin/campaigns/"+id+"/restore", nil)
	e.getPage(200, "/f/"+id)
	e.adminMust(404, token, "GET", "/admin/campaigns/cmp_nope", nil)
}

func TestAdminSettings(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	token := e.signedIn(assent.RoleAdmin)

	// The account: name and time zone.
	p := e.adminMust(200, token, "GET", "/admin/settings", nil)
	for _, want := range []string{`<option value="UTC" selected>`, `<optgroup label="Europe">`, `<option value="Europe/Amsterdam">`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("settings page: want %q", want)
		}
	}
	e.adminMust(303, token, "POST", "/admin/settings", url.Values{"name": {"Acme Corp"}, "time_zone": {"Europe/Brussels"}})
	if a, _ := e.store.Account(ctx, e.acme.ID); a.Name != "Acme Corp" || a.TimeZone != "Europe/Brussels" {
		t.Errorf("got %+v", a)
	}
	if p := e.adminMust(200, token, "GET", "/admin/settings", nil); !strings.Contains(p.body, `<option value="Europe/Brussels" selected>`) ||
		!strings.Contains(p.body, "time zone, Europe/Brussels") {
		t.Error("the page does not show the new time zone")
	}
	for _, tc := range []struct {
		form         url.Values
		status       int
		field, error string
	}{
		{url.Values{"name": {"Acme"}, "time_zone": {"Mars/Olympus"}}, 422, "time_zone",
			"Must be an IANA time zone such as UTC or Europe/Brussels"},
		{url.Values{"name": {""}, "time_zone": {"UTC"}}, 422, "name", "Is required"},
		{url.Values{"name": {"other"}, "time_zone": {"UTC"}}, 409, "name", "Another account has this name"},
	} {
		p := e.adminMust(tc.status, token, "POST", "/admin/settings", tc.form)
		if got := p.fieldError(tc.field); got != tc.error {
			t.Errorf("%v: got %q next to %s, want %q", tc.form, got, tc.field, tc.error)
		}
	}

	// Users.
	p = e.adminMust(303, token, "POST", "/admin/settings/users", url.Values{"email": {"Zed@Example.com"}, "name": {"Zed"},
		"role": {"observer"}, "password": {"a long enough password"}})
	if !strings.HasPrefix(p.flash(), "ok:User zed@example.com created as observer.") {
		t.Errorf("flash: got %q", p.flash())
	}
	if p := e.adminMust(200, token, "GET", "/admin/settings/users", nil); !strings.Contains(p.body, "zed@example.com") {
		t.Error("the new user is not listed")
	}
	if _, err := e.store.AuthenticateUser(ctx, "zed@example.com", "a long enough password"); err != nil {
		t.Errorf("the new user cannot sign in: %v", err)
	}
	for _, tc := range []struct {
		form         url.Values
		status       int
		field, error string
	}{
		{url.Values{"email": {"zed@example.com"}, "role": {"editor"}, "password": {"another long one"}}, 409, "email", "Is taken"},
		{url.Values{"email": {"amy@example.com"}, "role": {"editor"}, "password": {"short"}}, 422, "password",
			"Must be at least 10 characters"},
		{url.Values{"email": {"not an address"}, "role": {"editor"}, "password": {"long enough!!"}}, 422, "email",
			"Must be a valid email address"},
		{url.Values{"email": {"amy@example.com"}, "role": {"collector"}, "password": {"long enough!!"}}, 422, "role",
			"Must be one of admin, marketer, editor, observer"},
	} {
		p := e.adminMust(tc.status, token, "POST", "/admin/settings/users", tc.form)
		if got := p.fieldError(tc.field); got != tc.error {
			t.Errorf("%v: got %q next to %s, want %q", tc.form, got, tc.field, tc.error)
		}
		if strings.Contains(p.body, tc.form.Get("password")) {
			t.Errorf("%v: the page shows the password back", tc.form)
		}
	}

	// API keys: shown once, working, then revoked.
	p = e.adminMust(201, token, "POST", "/admin/settings/apikeys", url.Values{"name": {"Reports"}, "role": {"observer"}})
	key := regexp.MustCompile(`id="new-key" value="(assent_[a-z0-9]+)"`).FindStringSubmatch(p.body)
	if key == nil {
		t.Fatalf("the new key is not shown:\n%s", p.body)
	}
	if p.header.Get("Cache-Control") != "no-store" {
		t.Errorf("the page with the key may be cached: Cache-Control %q", p.header.Get("Cache-Control"))
	}
	e.must(200, e.call(key[1], "GET", "/api/v1/optins", nil))
	p = e.adminMust(200, token, "GET", "/admin/settings/apikeys", nil)
	if strings.Contains(p.body, key[1]) {
		t.Error("the key is shown a second time")
	}
	keyID := regexp.MustCompile(`action="/admin/settings/apikeys/(key_[a-z0-9]+)/revoke"[^>]*\s+data-confirm="Revoke the key “Reports”`).
		FindStringSubmatch(p.body)
	if keyID == nil {
		t.Fatal("no revoke button for the key")
	}
	p = e.adminMust(303, token, "POST", "/admin/settings/apikeys/"+keyID[1]+"/revoke", nil)
	if p.flash() != "ok:API key revoked: it no longer opens the API." {
		t.Errorf("flash: got %q", p.flash())
	}
	e.must(401, e.call(key[1], "GET", "/api/v1/optins", nil))
	e.adminMust(404, token, "POST", "/admin/settings/apikeys/"+keyID[1]+"/revoke", nil)
	p = e.adminMust(422, token, "POST", "/admin/settings/apikeys", url.Values{"name": {"X"}, "role": {"boss"}})
	if got := p.fieldError("role"); got != "Must be one of admin, marketer, editor, observer, collector" {
		t.Errorf("bad role: got %q", got)
	}
}

// TestAdminFlash checks that a message left by an action shows once, on
// the next page.
func TestAdminFlash(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	token := e.signedIn(assent.RoleMarketer)
	p := e.adminMust(303, token, "POST", "/admin/subcategories", url.Values{"name": {"News <b>"}, "value": {"news"},
		"category": {"others"}})
	flash := strings.TrimPrefix(strings.Split(p.cookie("assent_flash"), ";")[0], "assent_flash=")
	if !strings.Contains(p.cookie("assent_flash"), "Path=/admin") || !strings.Contains(p.cookie("assent_flash"), "HttpOnly") {
		t.Errorf("flash cookie: got %q", p.cookie("assent_flash"))
	}
	next := e.browse("GET", "/admin/subcategories", nil, map[string]string{"Cookie": "assent_session=" + token + "; assent_flash=" + flash})
	if !strings.Contains(next.body, `<div class="flash flash-ok" role="status">Subcategory “News &lt;b&gt;” created.</div>`) {
		t.Errorf("the next page does not show the message:\n%s", next.body)
	}
	if !strings.Contains(next.cookie("assent_flash"), "Max-Age=0") {
		t.Errorf("the message is not removed once shown: %q", next.cookie("assent_flash"))
	}
	// A forged flash cookie shows nothing odd.
	forged := e.browse("GET", "/admin/subcategories", nil, map[string]string{"Cookie": "assent_session=" + token + "; assent_flash=evil%3A%3Cscript%3E"})
	if strings.Contains(forged.body, "<script>") || strings.Contains(forged.body, `class="flash`) {
		t.Error("a forged flash cookie is shown")
	}
}
