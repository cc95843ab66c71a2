package server_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/assentdev/assent"
)

func TestOptinCreate(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.subcategory("weekly-news", "newsletter_marketing")
	e.subcategory("sponsor", "partners")
	body := map[string]any{
		"name":          "  Weekly news and partner offers ",
		"language":      "nl-be",
		"text":          "Ik wil het nieuws ontvangen. Lees ons [privacybeleid](https://example.com/privacy).",
		"info":          "Eén keer per week. [Meer](http://example.com/more)",
		"logo_url":      "https://cdn.example.com/logo.png",
		"display":       "radio",
		"mandatory":     true,
		"double_optin":  true,
		"variable":      "weekly_News_1",
		"subcategories": []string{"weekly-news", "sponsor", "legal"},
	}
	r := e.must(201, e.call(e.keys[assent.RoleMarketer], "POST", "/api/v1/optins", body))
	id := r.str("id")
	if id == "" {
		t.Fatalf("got no id: %s", r.raw)
	}
	want := map[string]any{
		"name":          "Weekly news and partner offers",
		"language":      "nl-BE",
		"text":          body["text"],
		"info":          body["info"],
		"logo_url":      body["logo_url"],
		"display":       "radio",
		"mandatory":     true,
		"double_optin":  true,
		"variable":      "weekly_News_1",
		"subcategories": []any{"legal", "sponsor", "weekly-news"},
		"categories":    []any{"newsletter_marketing", "legal", "partners"},
		"status":        "active",
		"version":       float64(1),
		"answered":      false,
	}
	for k, w := range want {
		if got := r.body[k]; fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s: got %v, want %v", k, got, w)
		}
	}
	if g := e.get("/api/v1/optins/" + id); string(g.raw) != string(r.raw) {
		t.Errorf("GET: got %s, want %s", g.raw, r.raw)
	}
	v := e.get("/api/v1/optins/" + id + "/versions").data()
	if len(v) != 1 {
		t.Fatalf("versions: got %d, want 1", len(v))
	}
	first := v[0].(map[string]any)
	for _, k := range []string{"language", "text", "info", "display", "mandatory", "version"} {
		if fmt.Sprint(first[k]) != fmt.Sprint(want[k]) {
			t.Errorf("version 1 %s: got %v, want %v", k, first[k], want[k])
		}
	}
}

func TestOptinCreateDefaults(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	r := e.must(201, e.admin("POST", "/api/v1/optins", map[string]any{
		"name": "Rules", "language": "fr", "text": "J'accepte le règlement", "subcategories": []string{"legal"}}))
	want := map[string]any{
		"display": "checkbox", "mandatory": false, "double_optin": false, "variable": "", "info": "", "logo_url": "",
		"status": "active", "version": float64(1), "categories": "[legal]", "answered": false,
	}
	for k, w := range want {
		if got := r.body[k]; fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s: got %v, want %v", k, got, w)
		}
	}
}

func TestOptinCreateBoundaries(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	tests := []struct {
		name   string
		change map[string]any
	}{
		{"name of 200 characters", map[string]any{"name": strings.Repeat("ü", 200)}},
		{"text of 5000 characters", map[string]any{"text": strings.Repeat("é", 5000)}},
		{"info of 10000 characters", map[string]any{"info": strings.Repeat("i", 10000)}},
		{"variable of 64 characters", map[string]any{"variable": "_" + strings.Repeat("aZ9", 21)}},
		{"variable of one letter", map[string]any{"variable": "x"}},
		{"language with script and region", map[string]any{"language": "zh-Hant-TW"}},
		{"checkbox", map[string]any{"display": "checkbox"}},
		{"link in text", map[string]any{"text": "See [the rules](https://example.com/rules?a=1#b) and [more](http://x.example)."}},
		{"brackets that are not links", map[string]any{"text": "Pick [one] (or two)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.in(t)
			body := map[string]any{"name": "Opt-in", "language": "en", "text": "I agree", "subcategories": []string{"others"}}
			maps.Copy(body, tt.change)
			r := e.must(201, e.admin("POST", "/api/v1/optins", body))
			for k, v := range tt.change {
				if got := r.body[k]; got != v {
					t.Errorf("%s: got %v, want %v", k, got, v)
				}
			}
		})
	}
}

