package server_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/assentdev/assent"
)

func TestCampaignCreate(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	o1 := e.optin("fr-BE", "legal")
	o2 := e.optin("fr-be", "others")
	o3 := e.optin("fr-BE", "partners")
	body := map[string]any{
		"name":      "  Summer contest ",
		"language":  "FR-be",
		"type":      "contest",
		"starts_at": "2026-06-01T09:00:00+02:00",
		"ends_at":   "2026-08-31T23:59:59Z",
		"fields":    map[string]any{"first_name": "required", "last_name": "hidden"},
		"optins":    []string{o2, o1, o3},
	}
	r := e.must(201, e.call(e.keys[assent.RoleEditor], "POST", "/api/v1/campaigns", body))
	id := r.str("id")
	if id == "" {
		t.Fatalf("got no id: %s", r.raw)
	}
	want := map[string]any{
		"name":      "Summer contest",
		"language":  "fr-BE",
		"type":      "contest",
		"starts_at": "2026-06-01T07:00:00Z",
		"ends_at":   "2026-08-31T23:59:59Z",
		"fields":    map[string]any{"first_name": "required", "last_name": "hidden"},
		"optins":    []any{o2, o1, o3},
		"status":    "active",
		"form_url":  "https://assent.example/f/" + id,
	}
	for k, w := range want {
		if got := r.body[k]; fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s: got %v, want %v", k, got, w)
		}
	}
	if g := e.get("/api/v1/campaigns/" + id); string(g.raw) != string(r.raw) {
		t.Errorf("GET: got %s, want %s", g.raw, r.raw)
	}
}

func TestCampaignCreateDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body map[string]any
		want map[string]any
	}{
		{"nothing but name and language", map[string]any{"name": "Sign-up", "language": "en"}, map[string]any{
			"type": "other", "fields": map[string]any{"first_name": "optional", "last_name": "optional"},
			"optins": []any{}, "starts_at": nil, "ends_at": nil, "status": "active"}},
		{"one field given", map[string]any{"name": "Quiz", "language": "en", "type": "quiz",
			"fields": map[string]any{"last_name": "required"}}, map[string]any{
			"type": "quiz", "fields": map[string]any{"first_name": "optional", "last_name": "required"}}},
		{"only a start", map[string]any{"name": "Poll", "language": "en", "type": "poll",
			"starts_at": "2026-01-01T00:00:00Z"}, map[string]any{"starts_at": "2026-01-01T00:00:00Z", "ends_at": nil}},
		{"empty strings read as the defaults", map[string]any{"name": "Sign-up", "language": "en", "type": "",
			"fields": map[string]any{"first_name": "", "last_name": ""}}, map[string]any{
			"type": "other", "fields": map[string]any{"first_name": "optional", "last_name": "optional"}}},
		{"null times", map[string]any{"name": "Poll", "language": "en", "starts_at": nil, "ends_at": nil},
			map[string]any{"starts_at": nil, "ends_at": nil}},
		{"fractional seconds", map[string]any{"name": "Survey", "language": "en", "type": "survey",
			"ends_at": "2026-01-01T00:00:00.5Z"}, map[string]any{"ends_at": "2026-01-01T00:00:00.5Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			r := e.must(201, e.admin("POST", "/api/v1/campaigns", tt.body))
			for k, w := range tt.want {
				if got := r.body[k]; fmt.Sprint(got) != fmt.Sprint(w) {
					t.Errorf("%s: got %v, want %v", k, got, w)
				}
			}
		})
	}
}

func TestCampaignTypes(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	for _, typ := range assent.CampaignTypes {
		r := e.must(201, e.admin("POST", "/api/v1/campaigns", map[string]any{"name": typ, "language": "en", "type": typ}))
		if got := r.str("type"); got != typ {
			t.Errorf("type: got %q, want %q", got, typ)
		}
	}
}

