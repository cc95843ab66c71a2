package server_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/server"
	"github.com/assentdev/assent/stats/statstest"
)

// statsEnv is a real server on the database of the statistics scenario:
// acme is its Brussels account, with a key per role; other is Kathmandu,
// with an admin key. The store's clock is the scenario's.
type statsEnv struct {
	*testEnv
	s *statstest.Scenario
}

func newStatsEnv(t *testing.T) *statsEnv {
	t.Helper()
	s := statstest.NewScenario(t)
	e := &testEnv{t: t, store: s.Store, acme: s.Brussels.Account, other: s.Kathmandu.Account, keys: map[assent.Role]string{}}
	ctx := context.Background()
	for _, r := range assent.Roles {
		k, err := s.Store.CreateAPIKey(ctx, e.acme.ID, string(r), r)
		if err != nil {
			t.Fatal(err)
		}
		e.keys[r] = k.Key
	}
	k, err := s.Store.CreateAPIKey(ctx, e.other.ID, "admin", assent.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	e.otherKey = k.Key
	srv := httptest.NewServer(server.New(s.Store, slog.New(slog.NewTextHandler(io.Discard, nil)),
		server.Config{BaseURL: "https://assent.example"}))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return &statsEnv{testEnv: e, s: s}
}

// keyOf returns the admin key of the account.
func (e *statsEnv) keyOf(accountID string) string {
	if accountID == e.other.ID {
		return e.otherKey
	}
	return e.keys[assent.RoleAdmin]
}

// checkReport reads a report over HTTP, holds its JSON to the recount,
// and its CSV export to its JSON. It returns the JSON.
func (e *statsEnv) checkReport(d *statstest.Data, r statstest.Request, withCSV bool) []byte {
	e.t.Helper()
	key := e.keyOf(d.AccountID)
	got := e.must(200, e.call(key, "GET", r.Path(), nil))
	if diffs := statstest.Diff(got.raw, d.Expect(r, e.s.Clock.Now())); len(diffs) > 0 {
		e.t.Errorf("GET %s (clock %s):\n%s", r.Path(), e.s.Clock.Now().Format(time.RFC3339), strings.Join(diffs, "\n"))
	}
	if withCSV {
		sep := "?"
		if strings.Contains(r.Path(), "?") {
			sep = "&"
		}
		c := e.must(200, e.call(key, "GET", r.Path()+sep+"format=csv", nil))
		if ct := c.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			e.t.Errorf("GET %s as CSV: got Content-Type %q, want text/csv", r.Path(), ct)
		}
		compareCSV(e.t, r.Path(), c.raw, reportCSV(r.Report, got.body))
	}
	return got.raw
}