// validOptin returns a body that creates an opt-in, with change applied.
func validOptin(change map[string]any) map[string]any {
	b := map[string]any{
		"name": "Newsletter", "language": "en", "text": "Send me the newsletter", "info": "Weekly",
		"logo_url": "https://example.com/logo.png", "display": "checkbox", "mandatory": false, "double_optin": false,
		"variable": "newsletter", "subcategories": []string{"newsletter_marketing"},
	}
	maps.Copy(b, change)
	for k, v := range change {
		if v == nil {
			delete(b, k)
		}
	}
	return b
}

func TestOptinCreateInvalid(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	before := e.snapshot("/api/v1/optins")
	tests := []struct {
		name   string
		change map[string]any
		fields []string
	}{
		{"empty name", map[string]any{"name": ""}, []string{"name"}},
		{"blank name", map[string]any{"name": " \t "}, []string{"name"}},
		{"name of 201 characters", map[string]any{"name": strings.Repeat("n", 201)}, []string{"name"}},
		{"no language", map[string]any{"language": nil}, []string{"language"}},
		{"invalid language", map[string]any{"language": "xx-invalid!"}, []string{"language"}},
		{"undetermined language", map[string]any{"language": "und"}, []string{"language"}},
		{"language with a space", map[string]any{"language": "en US"}, []string{"language"}},
		{"empty text", map[string]any{"text": ""}, []string{"text"}},
		{"text of 5001 characters", map[string]any{"text": strings.Repeat("é", 5001)}, []string{"text"}},
		{"javascript link in text", map[string]any{"text": "Read [this](javascript:alert(1))"}, []string{"text"}},
		{"data link in text", map[string]any{"text": "Read [this](data:text/html,hi)"}, []string{"text"}},
		{"relative link in text", map[string]any{"text": "Read [this](/rules)"}, []string{"text"}},
		{"javascript link in info", map[string]any{"info": "[x](JavaScript:alert(1))"}, []string{"info"}},
		{"info of 10001 characters", map[string]any{"info": strings.Repeat("i", 10001)}, []string{"info"}},
		{"http logo", map[string]any{"logo_url": "http://example.com/logo.png"}, []string{"logo_url"}},
		{"logo without host", map[string]any{"logo_url": "https:///logo.png"}, []string{"logo_url"}},
		{"logo not a URL", map[string]any{"logo_url": "logo.png"}, []string{"logo_url"}},
		{"unknown display", map[string]any{"display": "dropdown"}, []string{"display"}},
		{"variable starting with a digit", map[string]any{"variable": "1news"}, []string{"variable"}},
		{"variable with a dash", map[string]any{"variable": "my-news"}, []string{"variable"}},
		{"variable of 65 characters", map[string]any{"variable": strings.Repeat("v", 65)}, []string{"variable"}},
		{"no subcategories", map[string]any{"subcategories": []string{}}, []string{"subcategories"}},
		{"missing subcategories", map[string]any{"subcategories": nil}, []string{"subcategories"}},
		{"unknown subcategory", map[string]any{"subcategories": []string{"legal", "nope"}}, []string{"subcategories"}},
		{"subcategory by category name", map[string]any{"subcategories": []string{"Legal & regulations"}}, []string{"subcategories"}},
		{"subcategory twice", map[string]any{"subcategories": []string{"legal", "legal"}}, []string{"subcategories"}},
		{"several fields", map[string]any{"name": "", "text": "", "display": "x", "logo_url": "ftp://x"},
			[]string{"name", "text", "display", "logo_url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.in(t)
			r := e.must(422, e.admin("POST", "/api/v1/optins", validOptin(tt.change)))
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

func TestOptinDuplicateVariable(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	first := e.must(201, e.admin("POST", "/api/v1/optins", validOptin(nil))).str("id")
	second := e.must(201, e.admin("POST", "/api/v1/optins", validOptin(map[string]any{"variable": "partners"}))).str("id")
	// Opt-ins without a variable do not collide.
	e.optin("en", "legal")
	e.optin("en", "legal")
	before := e.snapshot("/api/v1/optins", "/api/v1/optins/"+second+"/versions")

	r := e.must(409, e.admin("POST", "/api/v1/optins", validOptin(map[string]any{"name": "Again"})))
	if got := r.errorCode(); got != "conflict" {
		t.Errorf("create: got code %q, want conflict", got)
	}
	if r.errorField("variable") == "" {
		t.Errorf("create: got %s, want a problem for variable", r.raw)
	}
	r = e.must(409, e.admin("PATCH", "/api/v1/optins/"+second, map[string]any{"variable": "newsletter", "text": "changed"}))
	if r.errorField("variable") == "" {
		t.Errorf("update: got %s, want a problem for variable", r.raw)
	}
	e.unchanged(before)

	// An opt-in may keep its own variable; another account may use it.
	e.must(200, e.admin("PATCH", "/api/v1/optins/"+first, map[string]any{"variable": "newsletter", "name": "Kept"}))
	e.must(201, e.call(e.otherKey, "POST", "/api/v1/optins", validOptin(nil)))
	// Clearing a variable frees it.
	e.must(200, e.admin("PATCH", "/api/v1/optins/"+first, map[string]any{"variable": ""}))
	e.must(200, e.admin("PATCH", "/api/v1/optins/"+second, map[string]any{"variable": "newsletter"}))
}

func TestOptinVariableUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	var wg sync.WaitGroup
	got := make([]int, 10)
	for i := range got {
		wg.Go(func() { got[i] = e.admin("POST", "/api/v1/optins", validOptin(nil)).status })
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range got {
		count[s]++
	}
	if count[201] != 1 || count[409] != 9 {
		t.Errorf("got statuses %v, want one 201 and nine 409", count)
	}
}

func TestOptinVersions(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.subcategory("news", "newsletter_marketing")
	id := e.must(201, e.admin("POST", "/api/v1/optins", validOptin(map[string]any{"text": "Version 1", "language": "en"}))).str("id")
	steps := []struct {
		name    string
		patch   map[string]any
		version int
	}{
		{"text", map[string]any{"text": "Version 2"}, 2},
		{"same text", map[string]any{"text": "Version 2"}, 2},
		{"name", map[string]any{"name": "Renamed"}, 2},
		{"variable", map[string]any{"variable": "renamed"}, 2},
		{"subcategories", map[string]any{"subcategories": []string{"news", "partners"}}, 2},
		{"double opt-in", map[string]any{"double_optin": true}, 2},
		{"logo", map[string]any{"logo_url": "https://example.com/other.png"}, 2},
		{"info", map[string]any{"info": "More info"}, 3},
		{"language", map[string]any{"language": "fr"}, 4},
		{"same language spelled otherwise", map[string]any{"language": "FR"}, 4},
		{"display", map[string]any{"display": "radio"}, 5},
		{"mandatory", map[string]any{"mandatory": true}, 6},
		{"archive", map[string]any{"status": "archived"}, 6},
		{"unarchive", map[string]any{"status": "active"}, 6},
		{"text and info at once", map[string]any{"text": "Version 7", "info": ""}, 7},
		{"nothing", map[string]any{}, 7},
	}
	for _, s := range steps {
		r := e.must(200, e.admin("PATCH", "/api/v1/optins/"+id, s.patch))
		if got := int(r.body["version"].(float64)); got != s.version {
			t.Errorf("after %s: got version %d, want %d", s.name, got, s.version)
		}
		for k, v := range s.patch {
			got, want := fmt.Sprint(r.body[k]), fmt.Sprint(v)
			if k == "language" {
				want = "fr"
			}
			if got != want {
				t.Errorf("after %s: got %s %s, want %s", s.name, k, got, want)
			}
		}
	}
	want := []string{
		"1 en Version 1 Weekly checkbox false",
		"2 en Version 2 Weekly checkbox false",
		"3 en Version 2 More info checkbox false",
		"4 fr Version 2 More info checkbox false",
		"5 fr Version 2 More info radio false",
		"6 fr Version 2 More info radio true",
		"7 fr Version 7  radio true",
	}
	var got []string
	for _, item := range e.get("/api/v1/optins/" + id + "/versions").data() {
		v := item.(map[string]any)
		got = append(got, fmt.Sprintf("%v %v %v %v %v %v", v["version"], v["language"], v["text"], v["info"], v["display"], v["mandatory"]))
		if v["created_at"] == nil {
			t.Errorf("version %v: got no created_at", v["version"])
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("versions:\ngot  %q\nwant %q", got, want)
	}
	r := e.get("/api/v1/optins/" + id)
	if got := r.strs("categories"); !slices.Equal(got, []string{"newsletter_marketing", "partners"}) {
		t.Errorf("categories: got %v, want [newsletter_marketing partners]", got)
	}
}

func TestOptinUpdateInvalid(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	id := e.must(201, e.admin("POST", "/api/v1/optins", validOptin(nil))).str("id")
	before := e.snapshot("/api/v1/optins/"+id, "/api/v1/optins/"+id+"/versions")
	tests := []struct {
		name  string
		patch map[string]any
		field string
	}{
		{"empty name", map[string]any{"name": ""}, "name"},
		{"invalid language", map[string]any{"language": "xx-invalid!"}, "language"},
		{"empty language", map[string]any{"language": ""}, "language"},
		{"empty text", map[string]any{"text": ""}, "text"},
		{"long text", map[string]any{"text": strings.Repeat("t", 5001)}, "text"},
		{"javascript link", map[string]any{"text": "[x](javascript:void(0))"}, "text"},
		{"http logo", map[string]any{"logo_url": "http://example.com/l.png"}, "logo_url"},
		{"unknown display", map[string]any{"display": "toggle"}, "display"},
		{"empty display", map[string]any{"display": ""}, "display"},
		{"bad variable", map[string]any{"variable": "a b"}, "variable"},
		{"no subcategories", map[string]any{"subcategories": []string{}}, "subcategories"},
		{"unknown subcategory", map[string]any{"subcategories": []string{"ghost"}}, "subcategories"},
		{"unknown status", map[string]any{"status": "deleted"}, "status"},
		{"good text but bad display", map[string]any{"text": "New text", "display": "x"}, "display"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.in(t)
			r := e.must(422, e.admin("PATCH", "/api/v1/optins/"+id, tt.patch))
			if r.errorField(tt.field) == "" {
				t.Errorf("fields: got %s, want a problem for %s", r.raw, tt.field)
			}
		})
	}
	e.unchanged(before)
}

func TestOptinList(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.subcategory("news", "newsletter_marketing")
	enNews := e.optin("en", "news")
	frLegal := e.optin("fr", "legal")
	nlBoth := e.optin("nl-BE", "partners", "news")
	enArchived := e.optin("en", "others")
	e.must(200, e.admin("PATCH", "/api/v1/optins/"+enArchived, map[string]any{"status": "archived"}))
	e.must(201, e.call(e.otherKey, "POST", "/api/v1/optins", map[string]any{
		"name": "Theirs", "language": "en", "text": "x", "subcategories": []string{"legal"}}))

	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{enNews, frLegal, nlBoth, enArchived}},
		{"?status=active", []string{enNews, frLegal, nlBoth}},
		{"?status=archived", []string{enArchived}},
		{"?language=en", []string{enNews, enArchived}},
		{"?language=nl-be", []string{nlBoth}},
		{"?language=de", nil},
		{"?category=newsletter_marketing", []string{enNews, nlBoth}},
		{"?category=partners", []string{nlBoth}},
		{"?category=legal", []string{frLegal}},
		{"?language=en&status=active&category=newsletter_marketing", []string{enNews}},
		{"?language=en&category=others", []string{enArchived}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			e := e.in(t)
			r := e.must(200, e.call(e.keys[assent.RoleObserver], "GET", "/api/v1/optins"+tt.query, nil))
			if got := r.ids(); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if r.body["next_cursor"] != nil {
				t.Errorf("next_cursor: got %v, want null", r.body["next_cursor"])
			}
			if data, ok := r.body["data"].([]any); !ok || data == nil {
				t.Errorf("data: got %s, want an array", r.raw)
			}
		})
	}
	bad := []struct{ query, field string }{
		{"?status=deleted", "status"},
		{"?language=xx-invalid!", "language"},
		{"?category=marketing", "category"},
		{"?category=nope&status=nope", "category"},
	}
	for _, tt := range bad {
		t.Run(tt.query, func(t *testing.T) {
			e := e.in(t)
			r := e.must(422, e.admin("GET", "/api/v1/optins"+tt.query, nil))
			if r.errorField(tt.field) == "" {
				t.Errorf("fields: got %s, want a problem for %s", r.raw, tt.field)
			}
		})
	}
}

func TestOptinListPagination(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	var created []string
	for range 7 {
		created = append(created, e.optin("en", "legal"))
	}
	frID := e.optin("fr", "legal")
	all := e.get("/api/v1/optins?limit=1000&language=en").ids()
	if !slices.Equal(all, created) {
		t.Fatalf("got %v, want %v", all, created)
	}
	for _, limit := range []int{1, 2, 3, 6, 7, 8, 50} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			e := e.in(t)
			var walked []string
			cursor := ""
			for pages := 1; ; pages++ {
				path := fmt.Sprintf("/api/v1/optins?language=en&limit=%d", limit)
				if cursor != "" {
					path += "&cursor=" + cursor
				}
				r := e.get(path)
				ids := r.ids()
				if len(ids) > limit {
					t.Fatalf("page %d: got %d items, want at most %d", pages, len(ids), limit)
				}
				walked = append(walked, ids...)
				next, _ := r.body["next_cursor"].(string)
				if next == "" {
					if r.body["next_cursor"] != nil {
						t.Errorf("last page: got next_cursor %v, want null", r.body["next_cursor"])
					}
					break
				}
				if len(ids) != limit {
					t.Errorf("page %d: got %d items, want %d before the last page", pages, len(ids), limit)
				}
				if pages > 10 {
					t.Fatal("got more than 10 pages")
				}
				cursor = next
			}
			if !slices.Equal(walked, all) {
				t.Errorf("pages: got %v, want %v", walked, all)
			}
			if slices.Contains(walked, frID) {
				t.Errorf("pages: got %s, which the filter excludes", frID)
			}
		})
	}
	if got := len(e.get("/api/v1/optins").ids()); got != 8 {
		t.Errorf("default limit: got %d items, want 8", got)
	}
	bad := []struct{ query, field string }{
		{"?limit=0", "limit"},
		{"?limit=-1", "limit"},
		{"?limit=1001", "limit"},
		{"?limit=ten", "limit"},
		{"?limit=1.5", "limit"},
		{"?cursor=!!!", "cursor"},
		{"?cursor=" + strings.Repeat("%25", 3), "cursor"},
	}
	for _, tt := range bad {
		t.Run(tt.query, func(t *testing.T) {
			e := e.in(t)
			r := e.must(422, e.admin("GET", "/api/v1/optins"+tt.query, nil))
			if r.errorField(tt.field) == "" {
				t.Errorf("fields: got %s, want a problem for %s", r.raw, tt.field)
			}
		})
	}
}

