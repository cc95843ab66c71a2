package server_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/assentdev/assent"
)

func TestCategoryList(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.subcategory("weekly-news", "newsletter_marketing")
	e.subcategory("sponsor", "partners")
	e.subcategory("daily-news", "newsletter_marketing")

	r := e.must(200, e.call(e.keys[assent.RoleObserver], "GET", "/api/v1/categories", nil))
	want := []struct {
		key, name string
		values    []string // subcategory values, built-in first
	}{
		{"newsletter_marketing", "Newsletter & marketing", []string{"newsletter_marketing", "weekly-news", "daily-news"}},
		{"legal", "Legal & regulations", []string{"legal"}},
		{"partners", "Partners", []string{"partners", "sponsor"}},
		{"others", "Others", []string{"others"}},
	}
	data := r.data()
	if len(data) != len(want) {
		t.Fatalf("got %d categories, want %d: %s", len(data), len(want), r.raw)
	}
	for i, w := range want {
		t.Run(w.key, func(t *testing.T) {
			c := data[i].(map[string]any)
			if c["key"] != w.key || c["name"] != w.name {
				t.Errorf("category %d: got %v %v, want %s %s", i, c["key"], c["name"], w.key, w.name)
			}
			subs, _ := c["subcategories"].([]any)
			var values []string
			for j, s := range subs {
				sc := s.(map[string]any)
				values = append(values, sc["value"].(string))
				if sc["category"] != w.key {
					t.Errorf("subcategory %v: got category %v, want %s", sc["value"], sc["category"], w.key)
				}
				if got, want := sc["builtin"], j == 0; got != want {
					t.Errorf("subcategory %v: got builtin %v, want %v", sc["value"], got, want)
				}
				if j == 0 && sc["name"] != w.name {
					t.Errorf("built-in subcategory: got name %v, want %s", sc["name"], w.name)
				}
				if id, _ := sc["id"].(string); id == "" {
					t.Errorf("subcategory %v: got no id", sc["value"])
				}
			}
			if !slices.Equal(values, w.values) {
				t.Errorf("subcategories: got %v, want %v", values, w.values)
			}
		})
	}
}

func TestSubcategoryList(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.subcategory("b-second", "legal")
	e.subcategory("a-first", "others")
	// The other account's subcategories never show.
	e.must(201, e.call(e.otherKey, "POST", "/api/v1/subcategories",
		map[string]any{"name": "Theirs", "value": "theirs", "category": "legal"}))

	r := e.must(200, e.call(e.keys[assent.RoleEditor], "GET", "/api/v1/subcategories", nil))
	var got []string
	for _, item := range r.data() {
		sc := item.(map[string]any)
		got = append(got, fmt.Sprintf("%v/%v/%v", sc["value"], sc["category"], sc["builtin"]))
	}
	want := []string{
		"newsletter_marketing/newsletter_marketing/true", "legal/legal/true", "partners/partners/true",
		"others/others/true", "b-second/legal/false", "a-first/others/false",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestSubcategoryCreate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		role              assent.Role
		body              map[string]any
		wantName, wantVal string
	}{
		{"plain", assent.RoleAdmin, map[string]any{"name": "Weekly news", "value": "weekly-news", "category": "newsletter_marketing"},
			"Weekly news", "weekly-news"},
		{"by a marketer", assent.RoleMarketer, map[string]any{"name": "Sponsor", "value": "sponsor_1", "category": "partners"},
			"Sponsor", "sponsor_1"},
		{"name trimmed", assent.RoleAdmin, map[string]any{"name": "  Rules  ", "value": "rules", "category": "legal"},
			"Rules", "rules"},
		{"name of 100 characters", assent.RoleAdmin,
			map[string]any{"name": strings.Repeat("é", 100), "value": "long", "category": "others"},
			strings.Repeat("é", 100), "long"},
		{"value of one digit", assent.RoleAdmin, map[string]any{"name": "Zero", "value": "0", "category": "others"},
			"Zero", "0"},
		{"value of 64 characters", assent.RoleAdmin,
			map[string]any{"name": "Max", "value": "a" + strings.Repeat("-_9", 21), "category": "others"},
			"Max", "a" + strings.Repeat("-_9", 21)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			r := e.must(201, e.call(e.keys[tt.role], "POST", "/api/v1/subcategories", tt.body))
			id := r.str("id")
			if id == "" {
				t.Fatalf("got no id: %s", r.raw)
			}
			if got := r.str("name"); got != tt.wantName {
				t.Errorf("name: got %q, want %q", got, tt.wantName)
			}
			if got := r.str("value"); got != tt.wantVal {
				t.Errorf("value: got %q, want %q", got, tt.wantVal)
			}
			if got := r.str("category"); got != tt.body["category"] {
				t.Errorf("category: got %q, want %q", got, tt.body["category"])
			}
			if got := r.body["builtin"]; got != false {
				t.Errorf("builtin: got %v, want false", got)
			}
			g := e.get("/api/v1/subcategories/" + id)
			if string(g.raw) != string(r.raw) {
				t.Errorf("GET: got %s, want %s", g.raw, r.raw)
			}
		})
	}
}

