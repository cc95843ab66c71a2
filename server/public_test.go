package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assentdev/assent/server"
	"github.com/assentdev/assent/store"
)

// newPublicEnv is newTestEnv with a server of its own configuration,
// started after setup has run on the store (to set its clock, say), so
// that every request of the test goes to it.
func newPublicEnv(t *testing.T, cfg server.Config, setup func(*store.Store)) *testEnv {
	t.Helper()
	e := newTestEnv(t)
	if setup != nil {
		setup(e.store)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://assent.example"
	}
	srv := httptest.NewServer(server.New(e.store, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// page is an HTML answer.
type page struct {
	status int
	header http.Header
	body   string
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// browse requests a public page like a browser would: a form is sent
// url-encoded from a page of the same site (Sec-Fetch-Site: same-origin)
// unless header says otherwise.
func (e *testEnv) browse(method, path string, form url.Values, header map[string]string) page {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Origin", e.url)
	}
	req.Header.Set("User-Agent", "public-test/1.0")
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	p := page{status: res.StatusCode, header: res.Header, body: string(raw)}
	if strings.Contains(p.body, "MISSING(") {
		e.t.Errorf("%s %s: a label has no translation:\n%s", method, path, p.body)
	}
	return p
}

// get fetches a page and checks its status.
func (e *testEnv) getPage(want int, path string) page {
	e.t.Helper()
	p := e.browse("GET", path, nil, nil)
	if p.status != want {
		e.t.Fatalf("GET %s: got status %d, want %d\n%s", path, p.status, want, p.body)
	}
	return p
}

// post sends a form from the same site and checks the answer's status.
func (e *testEnv) post(want int, path string, form url.Values) page {
	e.t.Helper()
	p := e.browse("POST", path, form, nil)
	if p.status != want {
		e.t.Fatalf("POST %s: got status %d, want %d\n%s", path, p.status, want, p.body)
	}
	return p
}

// optinWith creates an opt-in of acme from the given fields (name, text,
// display…) over sensible defaults, and returns its id.
func (e *testEnv) optinWith(fields map[string]any) string {
	e.t.Helper()
	body := map[string]any{"language": "en", "display": "checkbox", "subcategories": []string{"newsletter_marketing"}}
	for k, v := range fields {
		body[k] = v
	}
	return e.must(201, e.admin("POST", "/api/v1/optins", body)).str("id")
}

// formFixture is a live campaign of acme whose form asks a required first
// name and an optional last name, and shows, in order: a newsletter
// checkbox whose text has links, mandatory contest rules, an optional
// partners radio with an info box and a logo, and a double opt-in.
type formFixture struct {
	campaign                           string
	newsletter, rules, partners, daily string
}

func (e *testEnv) formFixture(language string) formFixture {
	e.t.Helper()
	f := formFixture{
		newsletter: e.optinWith(map[string]any{"name": "Newsletter", "language": language,
			"text": "Send me the <b>weekly</b> newsletter. See our [privacy policy](https://example.com/privacy?a=1&b=2)."}),
		rules: e.optinWith(map[string]any{"name": "Contest rules", "language": language, "mandatory": true,
			"text": "I accept the [contest rules](https://example.com/rules).", "subcategories": []string{"legal"}}),
		partners: e.optinWith(map[string]any{"name": "Partners", "language": language, "display": "radio",
			"text": "Share my details with our partners.", "info": "Our partners are:\nAcme Travel\n\nRead [more](https://example.com/partners).",
			"logo_url": "https://cdn.example.com/partners.png", "subcategories": []string{"partners"}}),
		daily: e.optinWith(map[string]any{"name": "Daily deals", "language": language, "double_optin": true,
			"text": "Email me the daily deals."}),
	}
	f.campaign = e.must(201, e.admin("POST", "/api/v1/campaigns", map[string]any{
		"name": "Summer contest", "language": language,
		"fields": map[string]string{"first_name": "required", "last_name": "optional"},
		"optins": []string{f.newsletter, f.rules, f.partners, f.daily}})).str("id")
	return f
}

// answers is a valid submission of the fixture's form, changed by kv.
func (f formFixture) answers(kv ...string) url.Values {
	v := url.Values{"email": {"ann@example.com"}, "first_name": {"Ann"}, "last_name": {"Lee"},
		"answers." + f.newsletter: {"yes"}, "answers." + f.rules: {"yes"}, "answers." + f.partners: {"no"},
		"key": {"test-key-0123456789abcdef"}, "utm_source": {"mail"}, "utm_campaign": {"summer"}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	return v
}

// consents returns the current state of each opt-in of a participant, by
// opt-in id, as the API shows them.
func (e *testEnv) consents(email string) map[string]string {
	e.t.Helper()
	r := e.must(200, e.admin("GET", "/api/v1/participants?email="+url.QueryEscape(email), nil))
	out := map[string]string{}
	list, _ := r.body["consents"].([]any)
	for _, c := range list {
		m := c.(map[string]any)
		out[m["optin_id"].(string)] = m["state"].(string)
	}
	return out
}

// inputTag returns the <input> tag with the given id, or "".
func inputTag(body, id string) string {
	return regexp.MustCompile(`<input[^>]*\sid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(body)
}

// checkLabels checks that every visible input of a page has a label.
func checkLabels(t *testing.T, body string) {
	t.Helper()
	for _, tag := range regexp.MustCompile(`<input[^>]*>`).FindAllString(body, -1) {
		if strings.Contains(tag, `type="hidden"`) {
			continue
		}
		id := regexp.MustCompile(`\sid="([^"]+)"`).FindStringSubmatch(tag)
		if id == nil {
			t.Errorf("input without id, so without label: %s", tag)
			continue
		}
		if !strings.Contains(body, `<label for="`+id[1]+`"`) {
			t.Errorf("input %s has no label", id[1])
		}
	}
}

func TestPublicForm(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	f := e.formFixture("en")
	p := e.getPage(200, "/f/"+f.campaign+"?utm_source=mail&utm_medium=email&utm_campaign=summer%26more&other=x")
	checkLabels(t, p.body)
	for _, tc := range []struct{ name, want string }{
		{"language", `<html lang="en">`},
		{"title", `<h1>Summer contest</h1>`},
		{"stylesheet", `<link rel="stylesheet" href="/static/public.css?v=`},
		{"posts to itself", `<form method="post" action="/f/` + f.campaign + `" novalidate>`},
		{"email label", `<label for="email">Email address</label>`},
		{"email input", `<input class="input" id="email" name="email" type="email" value="" autocomplete="email"`},
		{"first name label", `<label for="first_name">First name</label>`},
		{"last name optional", `<label for="last_name">Last name <span class="hint">(optional)</span></label>`},
		{"text escaped", `Send me the &lt;b&gt;weekly&lt;/b&gt; newsletter.`},
		{"link", `<a href="https://example.com/privacy?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">privacy policy<span class="visually-hidden"> (opens in a new tab)</span></a>`},
		{"checkbox", `<input type="checkbox" id="optin-` + f.newsletter + `" name="answers.` + f.newsletter + `" value="yes">`},
		{"rules link", `I accept the <a href="https://example.com/rules"`},
		{"mandatory word", `<span class="required">(required)</span>`},
		{"radio yes", `<input type="radio" id="optin-` + f.partners + `-yes" name="answers.` + f.partners + `" value="yes">`},
		{"radio no", `<label for="optin-` + f.partners + `-no">No</label>`},
		{"info box", `<summary>More information</summary>`},
		{"info paragraphs", `<p>Our partners are:<br>Acme Travel</p><p>Read <a href="https://example.com/partners"`},
		{"logo", `<img class="logo" src="https://cdn.example.com/partners.png" alt=""`},
		{"utm source", `<input type="hidden" name="utm_source" value="mail">`},
		{"utm campaign", `<input type="hidden" name="utm_campaign" value="summer&amp;more">`},
		{"idempotency key", `<input type="hidden" name="key" value="`},
		{"submit", `<button type="submit" class="button">Submit</button>`},
	} {
		if !strings.Contains(p.body, tc.want) {
			t.Errorf("%s: the page lacks %s", tc.name, tc.want)
		}
	}
	for _, tc := range []struct{ name, unwanted string }{
		{"pre-ticked box", "checked"},
		{"javascript link", `href="javascript`},
		{"raw markup", "<b>weekly"},
		{"other query parameters", `name="other"`},
		{"error summary", `role="alert"`},
	} {
		if strings.Contains(p.body, tc.unwanted) {
			t.Errorf("%s: the page has %s", tc.name, tc.unwanted)
		}
	}
	for name, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := p.header.Get(name); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") ||
		!strings.Contains(csp, "form-action 'self'") || strings.Contains(csp, "frame-ancestors") {
		t.Errorf("Content-Security-Policy: got %q, want default-src 'none' and form-action 'self', "+
			"and no frame-ancestors: forms may be embedded", csp)
	}
}

func TestPublicFormFields(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	o := e.optin("en", "newsletter_marketing")
	for _, tc := range []struct {
		first, last string
		want        []string
		unwanted    []string
	}{
		{"hidden", "hidden", nil, []string{`name="first_name"`, `name="last_name"`}},
		{"required", "required", []string{
			`<label for="first_name">First name</label>`, `<label for="last_name">Last name</label>`,
			`name="first_name" type="text" value="" autocomplete="given-name" required>`,
			`name="last_name" type="text" value="" autocomplete="family-name" required>`}, []string{"(optional)"}},
		{"optional", "hidden", []string{`<label for="first_name">First name <span class="hint">(optional)</span>`},
			[]string{`name="last_name"`}},
	} {
		t.Run(tc.first+"-"+tc.last, func(t *testing.T) {
			id := e.must(201, e.admin("POST", "/api/v1/campaigns", map[string]any{"name": "Form", "language": "en",
				"fields": map[string]string{"first_name": tc.first, "last_name": tc.last}, "optins": []string{o}})).str("id")
			p := e.getPage(200, "/f/"+id)
			checkLabels(t, p.body)
			for _, w := range tc.want {
				if !strings.Contains(p.body, w) {
					t.Errorf("the page lacks %s", w)
				}
			}
			for _, u := range tc.unwanted {
				if strings.Contains(p.body, u) {
					t.Errorf("the page has %s", u)
				}
			}
		})
	}
}

func TestPublicFormFrench(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	f := e.formFixture("fr-BE")
	p := e.getPage(200, "/f/"+f.campaign)
	for _, want := range []string{`<html lang="fr-BE">`, `<label for="email">Adresse e-mail</label>`,
		`<label for="first_name">Prénom</label>`, `Nom <span class="hint">(facultatif)</span>`,
		`<span class="required">(obligatoire)</span>`, `<summary>En savoir plus</summary>`,
		`(s’ouvre dans un nouvel onglet)`, `<label for="optin-` + f.partners + `-yes">Oui</label>`,
		`>Envoyer</button>`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	p = e.post(422, "/f/"+f.campaign, f.answers("email", "", "answers."+f.rules, ""))
	for _, want := range []string{"Il y a un problème", "Saisissez votre adresse e-mail",
		"Vous devez accepter ceci pour participer", "<title>Erreur\u00a0: Summer contest</title>"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	p = e.post(303, "/f/"+f.campaign, f.answers("answers."+f.daily, "yes"))
	p = e.getPage(200, p.header.Get("Location"))
	for _, want := range []string{"Merci\u00a0!", "nous vous avons envoyé un e-mail", "Gérer mes préférences"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the thank-you page lacks %s", want)
		}
	}
}

func TestPublicFormErrors(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	f := e.formFixture("en")
	for _, tc := range []struct {
		name   string
		form   url.Values
		errors map[string]string // error id → message
		kept   []string          // what the participant typed, still there
	}{
		{"missing email, rules not ticked", f.answers("email", "", "answers."+f.rules, "",
			"answers."+f.partners, "yes", "last_name", "<Lee>"), map[string]string{
			"email-error":                 "Enter your email address",
			"optin-" + f.rules + "-error": "You must accept this to take part",
		}, []string{
			`id="first_name" name="first_name" type="text" value="Ann"`,
			`id="last_name" name="last_name" type="text" value="&lt;Lee&gt;"`,
			`id="optin-` + f.newsletter + `" name="answers.` + f.newsletter + `" value="yes" checked`,
			`id="optin-` + f.partners + `-yes" name="answers.` + f.partners + `" value="yes" checked>`,
			`<input type="hidden" name="utm_source" value="mail">`,
			`<input type="hidden" name="key" value="test-key-0123456789abcdef">`,
		}},
		{"bad email, no first name", f.answers("email", "ann@", "first_name", ""), map[string]string{
			"email-error":      "Enter a valid email address, like name@example.com",
			"first_name-error": "Enter your first name",
		}, []string{
			`id="email" name="email" type="email" value="ann@"`,
			`id="optin-` + f.partners + `-no" name="answers.` + f.partners + `" value="no" checked>`,
			`id="optin-` + f.rules + `" name="answers.` + f.rules + `" value="yes" checked required>`,
		}},
		{"name too long", f.answers("first_name", strings.Repeat("a", 101)), map[string]string{
			"first_name-error": "This is too long: 100 characters at most",
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := e.post(422, "/f/"+f.campaign, tc.form)
			checkLabels(t, p.body)
			if !strings.Contains(p.body, `<div class="error-summary" role="alert"`) {
				t.Error("no error summary with role alert")
			}
			if !strings.Contains(p.body, "<title>Error: Summer contest</title>") {
				t.Error("the title does not say there is an error")
			}
			for id, msg := range tc.errors {
				if !strings.Contains(p.body, `<p class="error-message" id="`+id+`"><span class="visually-hidden">Error: </span>`+msg+`</p>`) {
					t.Errorf("no message %q with id %s", msg, id)
				}
				field := strings.TrimSuffix(id, "-error")
				// The summary links to the field, and the field (or its
				// fieldset) is described by its message.
				if !strings.Contains(p.body, `<a href="#`+field) {
					t.Errorf("the summary does not link to %s", field)
				}
				if !strings.Contains(p.body, `aria-describedby="`+id+`"`) {
					t.Errorf("nothing is described by %s", id)
				}
			}
			if got := strings.Count(p.body, `class="error-message"`); got != len(tc.errors) {
				t.Errorf("got %d error messages, want %d", got, len(tc.errors))
			}
			for _, k := range tc.kept {
				if !strings.Contains(p.body, k) {
					t.Errorf("the page lost %s", k)
				}
			}
		})
	}
	if r := e.admin("GET", "/api/v1/participants?email=ann@example.com", nil); r.status != 404 {
		t.Errorf("after refused submissions: got status %d, want 404 (nothing stored)", r.status)
	}
}

func TestPublicFormSubmit(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	f := e.formFixture("en")
	form := f.answers("email", " Ann@Example.com ", "answers."+f.daily, "yes")
	p := e.post(303, "/f/"+f.campaign, form)
	loc := p.header.Get("Location")
	if !strings.HasPrefix(loc, "/f/"+f.campaign+"/thanks?") || !strings.Contains(loc, "pending=1") {
		t.Fatalf("Location: got %q, want the thank-you page with pending=1", loc)
	}
	thanks := e.getPage(200, loc)
	for _, want := range []string{"<h1>Thank you!</h1>", "we have sent you an email",
		`href="https://assent.example/preferences/`, "Manage my preferences"} {
		if !strings.Contains(thanks.body, want) {
			t.Errorf("the thank-you page lacks %s", want)
		}
	}
	want := map[string]string{f.newsletter: "given", f.rules: "given", f.partners: "refused", f.daily: "pending"}
	got := e.consents("ann@example.com")
	for id, state := range want {
		if got[id] != state {
			t.Errorf("opt-in %s: got state %q, want %q", id, got[id], state)
		}
	}

	// Sent again (a double click, a resent request): nothing new.
	e.post(303, "/f/"+f.campaign, form)
	pid := e.must(200, e.admin("GET", "/api/v1/participants?email=ann@example.com", nil)).str("id")
	proof := e.must(200, e.admin("GET", "/api/v1/participants/"+pid+"/proof", nil))
	parts, _ := proof.body["participations"].([]any)
	if len(parts) != 1 {
		t.Fatalf("after the same form twice: got %d participations, want 1", len(parts))
	}
	part := parts[0].(map[string]any)
	utm, _ := part["utm"].(map[string]any)
	for k, want := range map[string]any{"source": "form", "user_agent": "public-test/1.0"} {
		if part[k] != want {
			t.Errorf("participation %s: got %v, want %v", k, part[k], want)
		}
	}
	if utm["source"] != "mail" || utm["campaign"] != "summer" {
		t.Errorf("utm: got %v, want source mail and campaign summer", utm)
	}
	if ip, _ := part["ip_hash"].(string); ip == "" || strings.Contains(ip, "127.0.0.1") {
		t.Errorf("ip_hash: got %q, want a hash of the client address", ip)
	}

	// The same page sent again with other answers is a new participation.
	e.post(303, "/f/"+f.campaign, f.answers("email", "ann@example.com", "answers."+f.partners, "yes"))
	if got := e.consents("ann@example.com")[f.partners]; got != "given" {
		t.Errorf("partners after a second participation: got %q, want given", got)
	}

	// No double opt-in accepted: no email to mention.
	p = e.post(303, "/f/"+f.campaign, f.answers("email", "bob@example.com", "key", ""))
	thanks = e.getPage(200, p.header.Get("Location"))
	if strings.Contains(thanks.body, "sent you an email") {
		t.Error("the thank-you page mentions an email, but nothing awaits confirmation")
	}
	// A forged token shows no link.
	thanks = e.getPage(200, "/f/"+f.campaign+"/thanks?p="+url.QueryEscape(pid+".forged"))
	if strings.Contains(thanks.body, "/preferences/") {
		t.Error("the thank-you page links a forged preferences token")
	}
}

func TestPublicFormClosed(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	f := e.formFixture("en")
	future := time.Now().Add(48 * time.Hour).UTC()
	notYet := e.must(201, e.admin("POST", "/api/v1/campaigns", map[string]any{"name": "Later", "language": "fr",
		"starts_at": future.Format(time.RFC3339)})).str("id")
	ended := e.must(201, e.admin("POST", "/api/v1/campaigns", map[string]any{"name": "Before", "language": "en",
		"starts_at": "2020-01-01T00:00:00Z", "ends_at": "2020-02-01T00:00:00Z"})).str("id")
	e.must(200, e.admin("PATCH", "/api/v1/campaigns/"+f.campaign, map[string]any{"status": "archived"}))
	for _, tc := range []struct {
		name, id string
		status   int
		want     string
	}{
		{"archived", f.campaign, 410, "This campaign has ended"},
		{"ended", ended, 410, "This campaign has ended"},
		{"not started", notYet, 404, "Ce formulaire n’est pas encore ouvert"},
		{"unknown", "cmp_nope", 404, "Page not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, method := range []string{"GET", "POST"} {
				var form url.Values
				if method == "POST" {
					form = f.answers()
				}
				p := e.browse(method, "/f/"+tc.id, form, nil)
				if p.status != tc.status || !strings.Contains(p.body, tc.want) {
					t.Errorf("%s: got %d, want %d with %q:\n%s", method, p.status, tc.status, tc.want, p.body)
				}
				if strings.Contains(p.body, "<form") {
					t.Errorf("%s: a closed form is shown", method)
				}
			}
		})
	}
	if p := e.getPage(404, "/f/"+notYet); !strings.Contains(p.body, strconv.Itoa(future.Year())) {
		t.Errorf("the page does not say when the form opens:\n%s", p.body)
	}
	if r := e.admin("GET", "/api/v1/participants?email=ann@example.com", nil); r.status != 404 {
		t.Errorf("after posts to closed forms: got status %d, want 404 (nothing stored)", r.status)
	}
}

func TestPublicCrossSite(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	f := e.formFixture("en")
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"other site's origin", map[string]string{"Sec-Fetch-Site": "", "Origin": "https://evil.example"}, 403},
		{"Sec-Fetch-Site cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"Sec-Fetch-Site same-site", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://x.example"}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := e.browse("POST", "/f/"+f.campaign, f.answers(), tc.header)
			if p.status != tc.want {
				t.Fatalf("got status %d, want %d", p.status, tc.want)
			}
			if !strings.Contains(p.body, "This request was refused") ||
				!strings.Contains(p.body, `<a href="/f/`+f.campaign+`">Back to the form</a>`) {
				t.Errorf("the page does not say why:\n%s", p.body)
			}
			for _, path := range []string{"/confirm/sometoken", "/preferences/ptc_x.y"} {
				if p := e.browse("POST", path, url.Values{"all": {"1"}}, tc.header); p.status != 403 {
					t.Errorf("POST %s: got status %d, want 403", path, p.status)
				}
			}
		})
	}
	if r := e.admin("GET", "/api/v1/participants?email=ann@example.com", nil); r.status != 404 {
		t.Errorf("after cross-site posts: got status %d, want 404 (nothing stored)", r.status)
	}
	// The same origin, named by Origin alone (older browsers), is fine.
	if p := e.browse("POST", "/f/"+f.campaign, f.answers(), map[string]string{"Sec-Fetch-Site": ""}); p.status != 303 {
		t.Errorf("same origin: got status %d, want 303", p.status)
	}
}