func TestOptinDelete(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	id := e.optin("en", "legal")
	r := e.must(204, e.call(e.keys[assent.RoleMarketer], "DELETE", "/api/v1/optins/"+id, nil))
	if len(r.raw) != 0 {
		t.Errorf("body: got %s, want none", r.raw)
	}
	for _, path := range []string{"/api/v1/optins/" + id, "/api/v1/optins/" + id + "/versions"} {
		if got := e.admin("GET", path, nil); got.status != 404 || got.errorCode() != "not_found" {
			t.Errorf("GET %s: got %d %s, want 404 not_found", path, got.status, got.raw)
		}
	}
	e.must(404, e.admin("DELETE", "/api/v1/optins/"+id, nil))
	e.must(404, e.admin("PATCH", "/api/v1/optins/"+id, map[string]any{"name": "x"}))
	if ids := e.get("/api/v1/optins").ids(); len(ids) != 0 {
		t.Errorf("list: got %v, want none", ids)
	}
}

func TestOptinDeleteOnCampaignArchives(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.subcategory("news", "newsletter_marketing")
	id := e.optin("en", "news")
	other := e.optin("en", "legal")
	campaign := e.campaign("en", other, id)
	versions := e.snapshot("/api/v1/optins/" + id + "/versions")

	r := e.must(200, e.admin("DELETE", "/api/v1/optins/"+id, nil))
	if got := r.str("status"); got != "archived" {
		t.Errorf("status: got %q, want archived", got)
	}
	if got := r.str("id"); got != id {
		t.Errorf("id: got %q, want %s", got, id)
	}
	if got := e.get("/api/v1/optins/" + id).str("status"); got != "archived" {
		t.Errorf("GET status: got %q, want archived", got)
	}
	e.unchanged(versions)
	// The form still shows it; the subcategory is still in use.
	if got := e.get("/api/v1/campaigns/" + campaign).strs("optins"); !slices.Equal(got, []string{other, id}) {
		t.Errorf("campaign opt-ins: got %v, want %v", got, []string{other, id})
	}
	subs := e.get("/api/v1/subcategories").data()
	newsID := subs[len(subs)-1].(map[string]any)["id"].(string)
	e.must(409, e.admin("DELETE", "/api/v1/subcategories/"+newsID, nil))
	// Deleting it again keeps it archived.
	if got := e.must(200, e.admin("DELETE", "/api/v1/optins/"+id, nil)).str("status"); got != "archived" {
		t.Errorf("second DELETE: got status %q, want archived", got)
	}
}