func TestSubcategoryCreateInvalid(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	before := e.snapshot("/api/v1/subcategories", "/api/v1/categories")
	ok := func(change map[string]any) map[string]any {
		b := map[string]any{"name": "Weekly news", "value": "weekly-news", "category": "newsletter_marketing"}
		for k, v := range change {
			b[k] = v
		}
		return b
	}
	tests := []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"empty name", ok(map[string]any{"name": ""}), []string{"name"}},
		{"blank name", ok(map[string]any{"name": "   "}), []string{"name"}},
		{"missing name", map[string]any{"value": "x", "category": "legal"}, []string{"name"}},
		{"name of 101 characters", ok(map[string]any{"name": strings.Repeat("n", 101)}), []string{"name"}},
		{"empty value", ok(map[string]any{"value": ""}), []string{"value"}},
		{"value with upper case", ok(map[string]any{"value": "Weekly"}), []string{"value"}},
		{"value with a space", ok(map[string]any{"value": "weekly news"}), []string{"value"}},
		{"value starting with a dash", ok(map[string]any{"value": "-weekly"}), []string{"value"}},
		{"value starting with an underscore", ok(map[string]any{"value": "_weekly"}), []string{"value"}},
		{"value with an accent", ok(map[string]any{"value": "né"}), []string{"value"}},
		{"value of 65 characters", ok(map[string]any{"value": strings.Repeat("a", 65)}), []string{"value"}},
		{"empty category", ok(map[string]any{"category": ""}), []string{"category"}},
		{"unknown category", ok(map[string]any{"category": "marketing"}), []string{"category"}},
		{"category in upper case", ok(map[string]any{"category": "LEGAL"}), []string{"category"}},
		{"everything wrong", map[string]any{"name": "", "value": "A B", "category": "x"}, []string{"name", "value", "category"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.in(t)
			r := e.must(422, e.admin("POST", "/api/v1/subcategories", tt.body))
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

func TestSubcategoryDuplicateValue(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.subcategory("news", "newsletter_marketing")
	before := e.snapshot("/api/v1/subcategories")
	for _, value := range []string{"news", "newsletter_marketing", "legal", "partners", "others"} {
		t.Run(value, func(t *testing.T) {
			e := e.in(t)
			// Another category does not make the value free.
			r := e.must(409, e.admin("POST", "/api/v1/subcategories",
				map[string]any{"name": "Again", "value": value, "category": "others"}))
			if got := r.errorCode(); got != "conflict" {
				t.Errorf("code: got %q, want conflict", got)
			}
			if r.errorField("value") == "" {
				t.Errorf("fields: got %s, want a problem for value", r.raw)
			}
		})
	}
	e.unchanged(before)
	// Values are unique within an account, not across accounts.
	e.must(201, e.call(e.otherKey, "POST", "/api/v1/subcategories",
		map[string]any{"name": "News", "value": "news", "category": "legal"}))
}

func TestSubcategoryLimit(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	var ids []string
	for i := range assent.MaxCustomSubcategories {
		ids = append(ids, e.subcategory(fmt.Sprintf("sub-%03d", i), assent.Categories[i%4].Key))
	}
	if got := len(e.get("/api/v1/subcategories").data()); got != 104 {
		t.Fatalf("got %d subcategories, want 104 (100 custom and 4 built-in)", got)
	}
	before := e.snapshot("/api/v1/subcategories")
	r := e.must(409, e.admin("POST", "/api/v1/subcategories",
		map[string]any{"name": "One too many", "value": "sub-100", "category": "legal"}))
	if got := r.errorCode(); got != "conflict" {
		t.Errorf("code: got %q, want conflict", got)
	}
	if msg := r.errorMessage(); !strings.Contains(msg, "100") {
		t.Errorf("message: got %q, want it to state the limit of 100", msg)
	}
	e.unchanged(before)

	// The limit is per account.
	e.must(201, e.call(e.otherKey, "POST", "/api/v1/subcategories",
		map[string]any{"name": "Theirs", "value": "sub-100", "category": "legal"}))
	// Deleting one makes room for one.
	e.must(204, e.admin("DELETE", "/api/v1/subcategories/"+ids[0], nil))
	e.subcategory("sub-100", "legal")
	e.must(409, e.admin("POST", "/api/v1/subcategories",
		map[string]any{"name": "One too many", "value": "sub-101", "category": "legal"}))
}

func TestSubcategoryUpdate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                        string
		role                        assent.Role
		body                        map[string]any
		wantName, wantValue, wantCt string
	}{
		{"rename", assent.RoleAdmin, map[string]any{"name": "Weekly newsletter"}, "Weekly newsletter", "news", "newsletter_marketing"},
		{"move", assent.RoleMarketer, map[string]any{"category": "partners"}, "Sub news", "news", "partners"},
		{"change value", assent.RoleAdmin, map[string]any{"value": "weekly-news"}, "Sub news", "weekly-news", "newsletter_marketing"},
		{"same value", assent.RoleAdmin, map[string]any{"value": "news"}, "Sub news", "news", "newsletter_marketing"},
		{"everything", assent.RoleMarketer, map[string]any{"name": " Offers ", "value": "offers", "category": "others"},
			"Offers", "offers", "others"},
		{"nothing", assent.RoleAdmin, map[string]any{}, "Sub news", "news", "newsletter_marketing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			id := e.subcategory("news", "newsletter_marketing")
			optin := e.optin("en", "news", "legal")
			r := e.must(200, e.call(e.keys[tt.role], "PATCH", "/api/v1/subcategories/"+id, tt.body))
			g := e.get("/api/v1/subcategories/" + id)
			for _, got := range []response{r, g} {
				if got.str("id") != id || got.str("name") != tt.wantName || got.str("value") != tt.wantValue ||
					got.str("category") != tt.wantCt {
					t.Errorf("got %s, want id %s, name %q, value %q, category %q", got.raw, id, tt.wantName, tt.wantValue, tt.wantCt)
				}
			}
			// The opt-in follows its subcategory: new value, new category.
			o := e.get("/api/v1/optins/" + optin)
			wantSubs := []string{"legal", tt.wantValue}
			slices.Sort(wantSubs)
			if got := o.strs("subcategories"); !slices.Equal(got, wantSubs) {
				t.Errorf("opt-in subcategories: got %v, want %v", got, wantSubs)
			}
			wantCats := []string{}
			for _, c := range assent.Categories {
				if c.Key == "legal" || c.Key == tt.wantCt {
					wantCats = append(wantCats, c.Key)
				}
			}
			if got := o.strs("categories"); !slices.Equal(got, wantCats) {
				t.Errorf("opt-in categories: got %v, want %v", got, wantCats)
			}
		})
	}
}