// reportCSV writes a report's JSON answer in the long format of the
// exports: one row per figure, every part of the report in turn.
func reportCSV(kind string, body map[string]any) [][]string {
	rows := [][]string{{"section", "campaign_id", "id", "name", "start", "participations", "unique_participants",
		"new_participants", "displays", "conversions", "rate", "confirmed"}}
	row := func(section, campaign, id, name, start, participations, unique, fresh string, stat any, confirmed any) {
		r := []string{section, campaign, id, cell(name), start, participations, unique, fresh, "", "", "", ""}
		if s, ok := stat.(map[string]any); ok {
			r[8], r[9], r[10] = number(s["displays"]), number(s["conversions"]), number(s["rate"])
		}
		r[11] = number(confirmed)
		rows = append(rows, r)
	}
	row("total", "", "", "", "", number(body["participations"]), number(body["unique_participants"]),
		number(body["new_participants"]), nil, nil)
	if kind == "global" {
		row("marketing", "", assent.CategoryNewsletterMarketing, "", "", "", "", "", body["marketing"], nil)
	} else {
		for _, o := range list(body["optins"]) {
			row("optin", "", str(o["id"]), str(o["name"]), "", "", "", "", o, o["confirmed"])
		}
	}
	for _, c := range list(body["categories"]) {
		row("category", "", str(c["key"]), str(c["name"]), "", "", "", "", c, nil)
		for _, sc := range list(c["subcategories"]) {
			row("subcategory", "", str(sc["value"]), str(sc["name"]), "", "", "", "", sc, nil)
		}
	}
	for _, b := range list(body["by_campaign"]) {
		row("by_campaign", str(b["campaign_id"]), str(b["optin_id"]), str(b["campaign_name"])+" / "+str(b["optin_name"]),
			"", "", "", "", b, nil)
	}
	for _, c := range list(body["top_campaigns"]) {
		row("top_campaign", str(c["id"]), "", str(c["name"]), "", number(c["participations"]), "", "",
			map[string]any{"displays": c["marketing_displays"], "conversions": c["marketing_conversions"],
				"rate": c["marketing_rate"]}, nil)
	}
	for _, p := range list(body["series"]) {
		start := str(p["start"])
		row("series", "", "", "", start, number(p["participations"]), "", "", nil, nil)
		cats, _ := p["categories"].(map[string]any)
		for _, c := range assent.Categories {
			row("series_category", "", c.Key, "", start, "", "", "", cats[c.Key], nil)
		}
		optins, _ := p["optins"].(map[string]any)
		var ids []string
		for id := range optins {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			row("series_optin", "", id, "", start, "", "", "", optins[id], nil)
		}
	}
	return rows
}

// cell is a text as an export writes it: a text that a spreadsheet would
// run as a formula gets a leading apostrophe.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return "'" + s
		}
	}
	return s
}