func TestOptinOfAnotherAccount(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	id := e.must(201, e.call(e.otherKey, "POST", "/api/v1/optins", validOptin(nil))).str("id")
	theirs := func() string {
		a := e.must(200, e.call(e.otherKey, "GET", "/api/v1/optins/"+id, nil)).raw
		b := e.must(200, e.call(e.otherKey, "GET", "/api/v1/optins/"+id+"/versions", nil)).raw
		return string(a) + string(b)
	}
	was := theirs()
	tests := []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/optins/" + id, nil},
		{"GET", "/api/v1/optins/" + id + "/versions", nil},
		{"PATCH", "/api/v1/optins/" + id, map[string]any{"text": "Mine now"}},
		{"PATCH", "/api/v1/optins/" + id, map[string]any{"status": "archived"}},
		{"DELETE", "/api/v1/optins/" + id, nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			e := e.in(t)
			r := e.must(404, e.admin(tt.method, tt.path, tt.body))
			if got := r.errorCode(); got != "not_found" {
				t.Errorf("code: got %q, want not_found", got)
			}
		})
	}
	if now := theirs(); now != was {
		t.Errorf("their opt-in: got %s, want %s", now, was)
	}
	if ids := e.get("/api/v1/optins").ids(); len(ids) != 0 {
		t.Errorf("acme's list: got %v, want none", ids)
	}
}