func TestCampaignCreateInvalid(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	en := e.optin("en", "legal")
	en2 := e.optin("en", "others")
	fr := e.optin("fr", "legal")
	archived := e.optin("en", "partners")
	e.must(200, e.admin("PATCH", "/api/v1/optins/"+archived, map[string]any{"status": "archived"}))
	theirs := e.must(201, e.call(e.otherKey, "POST", "/api/v1/optins", map[string]any{
		"name": "Theirs", "language": "en", "text": "x", "subcategories": []string{"legal"}})).str("id")
	before := e.snapshot("/api/v1/campaigns")
	tests := []struct {
		name   string
		change map[string]any
		fields []string
	}{
		{"empty name", map[string]any{"name": ""}, []string{"name"}},
		{"name of 201 characters", map[string]any{"name": strings.Repeat("c", 201)}, []string{"name"}},
		{"no language", map[string]any{"language": nil}, []string{"language"}},
		{"invalid language", map[string]any{"language": "xx-invalid!"}, []string{"language"}},
		{"unknown type", map[string]any{"type": "webinar"}, []string{"type"}},
		{"bad first name mode", map[string]any{"fields": map[string]any{"first_name": "mandatory"}}, []string{"fields.first_name"}},
		{"bad last name mode", map[string]any{"fields": map[string]any{"last_name": "Hidden"}}, []string{"fields.last_name"}},
		{"date without time", map[string]any{"starts_at": "2026-12-01"}, []string{"starts_at"}},
		{"time without zone", map[string]any{"starts_at": "2026-12-01T09:00:00"}, []string{"starts_at"}},
		{"words", map[string]any{"ends_at": "tomorrow"}, []string{"ends_at"}},
		{"day first", map[string]any{"ends_at": "01/12/2026"}, []string{"ends_at"}},
		{"empty time", map[string]any{"ends_at": ""}, []string{"ends_at"}},
		{"ends before it starts", map[string]any{"starts_at": "2026-12-02T00:00:00Z", "ends_at": "2026-12-01T00:00:00Z"},
			[]string{"ends_at"}},
		{"ends as it starts", map[string]any{"starts_at": "2026-12-01T10:00:00+01:00", "ends_at": "2026-12-01T09:00:00Z"},
			[]string{"ends_at"}},
		{"status on creation", map[string]any{"status": "active"}, []string{"status"}},
		{"opt-in of another language", map[string]any{"optins": []string{en, fr}}, []string{"optins[1]"}},
		{"unknown opt-in", map[string]any{"optins": []string{"opt_doesnotexist", en}}, []string{"optins[0]"}},
		{"opt-in of another account", map[string]any{"optins": []string{en, en2, theirs}}, []string{"optins[2]"}},
		{"archived opt-in", map[string]any{"optins": []string{archived}}, []string{"optins[0]"}},
		{"opt-in twice", map[string]any{"optins": []string{en, en2, en}}, []string{"optins"}},
		{"empty opt-in id", map[string]any{"optins": []string{""}}, []string{"optins[0]"}},
		{"several problems", map[string]any{"name": "", "type": "x", "optins": []string{fr, en}},
			[]string{"name", "type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.in(t)
			body := map[string]any{"name": "Contest", "language": "en", "type": "contest", "optins": []string{en}}
			maps.Copy(body, tt.change)
			for k, v := range tt.change {
				if v == nil {
					delete(body, k)
				}
			}
			r := e.must(422, e.admin("POST", "/api/v1/campaigns", body))
			if got := r.errorCode(); got != "invalid" {
				t.Errorf("code: got %q, want invalid", got)
			}
			for _, f := range tt.fields {
				if r.errorField(f) == "" {
					t.Errorf("fields: got %s, want a problem for %s", r.raw, f)
				}
			}
		})
	}
	e.unchanged(before)
}