func TestSubcategoryUpdateInvalid(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	id := e.subcategory("news", "newsletter_marketing")
	e.subcategory("offers", "others")
	before := e.snapshot("/api/v1/subcategories", "/api/v1/subcategories/"+id)
	tests := []struct {
		name   string
		body   map[string]any
		status int
		field  string
	}{
		{"empty name", map[string]any{"name": ""}, 422, "name"},
		{"name of 101 characters", map[string]any{"name": strings.Repeat("x", 101)}, 422, "name"},
		{"bad value", map[string]any{"value": "Bad Value"}, 422, "value"},
		{"empty value", map[string]any{"value": ""}, 422, "value"},
		{"unknown category", map[string]any{"category": "newsletter"}, 422, "category"},
		{"value of a built-in", map[string]any{"value": "legal"}, 409, "value"},
		{"value of another", map[string]any{"value": "offers"}, 409, "value"},
		{"valid name but bad category", map[string]any{"name": "Fine", "category": "x"}, 422, "category"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.in(t)
			r := e.must(tt.status, e.admin("PATCH", "/api/v1/subcategories/"+id, tt.body))
			if r.errorField(tt.field) == "" {
				t.Errorf("fields: got %s, want a problem for %s", r.raw, tt.field)
			}
		})
	}
	e.unchanged(before)
}