func TestOptinLanguageOnCampaign(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	id := e.optin("en", "legal")
	campaign := e.campaign("en", id)
	before := e.snapshot("/api/v1/optins/"+id, "/api/v1/optins/"+id+"/versions")

	r := e.must(409, e.admin("PATCH", "/api/v1/optins/"+id, map[string]any{"language": "fr", "text": "J'accepte"}))
	if got := r.errorCode(); got != "conflict" {
		t.Errorf("code: got %q, want conflict", got)
	}
	if r.errorField("language") == "" {
		t.Errorf("fields: got %s, want a problem for language", r.raw)
	}
	e.unchanged(before)

	// The same language spelled otherwise is no change.
	r = e.must(200, e.admin("PATCH", "/api/v1/optins/"+id, map[string]any{"language": "EN"}))
	if got := r.str("language"); got != "en" {
		t.Errorf("language: got %q, want en", got)
	}
	// Once off the form, the language may change.
	e.must(200, e.admin("PATCH", "/api/v1/campaigns/"+campaign, map[string]any{"optins": []string{}}))
	r = e.must(200, e.admin("PATCH", "/api/v1/optins/"+id, map[string]any{"language": "fr"}))
	if got, want := r.str("language")+fmt.Sprint(r.body["version"]), "fr2"; got != want {
		t.Errorf("language and version: got %s, want %s", got, want)
	}
}