func TestCampaignTooManyOptins(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	var ids []string
	for range 51 {
		ids = append(ids, e.optin("en", "legal"))
	}
	r := e.must(422, e.admin("POST", "/api/v1/campaigns", map[string]any{"name": "Big", "language": "en", "optins": ids}))
	if r.errorField("optins") == "" {
		t.Errorf("fields: got %s, want a problem for optins", r.raw)
	}
	r = e.must(201, e.admin("POST", "/api/v1/campaigns", map[string]any{"name": "Big", "language": "en", "optins": ids[:50]}))
	if got := r.strs("optins"); !slices.Equal(got, ids[:50]) {
		t.Errorf("optins: got %v, want the 50 in order", got)
	}
}

// An opt-in id of another account is answered exactly like an id that does
// not exist, so that nobody learns that it does.
func TestCampaignDoesNotRevealOptins(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	theirs := e.must(201, e.call(e.otherKey, "POST", "/api/v1/optins", map[string]any{
		"name": "Their secret opt-in", "language": "en", "text": "x", "subcategories": []string{"legal"}})).str("id")
	missing := "opt_06h17sx5t6qg1kbcexzqxhvq44"
	answer := func(id string) string {
		r := e.must(422, e.admin("POST", "/api/v1/campaigns", map[string]any{"name": "C", "language": "fr", "optins": []string{id}}))
		return strings.ReplaceAll(r.errorMessage()+" "+r.errorField("optins[0]"), id, "ID")
	}
	if a, b := answer(theirs), answer(missing); a != b {
		t.Errorf("another account's opt-in: got %q, want the answer for a missing one, %q", a, b)
	}
	if a := answer(theirs); strings.Contains(a, "secret") || strings.Contains(a, "language") {
		t.Errorf("got %q, want nothing about the other account's opt-in", a)
	}
}

func TestCampaignUpdate(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	o1, o2, o3 := e.optin("en", "legal"), e.optin("en", "others"), e.optin("en", "partners")
	r := e.must(201, e.admin("POST", "/api/v1/campaigns", map[string]any{
		"name": "Contest", "language": "en", "type": "contest",
		"starts_at": "2026-06-01T00:00:00Z", "ends_at": "2026-07-01T00:00:00Z",
		"fields": map[string]any{"first_name": "required", "last_name": "required"}, "optins": []string{o1, o2, o3}}))
	id := r.str("id")
	steps := []struct {
		name  string
		role  assent.Role
		patch map[string]any
		want  map[string]any
	}{
		{"reorder", assent.RoleEditor, map[string]any{"optins": []string{o3, o1, o2}},
			map[string]any{"optins": []any{o3, o1, o2}, "name": "Contest"}},
		{"remove one", assent.RoleMarketer, map[string]any{"optins": []string{o1, o2}},
			map[string]any{"optins": []any{o1, o2}}},
		{"clear ends_at", assent.RoleAdmin, map[string]any{"ends_at": nil},
			map[string]any{"ends_at": nil, "starts_at": "2026-06-01T00:00:00Z"}},
		{"move starts_at", assent.RoleEditor, map[string]any{"starts_at": "2026-05-01T12:00:00-02:00"},
			map[string]any{"starts_at": "2026-05-01T14:00:00Z", "optins": []any{o1, o2}}},
		{"one name field", assent.RoleEditor, map[string]any{"fields": map[string]any{"last_name": "optional"}},
			map[string]any{"fields": map[string]any{"first_name": "required", "last_name": "optional"}}},
		{"rename and retype", assent.RoleEditor, map[string]any{"name": " Quiz ", "type": "quiz"},
			map[string]any{"name": "Quiz", "type": "quiz", "language": "en"}},
		{"nothing", assent.RoleEditor, map[string]any{}, map[string]any{"name": "Quiz", "status": "active"}},
		{"archive", assent.RoleEditor, map[string]any{"status": "archived"}, map[string]any{"status": "archived"}},
		{"unarchive", assent.RoleAdmin, map[string]any{"status": "active"}, map[string]any{"status": "active"}},
		{"empty the form and change language", assent.RoleAdmin, map[string]any{"optins": []string{}, "language": "de-AT"},
			map[string]any{"optins": []any{}, "language": "de-AT"}},
	}
	for _, s := range steps {
		r := e.must(200, e.call(e.keys[s.role], "PATCH", "/api/v1/campaigns/"+id, s.patch))
		g := e.get("/api/v1/campaigns/" + id)
		if string(g.raw) != string(r.raw) {
			t.Errorf("after %s: GET got %s, want %s", s.name, g.raw, r.raw)
		}
		for k, w := range s.want {
			if got := r.body[k]; fmt.Sprint(got) != fmt.Sprint(w) {
				t.Errorf("after %s: %s: got %v, want %v", s.name, k, got, w)
			}
		}
		if got := r.str("form_url"); got != "https://assent.example/f/"+id {
			t.Errorf("after %s: form_url: got %q", s.name, got)
		}
	}
}