func TestSubcategoryBuiltinIsFixed(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	builtins := e.get("/api/v1/subcategories").data()[:4]
	var paths []string
	for _, b := range builtins {
		paths = append(paths, "/api/v1/subcategories/"+b.(map[string]any)["id"].(string))
	}
	before := e.snapshot(append(paths, "/api/v1/subcategories")...)
	for i, b := range builtins {
		value := b.(map[string]any)["value"].(string)
		t.Run(value, func(t *testing.T) {
			e := e.in(t)
			for _, body := range []map[string]any{
				{"name": "Renamed"}, {"value": "renamed"}, {"category": "others"}, {},
			} {
				r := e.must(409, e.admin("PATCH", paths[i], body))
				if got := r.errorCode(); got != "conflict" {
					t.Errorf("PATCH %v: got code %q, want conflict", body, got)
				}
			}
			r := e.must(409, e.admin("DELETE", paths[i], nil))
			if got := r.errorCode(); got != "conflict" {
				t.Errorf("DELETE: got code %q, want conflict", got)
			}
		})
	}
	e.unchanged(before)
}

func TestSubcategoryDelete(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	id := e.subcategory("news", "newsletter_marketing")
	e.must(204, e.call(e.keys[assent.RoleMarketer], "DELETE", "/api/v1/subcategories/"+id, nil))
	e.must(404, e.admin("GET", "/api/v1/subcategories/"+id, nil))
	e.must(404, e.admin("DELETE", "/api/v1/subcategories/"+id, nil))
	for _, item := range e.get("/api/v1/subcategories").data() {
		if item.(map[string]any)["id"] == id {
			t.Errorf("list: got the deleted subcategory %s", id)
		}
	}
	// Its value is free again.
	e.subcategory("news", "legal")
}

func TestSubcategoryDeleteUsed(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	id := e.subcategory("news", "newsletter_marketing")
	e.subcategory("other-news", "newsletter_marketing")
	first := e.must(201, e.admin("POST", "/api/v1/optins", map[string]any{
		"name": "Weekly letter", "language": "en", "text": "Send me news", "subcategories": []string{"news", "legal"}})).str("id")
	second := e.must(201, e.admin("POST", "/api/v1/optins", map[string]any{
		"name": "Daily letter", "language": "fr", "text": "Envoyez-moi", "subcategories": []string{"news"}})).str("id")
	// An archived opt-in still uses its subcategories (it stays in reports).
	e.must(200, e.admin("PATCH", "/api/v1/optins/"+second, map[string]any{"status": "archived"}))
	unused := e.optin("en", "other-news")

	before := e.snapshot("/api/v1/subcategories", "/api/v1/optins")
	r := e.must(409, e.admin("DELETE", "/api/v1/subcategories/"+id, nil))
	if got := r.errorCode(); got != "conflict" {
		t.Errorf("code: got %q, want conflict", got)
	}
	msg := r.errorMessage()
	for _, want := range []string{"Weekly letter", first, "Daily letter", second} {
		if !strings.Contains(msg, want) {
			t.Errorf("message: got %q, want it to name %s", msg, want)
		}
	}
	if strings.Contains(msg, unused) {
		t.Errorf("message: got %q, want it not to name %s", msg, unused)
	}
	e.unchanged(before)

	// Once no opt-in uses it, it can go.
	e.must(200, e.admin("PATCH", "/api/v1/optins/"+first, map[string]any{"subcategories": []string{"legal"}}))
	e.must(200, e.admin("PATCH", "/api/v1/optins/"+second, map[string]any{"subcategories": []string{"other-news"}}))
	e.must(204, e.admin("DELETE", "/api/v1/subcategories/"+id, nil))
}