func TestPublicFormRateLimit(t *testing.T) {
	t.Parallel()
	e := newPublicEnv(t, server.Config{FormRateLimit: server.RateLimit{Requests: 1, Per: time.Hour, Burst: 2}}, nil)
	f := e.formFixture("en")
	e.post(303, "/f/"+f.campaign, f.answers("key", ""))
	e.post(422, "/f/"+f.campaign, f.answers("email", ""))
	p := e.post(429, "/f/"+f.campaign, f.answers("email", "bob@example.com"))
	retry, err := strconv.Atoi(p.header.Get("Retry-After"))
	if err != nil || retry < 3000 || retry > 3600 {
		t.Errorf("Retry-After: got %q, want about 3600 seconds", p.header.Get("Retry-After"))
	}
	if !strings.Contains(p.body, "Too many attempts") || !strings.Contains(p.body, "Please wait 3") {
		t.Errorf("the page does not say what happened:\n%s", p.body)
	}
	if r := e.admin("GET", "/api/v1/participants?email=bob@example.com", nil); r.status != 404 {
		t.Errorf("after a limited post: got status %d, want 404", r.status)
	}
	// Reading the form is not limited.
	e.getPage(200, "/f/"+f.campaign)
}

// confirmationToken returns the token of the newest queued confirmation
// email to address.
func (e *testEnv) confirmationToken(address string) string {
	e.t.Helper()
	mails, err := e.store.DueMails(context.Background(), 100)
	if err != nil {
		e.t.Fatal(err)
	}
	token := ""
	for _, m := range mails {
		if m.Recipient == address {
			token = m.Token
		}
	}
	if token == "" {
		e.t.Fatalf("no confirmation email to %s in %v", address, mails)
	}
	return token
}