// number writes a decoded JSON number as an export does; null is empty.
func number(v any) string {
	f, ok := v.(float64)
	if !ok {
		return ""
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func str(v any) string { s, _ := v.(string); return s }

func list(v any) []map[string]any {
	var out []map[string]any
	a, _ := v.([]any)
	for _, x := range a {
		m, _ := x.(map[string]any)
		out = append(out, m)
	}
	return out
}

// compareCSV parses a CSV answer and compares it with the rows wanted.
func compareCSV(t *testing.T, what string, raw []byte, want [][]string) {
	t.Helper()
	got, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil {
		t.Errorf("%s: CSV does not parse: %v\n%s", what, err, raw)
		return
	}
	shown := 0
	for i := 0; i < len(got) || i < len(want); i++ {
		var g, w []string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if strings.Join(g, "\x00") != strings.Join(w, "\x00") {
			t.Errorf("%s: CSV row %d: got %q, want %q", what, i, g, w)
			if shown++; shown == 5 {
				return
			}
		}
	}
}

// TestStatsHTTPEqualsRecount reads every report of the scenario over HTTP,
// holds each JSON answer to the recount and each CSV export to its JSON;
// then it reads every named period at instants around midnight in the
// account's zone, and checks the days of a few of them against dates
// worked out by hand.
func TestStatsHTTPEqualsRecount(t *testing.T) {
	t.Parallel()
	e := newStatsEnv(t)
	r := rand.New(rand.NewPCG(2, 2))
	for _, a := range []*statstest.Account{e.s.Brussels, e.s.Kathmandu} {
		d := e.s.Load(a.ID)
		for _, req := range d.Requests("2025-12-30", "2026-10-27", r.IntN) {
			e.checkReport(d, req, true)
		}
	}

	periods := []string{"", "today", "yesterday", "last_7_days", "last_30_days", "this_month", "last_month", "this_year",
		"last_365_days"}
	brussels, kathmandu := e.s.Load(e.s.Brussels.ID), e.s.Load(e.s.Kathmandu.ID)
	for _, now := range []string{
		"2026-03-29T21:59:59Z", // Brussels: Sunday 29 March 23:59:59; Kathmandu: Monday 30 March 03:44:59
		"2026-03-29T22:00:00Z", // Brussels: Monday 30 March 00:00
		"2026-03-31T22:00:00Z", // Brussels: Wednesday 1 April 00:00
		"2025-12-31T18:14:59Z", // Kathmandu: 31 December 23:59:59
		"2025-12-31T18:15:00Z", // Kathmandu: 1 January 2026 00:00
		"2026-10-25T22:59:59Z", // Brussels: the end of the 25-hour Sunday
	} {
		e.s.Clock.Set(mustTime(t, now))
		for _, p := range periods {
			for _, d := range []*statstest.Data{brussels, kathmandu} {
				e.checkReport(d, statstest.Request{Report: "global", Period: p}, false)
				e.checkReport(d, statstest.Request{Report: "optins", Period: p, Interval: "week"}, false)
			}
			e.checkReport(brussels, statstest.Request{Report: "campaign", Campaign: e.s.Brussels.Campaigns["spring"].ID,
				Period: p, Interval: "month"}, false)
		}
	}

	days := []struct {
		now, account, period, from, to string
	}{
		{"2026-03-29T21:59:59Z", "brussels", "today", "2026-03-29", "2026-03-29"},
		{"2026-03-29T22:00:00Z", "brussels", "today", "2026-03-30", "2026-03-30"},
		{"2026-03-29T22:00:00Z", "kathmandu", "yesterday", "2026-03-29", "2026-03-29"},
		{"2026-03-29T22:00:00Z", "brussels", "last_7_days", "2026-03-24", "2026-03-30"},
		{"2026-03-31T22:00:00Z", "brussels", "this_month", "2026-04-01", "2026-04-01"},
		{"2026-03-31T22:00:00Z", "brussels", "last_month", "2026-03-01", "2026-03-31"},
		{"2026-03-31T21:59:59Z", "brussels", "last_month", "2026-02-01", "2026-02-28"},
		{"2025-12-31T18:15:00Z", "kathmandu", "this_year", "2026-01-01", "2026-01-01"},
		{"2025-12-31T18:15:00Z", "kathmandu", "last_month", "2025-12-01", "2025-12-31"},
		{"2025-12-31T18:14:59Z", "kathmandu", "last_30_days", "2025-12-02", "2025-12-31"},
		{"2026-03-30T10:00:00Z", "brussels", "last_365_days", "2025-03-31", "2026-03-30"},
		{"2026-03-30T10:00:00Z", "brussels", "", "2025-03-31", "2026-03-30"},
	}
	for _, tt := range days {
		e.s.Clock.Set(mustTime(t, tt.now))
		key := e.keys[assent.RoleAdmin]
		if tt.account == "kathmandu" {
			key = e.otherKey
		}
		got := e.must(200, e.call(key, "GET", "/api/v1/stats/global?period="+tt.period, nil))
		if got.str("from") != tt.from || got.str("to") != tt.to {
			t.Errorf("%s in %s at %s: got %s to %s, want %s to %s", tt.period, tt.account, tt.now, got.str("from"),
				got.str("to"), tt.from, tt.to)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// pages reads every page of a list over HTTP and returns the items, as
// raw JSON.
func (e *statsEnv) pages(key, path string, limit int) []json.RawMessage {
	e.t.Helper()
	var out []json.RawMessage
	cursor := ""
	for n := 0; ; n++ {
		u := fmt.Sprintf("%s?limit=%d", path, limit)
		if strings.Contains(path, "?") {
			u = fmt.Sprintf("%s&limit=%d", path, limit)
		}
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		r := e.must(200, e.call(key, "GET", u, nil))
		var page struct {
			Data       []json.RawMessage `json:"data"`
			NextCursor *string           `json:"next_cursor"`
		}
		if err := json.Unmarshal(r.raw, &page); err != nil {
			e.t.Fatal(err)
		}
		if len(page.Data) > limit {
			e.t.Fatalf("GET %s: got %d items, want at most %d", u, len(page.Data), limit)
		}
		out = append(out, page.Data...)
		if page.NextCursor == nil {
			return out
		}
		if len(page.Data) == 0 || n > 1000 {
			e.t.Fatalf("GET %s: a page with a next cursor and %d items", u, len(page.Data))
		}
		cursor = *page.NextCursor
	}
}

// joined turns items into one JSON array.
func joined(items []json.RawMessage) []byte {
	if items == nil {
		items = []json.RawMessage{}
	}
	b, _ := json.Marshal(items)
	return b
}

// checkLists holds every audience (every opt-in, every state) and every
// campaign's participations, read page by page, to the recount, and their
// CSV exports to their JSON.
func (e *statsEnv) checkLists(d *statstest.Data) {
	e.t.Helper()
	key := e.keyOf(d.AccountID)
	for _, optinID := range sortedIDs(d.Optins) {
		for _, state := range assent.ConsentStates {
			path := "/api/v1/optins/" + optinID + "/audience?state=" + string(state)
			items := e.pages(key, path, 1) // one a page: ties on added_at cross pages
			if diffs := statstest.Diff(joined(items), d.Audience(optinID, string(state))); len(diffs) > 0 {
				e.t.Errorf("GET %s:\n%s", path, strings.Join(diffs, "\n"))
			}
			want := [][]string{{"participant_id", "email", "first_name", "last_name", "state", "added_at"}}
			for _, raw := range items {
				var m map[string]any
				if err := json.Unmarshal(raw, &m); err != nil {
					e.t.Fatal(err)
				}
				want = append(want, []string{str(m["participant_id"]), cell(str(m["email"])), cell(str(m["first_name"])),
					cell(str(m["last_name"])), str(m["state"]), str(m["added_at"])})
			}
			c := e.must(200, e.call(key, "GET", path+"&format=csv", nil))
			compareCSV(e.t, path+"&format=csv", c.raw, want)
		}
	}
	for _, campaignID := range sortedIDs(d.Campaigns) {
		path := "/api/v1/campaigns/" + campaignID + "/participations"
		items := e.pages(key, path, 3)
		if diffs := statstest.Diff(joined(items), d.CampaignParticipations(campaignID)); len(diffs) > 0 {
			e.t.Errorf("GET %s:\n%s", path, strings.Join(diffs, "\n"))
		}
		header := []string{"id", "created_at", "participant_id", "email", "first_name", "last_name", "new_participant",
			"source", "ip_hash", "user_agent", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"}
		form := d.Campaigns[campaignID].Form
		for _, id := range form {
			header = append(header, "optin:"+id+" "+d.Optins[id].Name)
		}
		want := [][]string{append(header, "other_answers")}
		for _, raw := range items {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				e.t.Fatal(err)
			}
			utm, _ := m["utm"].(map[string]any)
			isNew, _ := m["new_participant"].(bool)
			row := []string{str(m["id"]), str(m["created_at"]), str(m["participant_id"]), cell(str(m["email"])),
				cell(str(m["first_name"])), cell(str(m["last_name"])), strconv.FormatBool(isNew), str(m["source"]),
				str(m["ip_hash"]), cell(str(m["user_agent"]))}
			for _, k := range []string{"source", "medium", "campaign", "term", "content"} {
				row = append(row, cell(str(utm[k])))
			}
			// The form's answers have a column each ("" when left blank or
			// not shown); answers to opt-ins no longer on it go together.
			answers, _ := m["answers"].(map[string]any)
			other := map[string]any{}
			for k, v := range answers {
				other[k] = v
			}
			for _, id := range form {
				v, answered := answers[id].(bool)
				if answered {
					row = append(row, strconv.FormatBool(v))
				} else {
					row = append(row, "")
				}
				delete(other, id)
			}
			extra := ""
			if len(other) > 0 {
				b, _ := json.Marshal(other)
				extra = string(b)
			}
			want = append(want, append(row, extra))
		}
		c := e.must(200, e.call(key, "GET", path+"?format=csv", nil))
		compareCSV(e.t, path+"?format=csv", c.raw, want)
	}
}

func sortedIDs[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestStatsListsEqualRecount holds the audiences (with the date each
// participant was added, newest first) and the participations lists, page
// by page and as CSV, to the states replayed from the consent ledger.
func TestStatsListsEqualRecount(t *testing.T) {
	t.Parallel()
	e := newStatsEnv(t)
	e.checkLists(e.s.Load(e.s.Brussels.ID))
	e.checkLists(e.s.Load(e.s.Kathmandu.ID))
}

// everyReport returns a set of reports of the account that together cover
// all of its data.
func everyReport(d *statstest.Data) []statstest.Request {
	var out []statstest.Request
	for _, id := range sortedIDs(d.Campaigns) {
		out = append(out, statstest.Request{Report: "campaign", Campaign: id, From: "2025-12-01", To: "2026-12-31"})
	}
	for _, f := range []statstest.Filters{{}, {Participants: "new"}, {Category: assent.CategoryNewsletterMarketing},
		{Language: "fr"}, {Subcategory: "sms-promos"}} {
		out = append(out, statstest.Request{Report: "optins", From: "2025-12-01", To: "2026-12-31", Interval: "month",
			Filters: f})
	}
	return append(out, statstest.Request{Report: "global", From: "2025-12-01", To: "2026-12-31"})
}

// TestStatsConsentChanges follows withdrawal, confirmation, expiry and
// erasure through the reports and the audiences: each moves states in
// the audience as the ledger says; only confirmation moves a figure (the
// confirmed count of its opt-in), and erasure moves none.
func TestStatsConsentChanges(t *testing.T) {
	t.Parallel()
	e := newStatsEnv(t)
	b := e.s.Brussels
	reports := everyReport(e.s.Load(b.ID))
	read := func() []string {
		var out []string
		d := e.s.Load(b.ID)
		for _, r := range reports {
			out = append(out, string(e.checkReport(d, r, false)))
		}
		return out
	}
	// state reads a participant's state for an opt-in from the audiences.
	state := func(email, optin string) string {
		for _, state := range assent.ConsentStates {
			for _, raw := range e.pages(e.keys[assent.RoleAdmin], "/api/v1/optins/"+b.Optins[optin].ID+"/audience?state="+
				string(state), 1000) {
				var m statstest.AudienceMember
				if err := json.Unmarshal(raw, &m); err != nil {
					t.Fatal(err)
				}
				if m.Email == email {
					return string(state)
				}
			}
		}
		return ""
	}
	unchanged := func(what string, before []string) {
		t.Helper()
		after := read()
		for i := range before {
			if before[i] != after[i] {
				t.Errorf("%s changed %s:\n%s", what, reports[i].Path(),
					strings.Join(statstest.Diff([]byte(after[i]), json.RawMessage(before[i])), "\n"))
			}
		}
	}

	// Withdrawal: Jules's newsletter.
	before := read()
	jules := e.s.Brussels.Participants["jules@example.com"]
	e.s.Clock.Set(mustTime(t, "2026-10-26T11:00:00Z"))
	e.must(200, e.admin("POST", "/api/v1/participants/"+jules+"/withdrawals", map[string]any{"optin_id": b.Optins["news_en"].ID}))
	if got := state("jules@example.com", "news_en"); got != "withdrawn" {
		t.Errorf("after withdrawal: got %q, want withdrawn", got)
	}
	unchanged("a withdrawal", before)

	// A new participation over HTTP: Kim accepts the SMS deals, pending.
	// Her client retries it with the same Idempotency-Key: it counts once.
	e.s.Clock.Set(mustTime(t, "2026-10-26T12:00:00Z"))
	for i := 0; i < 2; i++ {
		req := e.rawRequest(e.keys[assent.RoleCollector], "POST", "/api/v1/campaigns/"+b.Campaigns["spring"].ID+"/participations",
			map[string]any{"email": "kim@example.com", "answers": map[string]any{b.Optins["rules_en"].ID: true,
				b.Optins["news_en"].ID: false, b.Optins["sms_en"].ID: true, b.Optins["panel_en"].ID: true}})
		req.Header.Set("Idempotency-Key", "kim-1")
		e.must(201, e.doRequest(req))
	}
	e.must(201, e.call(e.keys[assent.RoleCollector], "POST", "/api/v1/campaigns/"+b.Campaigns["spring"].ID+"/participations",
		map[string]any{"email": "lou@example.com", "answers": map[string]any{b.Optins["rules_en"].ID: true,
			b.Optins["news_en"].ID: false, b.Optins["sms_en"].ID: true}}))
	mails := b.TakeMails()
	if len(mails) != 2 {
		t.Fatalf("confirmation emails: got %d, want 2", len(mails))
	}
	if got := state("kim@example.com", "sms_en"); got != "pending" {
		t.Errorf("before confirmation: got %q, want pending", got)
	}
	spring := e.get("/api/v1/campaigns/" + b.Campaigns["spring"].ID + "/stats?from=2026-10-26&to=2026-10-26")
	confirmedOf := func(r response, optin string) float64 {
		for _, o := range list(r.body["optins"]) {
			if o["id"] == b.Optins[optin].ID {
				v, _ := o["confirmed"].(float64)
				return v
			}
		}
		return -1
	}
	if got := confirmedOf(spring, "sms_en"); got != 0 {
		t.Errorf("SMS deals confirmed before confirmation: got %v, want 0", got)
	}
	if got := spring.body["participations"]; got != float64(2) {
		t.Errorf("spring on 26 October after a retried participation: got %v participations, want 2", got)
	}
	e.checkReport(e.s.Load(b.ID), statstest.Request{Report: "global", Period: "today"}, true)

	// Confirmation: Kim confirms; the confirmed counts move, nothing else.
	before = read()
	b.Confirm(mails[0], mustTime(t, "2026-10-27T08:00:00Z"))
	if got := state("kim@example.com", "sms_en"); got != "given" {
		t.Errorf("after confirmation: got %q, want given", got)
	}
	if got := state("kim@example.com", "panel_en"); got != "given" {
		t.Errorf("panel after confirmation: got %q, want given", got)
	}
	spring = e.get("/api/v1/campaigns/" + b.Campaigns["spring"].ID + "/stats?from=2026-10-26&to=2026-10-26")
	if got := confirmedOf(spring, "sms_en"); got != 1 {
		t.Errorf("SMS deals confirmed after confirmation: got %v, want 1", got)
	}
	if got := confirmedOf(spring, "panel_en"); got != 1 {
		t.Errorf("research panel confirmed after confirmation: got %v, want 1", got)
	}
	after := read()
	for i := range before {
		var x, y map[string]any
		json.Unmarshal([]byte(before[i]), &x)
		json.Unmarshal([]byte(after[i]), &y)
		dropConfirmed(x)
		dropConfirmed(y)
		if diffs := statstest.Diff(mustJSON(y), x); len(diffs) > 0 {
			t.Errorf("a confirmation changed more than confirmed counts in %s:\n%s", reports[i].Path(), strings.Join(diffs, "\n"))
		}
	}

	// Expiry: Lou never confirms, nor Ada her research panel of 25 October,
	// nor Gina her promos of the 26th (nor Bob and Chloe their deals in
	// Kathmandu).
	before = read()
	if n := e.s.Expire(mustTime(t, "2026-11-03T12:00:01Z")); n != 5 {
		t.Errorf("expired: got %d, want 5", n)
	}
	if got := state("lou@example.com", "sms_en"); got != "expired" {
		t.Errorf("Lou's SMS deals after expiry: got %q, want expired", got)
	}
	if got := state("ada@example.com", "panel_en"); got != "expired" {
		t.Errorf("Ada's research panel after expiry: got %q, want expired", got)
	}
	unchanged("an expiry", before)

	// Erasure: Ada disappears from every audience; no figure moves.
	before = read()
	ada := e.s.Brussels.Participants["ada@example.com"]
	e.must(204, e.admin("DELETE", "/api/v1/participants/"+ada, nil))
	for _, optin := range []string{"news_en", "sms_en", "panel_en"} {
		if got := state("ada@example.com", optin); got != "" {
			t.Errorf("after erasure, Ada's %s: got %q, want no longer listed", optin, got)
		}
	}
	unchanged("an erasure", before)
	e.checkLists(e.s.Load(b.ID))
	e.checkLists(e.s.Load(e.s.Kathmandu.ID)) // two deals expired at the same instant
}

// dropConfirmed removes the confirmed counts of a report's opt-ins.
func dropConfirmed(report map[string]any) {
	for _, o := range list(report["optins"]) {
		delete(o, "confirmed")
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestStatsRecategoriseAndMoveZoneOverHTTP re-attributes history with
// PATCH (a subcategory moved to another category, an opt-in given other
// subcategories) and moves the account to another time zone: after each,
// every report equals the recount, and the change shows.
func TestStatsRecategoriseAndMoveZoneOverHTTP(t *testing.T) {
	t.Parallel()
	e := newStatsEnv(t)
	b := e.s.Brussels
	check := func(phase string) map[string]map[string]any {
		t.Helper()
		d := e.s.Load(b.ID)
		out := map[string]map[string]any{}
		for _, r := range everyReport(d) {
			var m map[string]any
			json.Unmarshal(e.checkReport(d, r, true), &m)
			out[r.Path()] = m
		}
		return out
	}
	global := statstest.Request{Report: "global", From: "2025-12-01", To: "2026-12-31"}.Path()
	category := func(reports map[string]map[string]any, key string) string {
		for _, c := range list(reports[global]["categories"]) {
			if c["key"] == key {
				return fmt.Sprintf("%v/%v", c["conversions"], c["displays"])
			}
		}
		return ""
	}
	before := check("before")

	// SMS promotions become partners: the marketing figures lose them.
	e.must(200, e.admin("PATCH", "/api/v1/subcategories/"+b.Subcategories["sms-promos"].ID,
		map[string]any{"category": assent.CategoryPartners}))
	moved := check("after moving sms-promos")
	if category(before, assent.CategoryPartners) == category(moved, assent.CategoryPartners) {
		t.Errorf("partners after moving sms-promos: got %s, unchanged", category(moved, assent.CategoryPartners))
	}

	// The research panel becomes marketing as well.
	e.must(200, e.admin("PATCH", "/api/v1/optins/"+b.Optins["panel_en"].ID,
		map[string]any{"subcategories": []string{"research", "weekly-news"}}))
	check("after giving the panel a second subcategory")

	// Kathmandu's days: a participation at 22:00 UTC moves to the next day.
	e.must(200, e.admin("PATCH", "/api/v1/account", map[string]any{"time_zone": "Asia/Kathmandu"}))
	day := statstest.Request{Report: "global", From: "2026-03-30", To: "2026-03-30"}
	d := e.s.Load(b.ID)
	if d.TimeZone != "Asia/Kathmandu" {
		t.Fatalf("time zone: got %s, want Asia/Kathmandu", d.TimeZone)
	}
	got := e.must(200, e.admin("GET", day.Path(), nil))
	if got.str("time_zone") != "Asia/Kathmandu" {
		t.Errorf("report time zone: got %q, want Asia/Kathmandu", got.str("time_zone"))
	}
	// 30 March in Kathmandu is 29 March 18:15 UTC to 30 March 18:15 UTC:
	// Emma at 21:59:59 and Farid at 22:00 on the 29th, Emma and Gina on the 30th.
	if got.body["participations"] != float64(4) {
		t.Errorf("30 March in Kathmandu: got %v participations, want 4", got.body["participations"])
	}
	e.checkReport(d, day, true)
	check("after moving to Asia/Kathmandu")
}