func TestCampaignUpdateInvalid(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	o1, o2 := e.optin("en", "legal"), e.optin("en", "others")
	fr := e.optin("fr", "legal")
	id := e.must(201, e.admin("POST", "/api/v1/campaigns", map[string]any{
		"name": "Contest", "language": "en", "starts_at": "2026-06-01T00:00:00Z", "optins": []string{o1, o2}})).str("id")
	before := e.snapshot("/api/v1/campaigns/"+id, "/api/v1/campaigns")
	tests := []struct {
		name  string
		patch map[string]any
		field string
	}{
		{"ends before the existing start", map[string]any{"ends_at": "2026-05-01T00:00:00Z"}, "ends_at"},
		{"start after the end", map[string]any{"starts_at": "2026-08-01T00:00:00Z", "ends_at": "2026-07-01T00:00:00Z"}, "ends_at"},
		{"bad time", map[string]any{"starts_at": "June 1st"}, "starts_at"},
		{"language of the opt-ins changed", map[string]any{"language": "fr"}, "optins[0]"},
		{"opt-in of another language", map[string]any{"optins": []string{o1, fr}}, "optins[1]"},
		{"unknown opt-in", map[string]any{"optins": []string{"nope"}}, "optins[0]"},
		{"duplicate opt-in", map[string]any{"optins": []string{o1, o1}}, "optins"},
		{"empty name", map[string]any{"name": ""}, "name"},
		{"bad type", map[string]any{"type": "game"}, "type"},
		{"bad status", map[string]any{"status": "paused"}, "status"},
		{"bad field mode", map[string]any{"fields": map[string]any{"first_name": "yes"}}, "fields.first_name"},
		{"empty field mode", map[string]any{"fields": map[string]any{"last_name": ""}}, "fields.last_name"},
		{"empty type", map[string]any{"type": ""}, "type"},
		{"bad language", map[string]any{"language": "xx-invalid!"}, "language"},
		{"good name, bad opt-in", map[string]any{"name": "Renamed", "optins": []string{fr}}, "optins[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.in(t)
			r := e.must(422, e.admin("PATCH", "/api/v1/campaigns/"+id, tt.patch))
			if r.errorField(tt.field) == "" {
				t.Errorf("fields: got %s, want a problem for %s", r.raw, tt.field)
			}
		})
	}
	e.unchanged(before)
}