func TestArchivedOptinCannotBePlaced(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	active := e.optin("en", "legal")
	archived := e.optin("en", "others")
	placed := e.optin("en", "partners")
	campaign := e.campaign("en", placed)
	e.must(200, e.admin("PATCH", "/api/v1/optins/"+archived, map[string]any{"status": "archived"}))
	e.must(200, e.admin("DELETE", "/api/v1/optins/"+placed, nil)) // on a form: archived

	before := e.snapshot("/api/v1/campaigns", "/api/v1/campaigns/"+campaign)
	r := e.must(422, e.admin("POST", "/api/v1/campaigns", map[string]any{
		"name": "New", "language": "en", "optins": []string{active, archived}}))
	if got := r.errorField("optins[1]"); !strings.Contains(got, "archived") {
		t.Errorf("optins[1]: got %q, want it to say archived", got)
	}
	if got := r.errorField("optins[0]"); got != "" {
		t.Errorf("optins[0]: got %q, want no problem", got)
	}
	r = e.must(422, e.admin("PATCH", "/api/v1/campaigns/"+campaign, map[string]any{
		"optins": []string{placed, archived}}))
	if r.errorField("optins[1]") == "" {
		t.Errorf("PATCH: got %s, want a problem for optins[1]", r.raw)
	}
	e.unchanged(before)

	// An opt-in archived while on a form may stay there and move.
	r = e.must(200, e.admin("PATCH", "/api/v1/campaigns/"+campaign, map[string]any{"optins": []string{active, placed}}))
	if got := r.strs("optins"); !slices.Equal(got, []string{active, placed}) {
		t.Errorf("optins: got %v, want %v", got, []string{active, placed})
	}
	// But once removed, it cannot come back.
	e.must(200, e.admin("PATCH", "/api/v1/campaigns/"+campaign, map[string]any{"optins": []string{active}}))
	e.must(422, e.admin("PATCH", "/api/v1/campaigns/"+campaign, map[string]any{"optins": []string{active, placed}}))
	// Unarchived, it can.
	e.must(200, e.admin("PATCH", "/api/v1/optins/"+archived, map[string]any{"status": "active"}))
	e.must(201, e.admin("POST", "/api/v1/campaigns", map[string]any{
		"name": "New", "language": "en", "optins": []string{active, archived}}))
}
