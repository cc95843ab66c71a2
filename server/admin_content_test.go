package server_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/assentdev/assent"
)

func TestAdminSubcategories(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	token := e.signedIn(assent.RoleMarketer)
	ctx := context.Background()

	// Create: good, then each kind of refusal, with the problem next to its field.
	p := e.adminMust(303, token, "POST", "/admin/subcategories",
		url.Values{"name": {" Weekly news "}, "value": {"weekly-news"}, "category": {"newsletter_marketing"}})
	sub := e.get("/api/v1/subcategories").data()[4].(map[string]any)
	if sub["name"] != "Weekly news" || sub["value"] != "weekly-news" || sub["category"] != "newsletter_marketing" {
		t.Fatalf("got %v", sub)
	}
	id := sub["id"].(string)
	if got := p.header.Get("Location"); got != "/admin/subcategories#sub-"+id {
		t.Errorf("got redirect to %q", got)
	}
	if got := p.flash(); got != "ok:Subcategory “Weekly news” created." {
		t.Errorf("flash: got %q", got)
	}
	for _, tc := range []struct {
		name         string
		form         url.Values
		status       int
		field, error string
	}{
		{"bad value", url.Values{"name": {"X"}, "value": {"Bad Value"}, "category": {"others"}}, 422, "value",
			"Must be 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter or digit"},
		{"no name", url.Values{"name": {""}, "value": {"x"}, "category": {"others"}}, 422, "name", "Is required"},
		{"unknown category", url.Values{"name": {"X"}, "value": {"x"}, "category": {"sports"}}, 422, "category",
			"Must be one of newsletter_marketing, legal, partners, others"},
		{"value of a built-in", url.Values{"name": {"X"}, "value": {"legal"}, "category": {"others"}}, 409, "value",
			"Is taken by another subcategory"},
		{"value taken", url.Values{"name": {"X"}, "value": {"weekly-news"}, "category": {"others"}}, 409, "value",
			"Is taken by another subcategory"},
	} {
		p := e.adminMust(tc.status, token, "POST", "/admin/subcategories", tc.form)
		if got := p.fieldError(tc.field); got != tc.error {
			t.Errorf("%s: got %q next to %s, want %q", tc.name, got, tc.field, tc.error)
		}
		if !strings.Contains(p.body, `aria-describedby="`+tc.field+`-error`) || !strings.Contains(p.body, `href="#`+tc.field+`"`) {
			t.Errorf("%s: the field does not point to its problem, or the summary to the field", tc.name)
		}
		if !strings.Contains(p.body, `value="`+tc.form.Get("value")+`"`) {
			t.Errorf("%s: the value typed is not shown again", tc.name)
		}
	}

	// Rename, move and revalue; a built-in cannot change.
	e.adminMust(200, token, "GET", "/admin/subcategories/"+id+"/edit", nil)
	p = e.adminMust(303, token, "POST", "/admin/subcategories/"+id, url.Values{"name": {"Weekly digest"}, "value": {"digest"},
		"category": {"others"}})
	if got := p.flash(); got != "ok:Subcategory “Weekly digest” saved." {
		t.Errorf("flash: got %q", got)
	}
	sc, err := e.store.Subcategory(ctx, e.acme.ID, id)
	if err != nil || sc.Name != "Weekly digest" || sc.Value != "digest" || sc.Category != "others" {
		t.Errorf("after the change: got %+v, %v", sc, err)
	}
	p = e.adminMust(409, token, "POST", "/admin/subcategories/"+id, url.Values{"name": {"Weekly digest"}, "value": {"partners"},
		"category": {"others"}})
	if got := p.fieldError("value"); got != "Is taken by another subcategory" {
		t.Errorf("revalue to a taken value: got %q", got)
	}
	builtin := e.get("/api/v1/subcategories").data()[1].(map[string]any)["id"].(string)
	for _, method := range []string{"GET", "POST"} {
		path := "/admin/subcategories/" + builtin
		if method == "GET" {
			path += "/edit"
		}
		p = e.adminMust(409, token, method, path, url.Values{"name": {"Law"}, "value": {"law"}, "category": {"legal"}})
		if !strings.Contains(p.body, "cannot be changed") {
			t.Errorf("%s on a built-in: got\n%s", method, p.body)
		}
	}
	p = e.adminMust(200, token, "GET", "/admin/subcategories", nil)
	if strings.Contains(p.body, `/admin/subcategories/`+builtin+`/edit`) || !strings.Contains(p.body, "Built-in") {
		t.Error("the list offers to edit a built-in subcategory, or does not mark it")
	}
	e.adminMust(404, token, "GET", "/admin/subcategories/sub_nope/edit", nil)

	// Delete: refused while in use, with links to the opt-ins that use it.
	optin := e.optinWith(map[string]any{"text": "I agree", "name": "Digest <weekly>", "subcategories": []string{"digest"}})
	p = e.adminMust(409, token, "POST", "/admin/subcategories/"+id+"/delete", nil)
	for _, want := range []string{"“Weekly digest” is still in use", `<a href="/admin/optins/` + optin + `/edit">Digest &lt;weekly&gt;</a>`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("delete in use: want %q in\n%s", want, p.body)
		}
	}
	e.adminMust(409, token, "POST", "/admin/subcategories/"+builtin+"/delete", nil)
	e.must(200, e.admin("PATCH", "/api/v1/optins/"+optin, map[string]any{"subcategories": []string{"others"}}))
	p = e.adminMust(303, token, "POST", "/admin/subcategories/"+id+"/delete", nil)
	if got := p.flash(); got != "ok:Subcategory “Weekly digest” deleted." {
		t.Errorf("flash: got %q", got)
	}
	if _, err := e.store.Subcategory(ctx, e.acme.ID, id); assent.ErrorCode(err) != assent.ENOTFOUND {
		t.Errorf("after delete: got %v, want ENOTFOUND", err)
	}

	// The limit of 100 custom subcategories.
	for i := 0; i < assent.MaxCustomSubcategories; i++ {
		if _, err := e.store.CreateSubcategory(ctx, e.acme.ID, assent.Subcategory{Name: "S", Value: fmt.Sprintf("s%d", i),
			Category: "others"}); err != nil {
			t.Fatal(err)
		}
	}
	p = e.adminMust(409, token, "POST", "/admin/subcategories", url.Values{"name": {"One more"}, "value": {"one-more"},
		"category": {"others"}})
	for _, want := range []string{"An account can have at most 100 custom subcategories; delete one first",
		"<strong>100</strong> of 100 custom subcategories", "the most it can have"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("at the limit: want %q in\n%s", want, p.body)
		}
	}
}