func TestSubcategoryOfAnotherAccount(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	r := e.must(201, e.call(e.otherKey, "POST", "/api/v1/subcategories",
		map[string]any{"name": "Theirs", "value": "theirs", "category": "legal"}))
	id := r.str("id")
	theirs := func() string {
		return string(e.must(200, e.call(e.otherKey, "GET", "/api/v1/subcategories/"+id, nil)).raw)
	}
	was := theirs()
	tests := []struct {
		method string
		body   any
	}{
		{"GET", nil},
		{"PATCH", map[string]any{"name": "Mine now"}},
		{"PATCH", map[string]any{"value": "mine", "category": "others"}},
		{"DELETE", nil},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			e := e.in(t)
			r := e.must(404, e.admin(tt.method, "/api/v1/subcategories/"+id, tt.body))
			if got := r.errorCode(); got != "not_found" {
				t.Errorf("code: got %q, want not_found", got)
			}
		})
	}
	if now := theirs(); now != was {
		t.Errorf("their subcategory: got %s, want %s", now, was)
	}
	// Nor can acme use its value.
	r = e.must(422, e.admin("POST", "/api/v1/optins", map[string]any{
		"name": "x", "language": "en", "text": "x", "subcategories": []string{"theirs"}}))
	if r.errorField("subcategories") == "" {
		t.Errorf("fields: got %s, want a problem for subcategories", r.raw)
	}
	e.must(404, e.admin("GET", "/api/v1/subcategories/sub_doesnotexist", nil))
}

// TestListsKeepCreationOrder creates things faster than one a millisecond
// and checks that every list reads them oldest first.
func TestListsKeepCreationOrder(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	var subs, optins, campaigns []string
	for i := range 30 {
		subs = append(subs, e.subcategory(fmt.Sprintf("s%02d", i), "legal"))
	}
	for range 30 {
		optins = append(optins, e.optin("en", "legal"))
	}
	for range 30 {
		campaigns = append(campaigns, e.campaign("en"))
	}
	if got := e.get("/api/v1/subcategories").ids()[4:]; !slices.Equal(got, subs) {
		t.Errorf("subcategories: got %v, want %v", got, subs)
	}
	if got := e.get("/api/v1/optins").ids(); !slices.Equal(got, optins) {
		t.Errorf("opt-ins: got %v, want %v", got, optins)
	}
	if got := e.get("/api/v1/campaigns").ids(); !slices.Equal(got, campaigns) {
		t.Errorf("campaigns: got %v, want %v", got, campaigns)
	}
}

// TestSubcategoryRulesUnderConcurrency sends creations at the same time:
// the limit and the unique value hold however the requests interleave.
func TestSubcategoryRulesUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	for i := range assent.MaxCustomSubcategories - 5 {
		e.subcategory(fmt.Sprintf("sub-%03d", i), "others")
	}
	statuses := func(bodies []map[string]any) map[int]int {
		var wg sync.WaitGroup
		got := make([]int, len(bodies))
		for i, b := range bodies {
			wg.Go(func() { got[i] = e.admin("POST", "/api/v1/subcategories", b).status })
		}
		wg.Wait()
		count := map[int]int{}
		for _, s := range got {
			count[s]++
		}
		return count
	}
	var same []map[string]any
	for range 10 {
		same = append(same, map[string]any{"name": "Same", "value": "same", "category": "legal"})
	}
	if got := statuses(same); got[201] != 1 || got[409] != 9 {
		t.Errorf("one value ten times: got statuses %v, want one 201 and nine 409", got)
	}
	var distinct []map[string]any
	for i := range 20 {
		distinct = append(distinct, map[string]any{"name": "New", "value": fmt.Sprintf("new-%02d", i), "category": "legal"})
	}
	if got := statuses(distinct); got[201] != 4 || got[409] != 16 {
		t.Errorf("twenty values with room for four: got statuses %v, want four 201 and sixteen 409", got)
	}
	if got := len(e.get("/api/v1/subcategories").data()); got != 104 {
		t.Errorf("got %d subcategories, want 104", got)
	}
}