func TestPublicConfirm(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64 // how far the store's clock is ahead
	e := newPublicEnv(t, server.Config{}, func(st *store.Store) {
		st.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	})
	f := e.formFixture("en")
	e.post(303, "/f/"+f.campaign, f.answers("answers."+f.daily, "yes"))
	token := e.confirmationToken("ann@example.com")

	// Opening the link (as a mail scanner would) confirms nothing.
	for range 2 {
		p := e.getPage(200, "/confirm/"+token)
		for _, want := range []string{"<h1>Confirm your subscription</h1>", "<li>Email me the daily deals.</li>",
			`<form method="post" action="/confirm/` + token + `">`, ">Confirm</button>", `name="robots" content="noindex"`} {
			if !strings.Contains(p.body, want) {
				t.Errorf("the confirmation page lacks %s", want)
			}
		}
		if got := p.header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("X-Frame-Options: got %q, want DENY", got)
		}
	}
	if got := e.consents("ann@example.com")[f.daily]; got != "pending" {
		t.Fatalf("after GET: got state %q, want pending", got)
	}

	p := e.post(200, "/confirm/"+token, url.Values{})
	for _, want := range []string{"Thank you, it is confirmed", "<li>Email me the daily deals.</li>", `href="https://assent.example/preferences/`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the done page lacks %s", want)
		}
	}
	if got := e.consents("ann@example.com")[f.daily]; got != "given" {
		t.Errorf("after POST: got state %q, want given", got)
	}
	p = e.getPage(200, "/confirm/"+token)
	if !strings.Contains(p.body, "Already confirmed") || strings.Contains(p.body, "<form") {
		t.Errorf("a used link: want Already confirmed and no button:\n%s", p.body)
	}
	e.post(200, "/confirm/"+token, url.Values{}) // confirming twice is harmless

	for _, bad := range []string{"nope", token + "x", token[:len(token)-1]} {
		if p := e.browse("GET", "/confirm/"+bad, nil, nil); p.status != 404 || !strings.Contains(p.body, "Page not found") {
			t.Errorf("GET token %q: got %d, want 404 with Page not found", bad, p.status)
		}
		if p := e.browse("POST", "/confirm/"+bad, url.Values{}, nil); p.status != 404 {
			t.Errorf("POST token %q: got %d, want 404", bad, p.status)
		}
	}

	// A link used after its time.
	e.post(303, "/f/"+f.campaign, f.answers("email", "bob@example.com", "answers."+f.daily, "yes", "key", ""))
	token = e.confirmationToken("bob@example.com")
	offset.Store(int64(8 * 24 * time.Hour))
	for _, method := range []string{"GET", "POST"} {
		var form url.Values
		if method == "POST" {
			form = url.Values{}
		}
		p := e.browse(method, "/confirm/"+token, form, nil)
		if p.status != 410 || !strings.Contains(p.body, "This link has expired") || strings.Contains(p.body, "<form") {
			t.Errorf("%s expired: got %d, want 410 with This link has expired and no button:\n%s", method, p.status, p.body)
		}
	}
	if got := e.consents("bob@example.com")[f.daily]; got != "pending" {
		t.Errorf("after an expired confirmation: got state %q, want pending (expiry is the expirer's job)", got)
	}
}