func TestCampaignList(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	var created []string
	for range 5 {
		created = append(created, e.campaign("en"))
	}
	e.must(201, e.call(e.otherKey, "POST", "/api/v1/campaigns", map[string]any{"name": "Theirs", "language": "en"}))
	all := e.must(200, e.call(e.keys[assent.RoleObserver], "GET", "/api/v1/campaigns", nil))
	if !slices.Equal(all.ids(), created) {
		t.Fatalf("got %v, want %v", all.ids(), created)
	}
	if all.body["next_cursor"] != nil {
		t.Errorf("next_cursor: got %v, want null", all.body["next_cursor"])
	}
	for _, item := range all.data() {
		c := item.(map[string]any)
		if c["form_url"] != "https://assent.example/f/"+c["id"].(string) {
			t.Errorf("form_url: got %v for %v", c["form_url"], c["id"])
		}
	}
	var walked []string
	cursor := ""
	for pages := 1; pages <= 5; pages++ {
		r := e.get("/api/v1/campaigns?limit=2&cursor=" + cursor)
		walked = append(walked, r.ids()...)
		next, _ := r.body["next_cursor"].(string)
		if next == "" {
			if pages != 3 {
				t.Errorf("got %d pages, want 3", pages)
			}
			break
		}
		cursor = next
	}
	if !slices.Equal(walked, all.ids()) {
		t.Errorf("pages: got %v, want %v", walked, all.ids())
	}
	for _, q := range []string{"?limit=0", "?limit=1001", "?limit=x", "?cursor=%20"} {
		e.must(422, e.admin("GET", "/api/v1/campaigns"+q, nil))
	}

}

func TestCampaignOfAnotherAccount(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	id := e.must(201, e.call(e.otherKey, "POST", "/api/v1/campaigns", map[string]any{"name": "Theirs", "language": "en"})).str("id")
	theirs := func() string {
		return string(e.must(200, e.call(e.otherKey, "GET", "/api/v1/campaigns/"+id, nil)).raw)
	}
	was := theirs()
	for _, tt := range []struct {
		method string
		body   any
	}{
		{"GET", nil},
		{"PATCH", map[string]any{"name": "Mine"}},
		{"PATCH", map[string]any{"status": "archived"}},
	} {
		r := e.must(404, e.admin(tt.method, "/api/v1/campaigns/"+id, tt.body))
		if got := r.errorCode(); got != "not_found" {
			t.Errorf("%s: got code %q, want not_found", tt.method, got)
		}
	}
	if now := theirs(); now != was {
		t.Errorf("their campaign: got %s, want %s", now, was)
	}
	e.must(404, e.admin("GET", "/api/v1/campaigns/cmp_doesnotexist", nil))
}

// Times are kept to the microsecond; the answer to a write must say what
// was stored, not what was sent.
func TestCampaignTimePrecision(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	r := e.must(201, e.admin("POST", "/api/v1/campaigns", map[string]any{"name": "C", "language": "en",
		"starts_at": "2026-01-01T00:00:00.123456789Z", "ends_at": "2026-01-01T00:00:00.1234579Z"}))
	id := r.str("id")
	if g := e.get("/api/v1/campaigns/" + id); string(g.raw) != string(r.raw) {
		t.Errorf("create: GET got %s, want the answer %s", g.raw, r.raw)
	}
	if got := r.str("starts_at"); got != "2026-01-01T00:00:00.123456Z" {
		t.Errorf("starts_at: got %s, want 2026-01-01T00:00:00.123456Z", got)
	}
	r = e.must(200, e.admin("PATCH", "/api/v1/campaigns/"+id, map[string]any{"ends_at": "2027-01-01T00:00:00.999999999+01:00"}))
	if g := e.get("/api/v1/campaigns/" + id); string(g.raw) != string(r.raw) {
		t.Errorf("update: GET got %s, want the answer %s", g.raw, r.raw)
	}
	if got := r.str("ends_at"); got != "2026-12-31T23:00:00.999999Z" {
		t.Errorf("ends_at: got %s, want 2026-12-31T23:00:00.999999Z", got)
	}
	// Within the same microsecond, the end is not after the start.
	e.must(422, e.admin("POST", "/api/v1/campaigns", map[string]any{"name": "C", "language": "en",
		"starts_at": "2026-01-01T00:00:00.0000001Z", "ends_at": "2026-01-01T00:00:00.0000009Z"}))
}
