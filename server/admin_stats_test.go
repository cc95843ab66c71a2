package server_test

import (
	"html"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/assentdev/assent"
)

// figure returns the headline figure named label on a statistics page.
func (p page) figure(label string) string {
	m := regexp.MustCompile(`<dt>` + regexp.QuoteMeta(label) + `</dt><dd class="num">([^<]*)</dd>`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return m[1]
}

// csvLink returns the target of a page's "Export CSV" link.
func (p page) csvLink() string {
	m := regexp.MustCompile(`<a class="button button-secondary" href="([^"]+)" download>Export CSV</a>`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// TestAdminStatsPages follows a few participations to the campaign
// dashboard, Insights and the global stats, and checks that each page
// shows the numbers the JSON API gives for the same period, and that its
// export is the API's CSV.
func TestAdminStatsPages(t *testing.T) {
	t.Parallel()
	e := newFormEnv(t)
	collector := e.keys[assent.RoleCollector]
	// Ada accepts the newsletter, Bob refuses it, Ada comes back and refuses.
	e.must(201, e.participate(collector, e.body("ada@example.com", nil)))
	e.must(201, e.participate(collector, e.body("bob@example.com", func(b map[string]any) {
		b["answers"] = map[string]any{e.newsletter: false, e.rules: true, e.partners: true}
	})))
	e.must(201, e.participate(collector, e.body("ada@example.com", func(b map[string]any) {
		b["answers"] = map[string]any{e.newsletter: false, e.rules: true}
	})))
	observer, editor, marketer := e.signedIn(assent.RoleObserver), e.signedIn(assent.RoleEditor), e.signedIn(assent.RoleMarketer)

	headline := func(t *testing.T, p page, api response) {
		t.Helper()
		for label, key := range map[string]string{"Participations": "participations", "Unique participants": "unique_participants",
			"New participants": "new_participants"} {
			n, _ := api.body[key].(float64)
			if got, want := p.figure(label), strconv.FormatInt(int64(n), 10); got != want {
				t.Errorf("%s: got %q, want %q (the API's)", label, got, want)
			}
		}
	}
	// sameCSV checks that the page's export link answers the API's CSV
	// for the same query.
	sameCSV := func(t *testing.T, token string, p page, apiPath string) {
		t.Helper()
		link := p.csvLink()
		_, query, ok := strings.Cut(link, "?")
		if !ok || !strings.Contains(query, "format=csv") {
			t.Fatalf("export link: got %q", link)
		}
		got := e.adminMust(200, token, "GET", link, nil)
		want := e.admin("GET", apiPath+"?"+query, nil)
		if ct := got.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("export %s: got Content-Type %q", link, ct)
		}
		if got.body != string(want.raw) || !strings.HasPrefix(got.body, "section,") {
			t.Errorf("export %s:\ngot  %s\nwant %s", link, got.body, want.raw)
		}
	}

	cid := e.campaign
	t.Run("campaign dashboard", func(t *testing.T) {
		e := e.in(t)
		path := "/admin/campaigns/" + cid + "/stats"
		p := e.adminMust(200, observer, "GET", path+"?period=today", nil)
		api := e.get("/api/v1/campaigns/" + cid + "/stats?period=today")
		headline(t, p, api)
		for _, want := range []string{
			// The newsletter: 3 displays, 1 conversion.
			`<td class="num">3</td><td class="num">1</td><td class="num">33.3%</td>`,
			`<svg viewBox=`, `<title id="chart-title">`, `<desc id="chart-desc">`, "Data table",
		} {
			if !strings.Contains(p.body, want) {
				t.Errorf("dashboard: want %q", want)
			}
		}
		// No category "others" on the form: its rate is null.
		if !regexp.MustCompile(`Others</span></th>\s*<td class="num">0</td><td class="num">0</td><td class="num">—</td>`).MatchString(p.body) {
			t.Error("dashboard: the others category does not show — for its rate")
		}
		sameCSV(t, observer, p, "/api/v1/campaigns/"+cid+"/stats")

		// A preset is marked, and the CSV of a preset carries its interval.
		p = e.adminMust(200, observer, "GET", path+"?period=last_7_days", nil)
		if !strings.Contains(p.body, `aria-current="true">Last 7 days</a>`) {
			t.Error("last 7 days is not marked current")
		}
		if !strings.Contains(p.csvLink(), "interval=day") {
			t.Errorf("CSV link: got %q, want the interval", p.csvLink())
		}
		sameCSV(t, observer, p, "/api/v1/campaigns/"+cid+"/stats")

		p = e.adminMust(200, observer, "GET", path+"?from=2020-01-01&to=2020-01-31", nil)
		if !strings.Contains(p.body, "No participations in this period") || p.figure("Participations") != "0" {
			t.Error("an empty period: want the empty state")
		}
		// Bad dates: the problem next to the field, the default period shown.
		p = e.adminMust(200, observer, "GET", path+"?from=yesterday&to=2020-01-31", nil)
		if got := p.fieldError("from"); got != "Must be a date YYYY-MM-DD" {
			t.Errorf("bad from: got %q", got)
		}
		if p.figure("Participations") != "3" {
			t.Errorf("bad from: got %q participations, want the last 365 days' 3", p.figure("Participations"))
		}
		// The campaign page links its dashboard.
		if !strings.Contains(e.adminMust(200, observer, "GET", "/admin/campaigns/"+cid, nil).body, `href="`+path+`"`) {
			t.Error("the campaign page does not link the dashboard")
		}
		e.adminMust(404, observer, "GET", "/admin/campaigns/cmp_nope/stats", nil)
	})

	t.Run("insights", func(t *testing.T) {
		e := e.in(t)
		q := "?period=today&participants=new&category=partners"
		p := e.adminMust(200, editor, "GET", "/admin/insights"+q, nil)
		api := e.get("/api/v1/stats/optins" + q)
		headline(t, p, api)
		if p.figure("Participations") != "2" {
			t.Errorf("new participants on partners forms: got %q, want 2", p.figure("Participations"))
		}
		for _, want := range []string{`<option value="new" selected>`, `<option value="partners" selected>`, "Clear filters",
			`<title id="chart-partners-title">`, "Opt-ins by campaign", `href="/admin/campaigns/` + cid + `/stats">Contest</a>`} {
			if !strings.Contains(p.body, want) {
				t.Errorf("insights: want %q", want)
			}
		}
		sameCSV(t, editor, p, "/api/v1/stats/optins")
		p = e.adminMust(200, editor, "GET", "/admin/insights?campaign=cmp_nope&interval=hour", nil)
		if p.fieldError("campaign") == "" || p.fieldError("interval") == "" {
			t.Errorf("bad filters: got campaign %q, interval %q", p.fieldError("campaign"), p.fieldError("interval"))
		}
		if p.figure("Participations") != "3" {
			t.Errorf("bad filters: got %q participations, want 3, unfiltered", p.figure("Participations"))
		}
	})

	t.Run("global stats", func(t *testing.T) {
		e := e.in(t)
		p := e.adminMust(200, marketer, "GET", "/admin/stats?period=last_7_days", nil)
		api := e.get("/api/v1/stats/global?period=last_7_days")
		headline(t, p, api)
		for _, want := range []string{`<p class="big num">33.3%</p>`, `<title id="trend-title">`,
			`href="/admin/campaigns/` + cid + `/stats">Contest</a>`} {
			if !strings.Contains(p.body, want) {
				t.Errorf("global stats: want %q", want)
			}
		}
		sameCSV(t, marketer, p, "/api/v1/stats/global")
		p = e.adminMust(200, marketer, "GET", "/admin/stats?from=2020-01-01&to=2020-01-02", nil)
		if !strings.Contains(p.body, `<p class="big num">—</p>`) || !strings.Contains(p.body, "No participations in this period") {
			t.Error("an empty period: want — for the rate and the empty state")
		}
		e.adminMust(403, editor, "GET", "/admin/stats", nil)
		e.adminMust(403, editor, "GET", "/admin/stats?format=csv", nil)
	})
}