func TestPublicConfirmFrench(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	f := e.formFixture("fr")
	e.post(303, "/f/"+f.campaign, f.answers("answers."+f.daily, "yes"))
	token := e.confirmationToken("ann@example.com")
	if p := e.getPage(200, "/confirm/"+token); !strings.Contains(p.body, "Confirmez votre inscription") ||
		!strings.Contains(p.body, ">Je confirme</button>") {
		t.Errorf("the confirmation page is not in French:\n%s", p.body)
	}
	if p := e.post(200, "/confirm/"+token, url.Values{}); !strings.Contains(p.body, "Merci, c’est confirmé") {
		t.Errorf("the done page is not in French:\n%s", p.body)
	}
}

// preferencesPath returns the path of a participant's preferences page, as
// the thank-you page links it.
func (e *testEnv) preferencesPath(email string) string {
	e.t.Helper()
	r := e.must(200, e.admin("GET", "/api/v1/participants?email="+url.QueryEscape(email), nil))
	u, err := url.Parse(r.str("preferences_url"))
	if err != nil || !strings.HasPrefix(u.Path, "/preferences/") {
		e.t.Fatalf("preferences_url: got %q", r.str("preferences_url"))
	}
	return u.Path
}

func TestPublicPreferences(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	f := e.formFixture("en")
	e.post(303, "/f/"+f.campaign, f.answers("answers."+f.daily, "yes"))
	path := e.preferencesPath("ann@example.com")

	p := e.getPage(200, path)
	for _, want := range []string{"<h1>Your preferences</h1>", "For a•••@example.com",
		`<h2 class="consent-name">Newsletter</h2>`, `<h2 class="consent-name">Partners</h2>`,
		`I accept the <a href="https://example.com/rules"`,
		`<span class="state state-given">You agreed</span>`,
		`<span class="state state-pending">Waiting for your confirmation by email</span>`,
		`<span class="state state-refused">You declined</span>`,
		`<span class="since">since ` + time.Now().UTC().Format("2") + " ",
		`<input type="hidden" name="optin_id" value="` + f.newsletter + `">`,
		`>Withdraw<span class="visually-hidden">: Newsletter</span></button>`,
		`<input type="hidden" name="all" value="1">`, `name="robots" content="noindex"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the preferences page lacks %s", want)
		}
	}
	// Given: newsletter, rules; pending: daily; refused partners has no button.
	if got := strings.Count(p.body, `name="optin_id"`); got != 3 {
		t.Errorf("got %d withdraw buttons, want 3", got)
	}
	if strings.Contains(p.body, "ann@example.com") {
		t.Error("the page shows the email address in full")
	}
	if got := p.header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options: got %q, want DENY", got)
	}

	// Withdraw one.
	p = e.post(303, path, url.Values{"optin_id": {f.newsletter}})
	if loc := p.header.Get("Location"); loc != path+"?withdrawn="+f.newsletter {
		t.Errorf("Location: got %q, want %s?withdrawn=%s", loc, path, f.newsletter)
	}
	p = e.getPage(200, p.header.Get("Location"))
	if !strings.Contains(p.body, "Done: you withdrew your consent to “Newsletter”.") ||
		!strings.Contains(p.body, `<span class="state state-withdrawn">You withdrew your consent</span>`) {
		t.Errorf("after withdrawing one, the page does not say so:\n%s", p.body)
	}
	want := map[string]string{f.newsletter: "withdrawn", f.rules: "given", f.partners: "refused", f.daily: "pending"}
	got := e.consents("ann@example.com")
	for id, state := range want {
		if got[id] != state {
			t.Errorf("after withdrawing one: opt-in %s: got %q, want %q", id, got[id], state)
		}
	}

	// An opt-in that is not one of the participant's.
	other := e.optin("en", "newsletter_marketing")
	for _, id := range []string{other, "opt_nope", ""} {
		if p := e.browse("POST", path, url.Values{"optin_id": {id}}, nil); p.status != 400 {
			t.Errorf("withdraw %q: got status %d, want 400", id, p.status)
		}
	}

	// Withdraw all.
	p = e.post(303, path, url.Values{"all": {"1"}})
	p = e.getPage(200, p.header.Get("Location"))
	if !strings.Contains(p.body, "Done: you withdrew all your consents.") ||
		!strings.Contains(p.body, "You have no active consent") || strings.Contains(p.body, `name="optin_id"`) {
		t.Errorf("after withdrawing all, the page does not say so:\n%s", p.body)
	}
	want = map[string]string{f.newsletter: "withdrawn", f.rules: "withdrawn", f.partners: "refused", f.daily: "withdrawn"}
	got = e.consents("ann@example.com")
	for id, state := range want {
		if got[id] != state {
			t.Errorf("after withdrawing all: opt-in %s: got %q, want %q", id, got[id], state)
		}
	}
}

func TestPublicPreferencesBadToken(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	f := e.formFixture("en")
	e.post(303, "/f/"+f.campaign, f.answers())
	e.post(303, "/f/"+f.campaign, f.answers("email", "bob@example.com", "key", ""))
	ann := strings.TrimPrefix(e.preferencesPath("ann@example.com"), "/preferences/")
	bob := strings.TrimPrefix(e.preferencesPath("bob@example.com"), "/preferences/")
	annID, annMAC, _ := strings.Cut(ann, ".")
	bobID, _, _ := strings.Cut(bob, ".")
	last := annMAC[len(annMAC)-1:]
	flipped := "A"
	if last == "A" {
		flipped = "B"
	}
	for _, tc := range []struct{ name, token string }{
		{"tampered signature", annID + "." + annMAC[:len(annMAC)-1] + flipped},
		{"signature of another participant", bobID + "." + annMAC},
		{"no signature", annID},
		{"empty signature", annID + "."},
		{"unknown participant", "ptc_nope." + annMAC},
		{"garbage", "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := e.browse("GET", "/preferences/"+tc.token, nil, nil)
			if p.status != 404 || !strings.Contains(p.body, "Page not found") {
				t.Errorf("GET: got %d, want 404 with Page not found", p.status)
			}
			for _, secret := range []string{"Newsletter", "example.com", "Withdraw"} {
				if strings.Contains(p.body, secret) {
					t.Errorf("GET: the page shows %q", secret)
				}
			}
			if p := e.browse("POST", "/preferences/"+tc.token, url.Values{"all": {"1"}}, nil); p.status != 404 {
				t.Errorf("POST: got %d, want 404", p.status)
			}
		})
	}
	if got := e.consents("ann@example.com")[f.newsletter]; got != "given" {
		t.Errorf("after posts with bad tokens: got state %q, want given", got)
	}

}

func TestPublicFormTooLarge(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	f := e.formFixture("en")
	p := e.browse("POST", "/f/"+f.campaign, f.answers("first_name", strings.Repeat("a", 70<<10)), nil)
	if p.status != 413 || !strings.Contains(p.body, "This request could not be read") {
		t.Errorf("got %d, want 413 with a page saying so:\n%s", p.status, p.body)
	}
}

func TestPublicErasedParticipant(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	f := e.formFixture("en")
	e.post(303, "/f/"+f.campaign, f.answers())
	path := e.preferencesPath("ann@example.com")
	pid := e.must(200, e.admin("GET", "/api/v1/participants?email=ann@example.com", nil)).str("id")
	e.must(204, e.admin("DELETE", "/api/v1/participants/"+pid, nil))
	if p := e.browse("GET", path, nil, nil); p.status != 404 {
		t.Errorf("preferences of an erased participant: got %d, want 404", p.status)
	}
}

func TestPublicStatic(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	p := e.getPage(200, "/static/public.css?v=1")
	if !strings.HasPrefix(p.header.Get("Content-Type"), "text/css") {
		t.Errorf("Content-Type: got %q, want text/css", p.header.Get("Content-Type"))
	}
	if got := p.header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("Cache-Control: got %q, want a year, immutable", got)
	}
	if !strings.Contains(p.body, ":focus-visible") {
		t.Error("the stylesheet has no focus style")
	}
	for _, path := range []string{"/static/", "/static/nope.css"} {
		if p := e.browse("GET", path, nil, nil); p.status != 404 {
			t.Errorf("GET %s: got %d, want 404", path, p.status)
		}
	}
}

func TestPublicNotFoundLanguage(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	for _, tc := range []struct{ accept, want string }{
		{"", "Page not found"},
		{"fr-FR,fr;q=0.9,en;q=0.8", "Page introuvable"},
		{"es-ES,nl;q=0.8", "Pagina niet gevonden"},
		{"ja", "Page not found"},
	} {
		p := e.browse("GET", "/preferences/nope", nil, map[string]string{"Accept-Language": tc.accept})
		if p.status != 404 || !strings.Contains(p.body, tc.want) {
			t.Errorf("Accept-Language %q: got %d, want 404 with %q", tc.accept, p.status, tc.want)
		}
	}
}