func TestAdminOptins(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	token := e.signedIn(assent.RoleMarketer)
	ctx := context.Background()
	e.subcategory("weekly", "newsletter_marketing")

	// Refused: each problem next to its field, what was typed kept.
	p := e.adminMust(422, token, "POST", "/admin/optins", url.Values{"name": {""}, "language": {"xx-invalid-tag"},
		"text": {"See [it](javascript:alert(1))"}, "display": {"checkbox"}, "variable": {"1bad"}})
	for field, want := range map[string]string{
		"name":          "Is required",
		"language":      "Must be a BCP 47 language tag such as en, fr or nl-BE",
		"text":          `Link "[it](javascript:alert(1)" must point to an http or https URL`,
		"variable":      "Must be 1 to 64 letters, digits or '_', not starting with a digit",
		"subcategories": "Must name at least one subcategory",
	} {
		if got := p.fieldError(field); got != want {
			t.Errorf("%s: got %q, want %q", field, got, want)
		}
	}
	if !strings.Contains(p.body, "See [it](javascript:alert(1))</textarea>") {
		t.Error("the text typed is not shown again")
	}
	if n, _ := e.store.CountRows(ctx, "optins"); n != 0 {
		t.Fatalf("got %d opt-ins stored, want none", n)
	}

	// Created, with every field.
	form := url.Values{"name": {"Newsletter"}, "language": {"EN-gb"}, "text": {"Send me news.\r\nEvery week."},
		"info": {"We send it on Mondays."}, "logo_url": {"https://cdn.example.com/logo.png"}, "display": {"radio"},
		"mandatory": {"on"}, "double_optin": {"on"}, "variable": {"my_news"}, "subcategories": {"weekly", "legal"}}
	p = e.adminMust(303, token, "POST", "/admin/optins", form)
	id := strings.TrimPrefix(p.header.Get("Location"), "/admin/optins/")
	o, err := e.store.Optin(ctx, e.acme.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	want := assent.Optin{Name: "Newsletter", Language: "en-GB", Text: "Send me news.\nEvery week.", Info: "We send it on Mondays.",
		LogoURL: "https://cdn.example.com/logo.png", Display: "radio", Mandatory: true, DoubleOptin: true, Variable: "my_news",
		Status: "active", Version: 1}
	if o.Name != want.Name || o.Language != want.Language || o.Text != want.Text || o.Info != want.Info ||
		o.LogoURL != want.LogoURL || o.Display != want.Display || !o.Mandatory || !o.DoubleOptin || o.Variable != want.Variable ||
		o.Status != want.Status || o.Version != 1 || strings.Join(o.Subcategories, ",") != "legal,weekly" {
		t.Errorf("got %+v", o)
	}

	// The edit page holds what is stored; a change of text makes version 2.
	p = e.adminMust(200, token, "GET", "/admin/optins/"+id+"/edit", nil)
	for _, want := range []string{`value="Newsletter"`, `id="display-radio" name="display" value="radio" checked`,
		`id="mandatory" name="mandatory" value="on" checked`, `name="subcategories" value="weekly" checked`,
		`name="subcategories" value="legal" checked`, `name="subcategories" value="partners">`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("edit page: want %q", want)
		}
	}
	form.Set("text", "Send me the news, every week.")
	form.Del("mandatory")
	p = e.adminMust(303, token, "POST", "/admin/optins/"+id, form)
	if got := p.flash(); got != "ok:Opt-in “Newsletter” saved as version 2. Version 1 stays on record." {
		t.Errorf("flash: got %q", got)
	}
	form.Set("name", "Weekly newsletter")
	p = e.adminMust(303, token, "POST", "/admin/optins/"+id, form)
	if got := p.flash(); got != "ok:Opt-in “Weekly newsletter” saved." {
		t.Errorf("flash after a rename: got %q", got)
	}
	p = e.adminMust(200, token, "GET", "/admin/optins/"+id, nil)
	for _, want := range []string{"Version 2", "Version 1", "Send me news.\nEvery week.</p>", "Send me the news, every week.</p>"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("versions: want %q in the page", want)
		}
	}

	// A variable taken by another opt-in.
	other := e.optinWith(map[string]any{"text": "I agree", "name": "Other", "variable": "other_var"})
	form.Set("variable", "other_var")
	p = e.adminMust(409, token, "POST", "/admin/optins/"+id, form)
	if got := p.fieldError("variable"); got != "Is used by another opt-in" {
		t.Errorf("variable taken: got %q", got)
	}

	// Archive, and back.
	p = e.adminMust(303, token, "POST", "/admin/optins/"+id+"/archive", nil)
	if o, _ := e.store.Optin(ctx, e.acme.ID, id); o.Status != "archived" || !strings.HasPrefix(p.flash(), "ok:Opt-in “Weekly newsletter” archived") {
		t.Errorf("archive: got status %s, flash %q", o.Status, p.flash())
	}
	e.adminMust(303, token, "POST", "/admin/optins/"+id+"/restore", nil)
	if o, _ := e.store.Optin(ctx, e.acme.ID, id); o.Status != "active" {
		t.Errorf("restore: got status %s", o.Status)
	}
	e.adminMust(404, token, "GET", "/admin/optins/opt_nope", nil)
	e.adminMust(404, token, "POST", "/admin/optins/opt_nope", form)

	// Filters and pages.
	fr := e.optinWith(map[string]any{"text": "I agree", "name": "French", "language": "fr", "subcategories": []string{"partners"}})
	e.must(204, e.admin("DELETE", "/api/v1/optins/"+other, nil)) // never answered nor placed: deleted
	archived := e.optinWith(map[string]any{"text": "I agree", "name": "Old", "subcategories": []string{"legal"}})
	e.campaign("en", archived)
	e.must(200, e.admin("DELETE", "/api/v1/optins/"+archived, nil)) // on a form: archived
	listed := func(query string) []string {
		p := e.adminMust(200, token, "GET", "/admin/optins"+query, nil)
		var out []string
		for _, m := range regexp.MustCompile(`href="/admin/optins/(opt_[a-z0-9]+)" class="row-link"`).FindAllStringSubmatch(p.body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{id, fr, archived}},
		{"?language=fr", []string{fr}},
		{"?language=FR", []string{fr}},
		{"?status=archived", []string{archived}},
		{"?status=active&category=legal", []string{id}},
		{"?category=partners", []string{fr}},
		{"?subcategory=weekly", []string{id}},
		{"?status=nonsense", []string{id, fr, archived}},
		{"?language=de", nil},
	} {
		if got := listed(tc.query); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("GET /admin/optins%s: got %v, want %v", tc.query, got, tc.want)
		}
	}
	if p := e.adminMust(200, token, "GET", "/admin/optins?language=de", nil); !strings.Contains(p.body, "No opt-in matches these filters") {
		t.Error("an empty filtered list says nothing helpful")
	}
	var all []string
	for i := 0; i < 30; i++ {
		all = append(all, e.optinWith(map[string]any{"text": "I agree", "name": fmt.Sprintf("Bulk %d", i), "language": "nl"}))
	}
	p = e.adminMust(200, token, "GET", "/admin/optins?language=nl", nil)
	next := regexp.MustCompile(`href="(/admin/optins\?cursor=[^"]+)">Next page`).FindStringSubmatch(p.body)
	if got := listed("?language=nl"); len(got) != 25 || got[0] != all[0] || next == nil {
		t.Fatalf("first page: got %d opt-ins and next link %v, want 25 and a link", len(got), next)
	}
	nextURL := strings.ReplaceAll(next[1], "&amp;", "&")
	if !strings.Contains(nextURL, "language=nl") {
		t.Errorf("the next page %s loses the filter", nextURL)
	}
	p = e.adminMust(200, token, "GET", nextURL, nil)
	if got := listed(strings.TrimPrefix(nextURL, "/admin/optins")); strings.Join(got, " ") != strings.Join(all[25:], " ") ||
		strings.Contains(p.body, "Next page") || !strings.Contains(p.body, `href="/admin/optins?language=nl">← First page`) {
		t.Errorf("second page: got %v", got)
	}
	e.adminMust(200, token, "GET", "/admin/optins?cursor=not-a-cursor!", nil)
}

func TestAdminEmptyStates(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	for role, wants := range map[assent.Role][]string{
		assent.RoleMarketer: {"No opt-ins yet", "Create the first opt-in", "No campaigns yet", "Create the first campaign"},
		assent.RoleObserver: {"No opt-ins yet", "No campaigns yet"},
	} {
		token := e.signedIn(role)
		body := e.adminMust(200, token, "GET", "/admin/optins", nil).body + e.adminMust(200, token, "GET", "/admin/campaigns", nil).body
		for _, want := range wants {
			if !strings.Contains(body, want) {
				t.Errorf("as %s: want %q", role, want)
			}
		}
		if role == assent.RoleObserver && strings.Contains(body, "Create the first") {
			t.Error("an observer is offered to create")
		}
	}
}
