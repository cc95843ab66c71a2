package server_test

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/assentdev/assent"
)

// TestStatsSmoke follows one small day of participations through every
// report: the campaign dashboard, the opt-in stats, the global stats, the
// audience and the participations list, in JSON and CSV.
func TestStatsSmoke(t *testing.T) {
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

	c := e.must(200, e.call(e.keys[assent.RoleObserver], "GET", "/api/v1/campaigns/"+e.campaign+"/stats?period=today", nil))
	if c.body["participations"] != float64(3) || c.body["unique_participants"] != float64(2) || c.body["new_participants"] != float64(2) {
		t.Errorf("campaign totals: got %s", c.raw)
	}
	if !strings.Contains(string(c.raw), `"key":"newsletter_marketing","name":"Newsletter & marketing","displays":3,"conversions":1,"rate":0.3333333333333333`) {
		t.Errorf("campaign marketing stat: %s", c.raw)
	}
	if c.body["as_of"] == nil || c.body["time_zone"] != "UTC" {
		t.Errorf("header: got as_of %v time_zone %v", c.body["as_of"], c.body["time_zone"])
	}

	g := e.must(200, e.admin("GET", "/api/v1/stats/global?period=last_7_days", nil))
	if g.body["marketing_optin_rate"] != 1.0/3 {
		t.Errorf("global marketing rate: got %v, want 1/3", g.body["marketing_optin_rate"])
	}
	if r := e.call(e.keys[assent.RoleEditor], "GET", "/api/v1/stats/global", nil); r.status != 403 {
		t.Errorf("editor reading global stats: got %d, want 403", r.status)
	}

	o := e.must(200, e.admin("GET", "/api/v1/stats/optins?participants=new&category=partners", nil))
	if o.body["participations"] != float64(2) {
		t.Errorf("opt-in stats of new participants on partners forms: got %s", o.raw)
	}
	if r := e.admin("GET", "/api/v1/stats/optins?period=forever&interval=hour", nil); r.status != 422 ||
		r.errorField("period") == "" || r.errorField("interval") == "" {
		t.Errorf("bad period and interval: got %d %s", r.status, r.raw)
	}

	a := e.must(200, e.admin("GET", "/api/v1/optins/"+e.newsletter+"/audience", nil))
	if len(a.data()) != 1 || !strings.Contains(string(a.raw), "ada@example.com") {
		t.Errorf("newsletter audience: got %s, want Ada alone", a.raw)
	}
	refused := e.must(200, e.admin("GET", "/api/v1/optins/"+e.newsletter+"/audience?state=refused", nil))
	if len(refused.data()) != 1 || !strings.Contains(string(refused.raw), "bob@example.com") {
		t.Errorf("refused audience: got %s, want Bob alone", refused.raw)
	}

	p := e.must(200, e.admin("GET", "/api/v1/campaigns/"+e.campaign+"/participations?limit=2", nil))
	if len(p.data()) != 2 || p.body["next_cursor"] == nil {
		t.Errorf("participations page: got %s", p.raw)
	}
	csvAnswer := e.admin("GET", "/api/v1/campaigns/"+e.campaign+"/participations?format=csv", nil)
	rows, err := csv.NewReader(strings.NewReader(string(csvAnswer.raw))).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("participations CSV: got %d rows (%v):\n%s", len(rows), err, csvAnswer.raw)
	}
	statsCSV := e.admin("GET", "/api/v1/campaigns/"+e.campaign+"/stats?period=today&format=csv", nil)
	if !strings.HasPrefix(string(statsCSV.raw), "section,campaign_id,id,name,start,participations") ||
		!strings.Contains(string(statsCSV.raw), "total,,,,,3,2,2") {
		t.Errorf("stats CSV:\n%s", statsCSV.raw)
	}
}
