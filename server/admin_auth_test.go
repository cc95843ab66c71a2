package server_test

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/server"
	"github.com/assentdev/assent/store"
)

const testPassword = "correct horse battery"

// user creates a user of acme with the given role (and testPassword), named
// after the role unless an email is given.
func (e *testEnv) user(role assent.Role, email ...string) assent.User {
	e.t.Helper()
	addr := string(role) + "@acme.example"
	if len(email) > 0 {
		addr = email[0]
	}
	u, err := e.store.CreateUser(context.Background(), e.acme.ID, addr, "", role, testPassword)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// session opens a session for u through the store, as signing in does,
// and returns its token: the value of the session cookie.
func (e *testEnv) session(u assent.User) string {
	e.t.Helper()
	_, token, err := e.store.CreateSession(context.Background(), u)
	if err != nil {
		e.t.Fatal(err)
	}
	return token
}

// signedIn returns the session token of a new user of acme with role.
func (e *testEnv) signedIn(role assent.Role) string {
	e.t.Helper()
	return e.session(e.user(role))
}

// adminPage requests an admin page as a browser would, with the session
// cookie of token (none when empty); a form is sent from a page of the site.
func (e *testEnv) adminPage(token, method, path string, form url.Values) page {
	e.t.Helper()
	header := map[string]string{}
	if token != "" {
		header["Cookie"] = "assent_session=" + token
	}
	if method == "POST" && form == nil {
		form = url.Values{}
	}
	return e.browse(method, path, form, header)
}

// adminMust is adminPage that fails the test unless the answer has status want.
func (e *testEnv) adminMust(want int, token, method, path string, form url.Values) page {
	e.t.Helper()
	p := e.adminPage(token, method, path, form)
	if p.status != want {
		e.t.Fatalf("%s %s: got status %d, want %d\n%s", method, path, p.status, want, p.body)
	}
	return p
}

// cookie returns the Set-Cookie line of an answer for the cookie name, or "".
func (p page) cookie(name string) string {
	for _, c := range p.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, name+"=") {
			return c
		}
	}
	return ""
}

// sessionToken returns the session token an answer sets, or "".
func (p page) sessionToken() string {
	c := p.cookie("assent_session")
	v, _, _ := strings.Cut(strings.TrimPrefix(c, "assent_session="), ";")
	return v
}

// flash returns the message of the flash cookie an answer sets, or "".
func (p page) flash() string {
	c := p.cookie("assent_flash")
	v, _, _ := strings.Cut(strings.TrimPrefix(c, "assent_flash="), ";")
	msg, _ := url.QueryUnescape(v)
	return msg
}

// fieldError returns the problem shown next to the field with the given id.
func (p page) fieldError(id string) string {
	m := regexp.MustCompile(`(?s)<p class="field-error" id="` + regexp.QuoteMeta(id) + `-error">(.*?)</p>`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	text := html.UnescapeString(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], ""))
	return strings.TrimPrefix(strings.TrimSpace(text), "Error: ")
}

func TestAdminSignIn(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.user(assent.RoleMarketer, "ann@example.com")
	wrong := "The email address or the password is not right."
	for _, tc := range []struct {
		name            string
		email, password string
		next            string
		status          int
		location        string // for a 303
		message         string // for a refusal
	}{
		{"good", "ann@example.com", testPassword, "", 303, "/admin", ""},
		{"email in another case", " Ann@Example.COM ", testPassword, "", 303, "/admin", ""},
		{"back to the page asked for", "ann@example.com", testPassword, "/admin/optins?status=active", 303, "/admin/optins?status=active", ""},
		{"never to another site", "ann@example.com", testPassword, "https://evil.example/admin", 303, "/admin", ""},
		{"never to another site, relative", "ann@example.com", testPassword, "//evil.example/admin", 303, "/admin", ""},
		{"never out of the admin", "ann@example.com", testPassword, "/admin/../api/v1/users", 303, "/admin", ""},
		{"never to a public page", "ann@example.com", testPassword, "/f/cmp_1", 303, "/admin", ""},
		{"wrong password", "ann@example.com", "correct horse", "", 422, "", wrong},
		{"unknown email", "bob@example.com", testPassword, "", 422, "", wrong},
		{"empty", "", "", "", 422, "", "Enter your email address and your password."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.in(t)
			p := e.adminPage("", "POST", "/admin/login", url.Values{"email": {tc.email}, "password": {tc.password}, "next": {tc.next}})
			if p.status != tc.status {
				t.Fatalf("got status %d, want %d\n%s", p.status, tc.status, p.body)
			}
			if tc.status != 303 {
				if !strings.Contains(p.body, tc.message) {
					t.Errorf("got page without %q:\n%s", tc.message, p.body)
				}
				if p.sessionToken() != "" {
					t.Errorf("a refused sign-in set a session cookie: %s", p.cookie("assent_session"))
				}
				if strings.Contains(p.body, tc.password) && tc.password != "" {
					t.Error("the page shows the password typed")
				}
				return
			}
			if got := p.header.Get("Location"); got != tc.location {
				t.Errorf("got redirect to %q, want %q", got, tc.location)
			}
			c := p.cookie("assent_session")
			for _, attr := range []string{"Path=/admin", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age=43200"} {
				if !strings.Contains(c, attr) {
					t.Errorf("session cookie %q: want %s", c, attr)
				}
			}
			e.adminMust(200, p.sessionToken(), "GET", "/admin/optins", nil)
		})
	}
	// Unknown email and wrong password read exactly alike.
	a := e.adminPage("", "POST", "/admin/login", url.Values{"email": {"ann@example.com"}, "password": {"nope"}})
	b := e.adminPage("", "POST", "/admin/login", url.Values{"email": {"bob@example.com"}, "password": {"nope"}})
	if strings.ReplaceAll(a.body, "ann@", "bob@") != b.body {
		t.Errorf("the answers to a wrong password and an unknown email differ:\n%s\n----\n%s", a.body, b.body)
	}
	// A signed-in visitor of the sign-in page goes on.
	token := e.session(e.user(assent.RoleObserver))
	if p := e.adminMust(303, token, "GET", "/admin/login?next=/admin/subcategories", nil); p.header.Get("Location") != "/admin/subcategories" {
		t.Errorf("signed in, the sign-in page sends to %q, want /admin/subcategories", p.header.Get("Location"))
	}
	// A sign-in never keeps the session the browser came with.
	p := e.adminMust(303, token, "POST", "/admin/login", url.Values{"email": {"ann@example.com"}, "password": {testPassword}})
	if p.sessionToken() == token {
		t.Error("signing in kept the old session token")
	}
	e.adminMust(303, token, "GET", "/admin/optins", nil)
}

func TestAdminSignInLimits(t *testing.T) {
	t.Parallel()
	t.Run("per email", func(t *testing.T) {
		t.Parallel()
		e := newPublicEnv(t, server.Config{LoginRateLimit: server.RateLimit{Requests: -1},
			LoginEmailRateLimit: server.RateLimit{Requests: 1, Per: time.Hour, Burst: 3}}, nil)
		e.user(assent.RoleAdmin, "ann@example.com")
		for i := 0; i < 3; i++ {
			e.adminMust(422, "", "POST", "/admin/login", url.Values{"email": {"ann@example.com"}, "password": {"guess"}})
		}
		// Now even the right password waits, from any address.
		p := e.adminMust(429, "", "POST", "/admin/login", url.Values{"email": {"ANN@example.com"}, "password": {testPassword}})
		if !strings.Contains(p.body, "Too many sign-in attempts. Wait 60 minutes") || p.header.Get("Retry-After") == "" {
			t.Errorf("got Retry-After %q and page:\n%s", p.header.Get("Retry-After"), p.body)
		}
		if p.sessionToken() != "" {
			t.Error("a refused attempt opened a session")
		}
		// Another address is not held back.
		e.adminMust(422, "", "POST", "/admin/login", url.Values{"email": {"bob@example.com"}, "password": {"guess"}})
	})
	t.Run("per client address", func(t *testing.T) {
		t.Parallel()
		e := newPublicEnv(t, server.Config{LoginRateLimit: server.RateLimit{Requests: 1, Per: time.Hour, Burst: 2},
			LoginEmailRateLimit: server.RateLimit{Requests: -1}}, nil)
		e.adminMust(422, "", "POST", "/admin/login", url.Values{"email": {"a@example.com"}, "password": {"guess"}})
		e.adminMust(422, "", "POST", "/admin/login", url.Values{"email": {"b@example.com"}, "password": {"guess"}})
		e.adminMust(429, "", "POST", "/admin/login", url.Values{"email": {"c@example.com"}, "password": {"guess"}})
	})
}

func TestAdminSignOut(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	token := e.signedIn(assent.RoleEditor)
	// From another site, signing out is refused: nobody can sign you out.
	p := e.browse("POST", "/admin/logout", url.Values{}, map[string]string{"Cookie": "assent_session=" + token,
		"Sec-Fetch-Site": "cross-site"})
	if p.status != 403 {
		t.Fatalf("cross-site sign-out: got status %d, want 403", p.status)
	}
	e.adminMust(200, token, "GET", "/admin/campaigns", nil)

	p = e.adminMust(303, token, "POST", "/admin/logout", nil)
	if got := p.header.Get("Location"); got != "/admin/login" {
		t.Errorf("got redirect to %q, want /admin/login", got)
	}
	if c := p.cookie("assent_session"); !strings.Contains(c, "Max-Age=0") {
		t.Errorf("session cookie: got %q, want it removed", c)
	}
	if got := p.flash(); got != "ok:You are signed out." {
		t.Errorf("flash: got %q", got)
	}
	// The old cookie opens nothing any more, even if a browser kept it.
	p = e.adminMust(303, token, "GET", "/admin/campaigns", nil)
	if got := p.header.Get("Location"); got != "/admin/login?expired=1&next=%2Fadmin%2Fcampaigns" {
		t.Errorf("got redirect to %q", got)
	}
	if n, err := e.store.CountRows(context.Background(), "sessions"); err != nil || n != 0 {
		t.Errorf("got %d sessions stored (%v), want 0", n, err)
	}
	// Signing out without a session is no error.
	e.adminMust(303, "", "POST", "/admin/logout", nil)
}

func TestAdminRedirectsToSignIn(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/admin", "/admin/login"},
		{"GET", "/admin/optins?status=active&language=fr", "/admin/login?next=%2Fadmin%2Foptins%3Fstatus%3Dactive%26language%3Dfr"},
		{"GET", "/admin/campaigns/cmp_x/edit", "/admin/login?next=%2Fadmin%2Fcampaigns%2Fcmp_x%2Fedit"},
		{"GET", "/admin/no-such-page", "/admin/login?next=%2Fadmin%2Fno-such-page"},
		{"POST", "/admin/subcategories", "/admin/login"},
	} {
		p := e.adminPage("", tc.method, tc.path, nil)
		if p.status != 303 || p.header.Get("Location") != tc.want {
			t.Errorf("%s %s: got %d to %q, want 303 to %q", tc.method, tc.path, p.status, p.header.Get("Location"), tc.want)
		}
	}
	// A made-up cookie is no session either; the page says it ended.
	p := e.adminMust(303, "made-up", "GET", "/admin/optins", nil)
	if got := p.header.Get("Location"); got != "/admin/login?expired=1&next=%2Fadmin%2Foptins" {
		t.Errorf("got redirect to %q", got)
	}
	p = e.adminMust(200, "", "GET", "/admin/login?expired=1&next=%2Fadmin%2Foptins", nil)
	for _, want := range []string{"Your session has ended", `name="next" value="/admin/optins"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("sign-in page: want %q in\n%s", want, p.body)
		}
	}
	// Unknown pages of signed-in users are a 404 page.
	e.adminMust(404, e.signedIn(assent.RoleObserver), "GET", "/admin/no-such-page", nil)
}

func TestAdminSessionExpiry(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64 // how far the clock of the server runs ahead
	e := newPublicEnv(t, server.Config{}, func(st *store.Store) {
		st.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	})
	u := e.user(assent.RoleMarketer)
	at := func(d time.Duration) { offset.Store(int64(d)) }

	// Idle: a session unused for two hours ends.
	token := e.session(u)
	at(119 * time.Minute)
	e.adminMust(200, token, "GET", "/admin/optins", nil)
	at(2*119*time.Minute - time.Minute)
	e.adminMust(200, token, "GET", "/admin/optins", nil)
	at(2*119*time.Minute + 2*time.Hour)
	p := e.adminMust(303, token, "GET", "/admin/optins", nil)
	if !strings.Contains(p.header.Get("Location"), "expired=1") || !strings.Contains(p.cookie("assent_session"), "Max-Age=0") {
		t.Errorf("idle session: got redirect to %q and cookie %q", p.header.Get("Location"), p.cookie("assent_session"))
	}

	// Absolute: used every 90 minutes, a session still ends after 12 hours.
	at(0)
	token = e.session(u)
	for d := 90 * time.Minute; d < 12*time.Hour; d += 90 * time.Minute {
		at(d)
		e.adminMust(200, token, "GET", "/admin/campaigns", nil)
	}
	at(12 * time.Hour)
	e.adminMust(303, token, "GET", "/admin/campaigns", nil)
}

func TestAdminCrossSiteRefused(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	token := e.signedIn(assent.RoleAdmin)
	before := e.snapshot("/api/v1/subcategories", "/api/v1/account")
	for _, tc := range []struct {
		name   string
		header map[string]string
	}{
		{"Sec-Fetch-Site cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"Sec-Fetch-Site same-site", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://shop.assent.example"}},
		{"another site's Origin", map[string]string{"Sec-Fetch-Site": "", "Origin": "https://evil.example"}},
	} {
		tc.header["Cookie"] = "assent_session=" + token
		for path, form := range map[string]url.Values{
			"/admin/subcategories": {"name": {"Evil"}, "value": {"evil"}, "category": {"others"}},
			"/admin/settings":      {"name": {"evil"}, "time_zone": {"UTC"}},
			"/admin/login":         {"email": {"admin@acme.example"}, "password": {testPassword}},
		} {
			p := e.browse("POST", path, form, tc.header)
			if p.status != 403 || !strings.Contains(p.body, "This request came from another site") {
				t.Errorf("%s, POST %s: got status %d, want 403 with a page that says why\n%s", tc.name, path, p.status, p.body)
			}
			if p.sessionToken() != "" {
				t.Errorf("%s, POST %s: a session was opened", tc.name, path)
			}
		}
	}
	e.unchanged(before)
}

// Who may open which admin page or do which action, from SPEC §6, written
// out rather than taken from role.go.
var adminRouteAllowed = map[string][]assent.Role{
	"GET /admin/login":   nil, // open to all
	"POST /admin/login":  nil,
	"POST /admin/logout": nil,
	"GET /admin":         rolesReading,
	"/admin/":            rolesReading,

	"GET /admin/optins":                     rolesReading,
	"GET /admin/optins/new":                 rolesMarketing,
	"POST /admin/optins":                    rolesMarketing,
	"GET /admin/optins/{id}":                rolesReading,
	"GET /admin/optins/{id}/edit":           rolesMarketing,
	"POST /admin/optins/{id}":               rolesMarketing,
	"POST /admin/optins/{id}/archive":       rolesMarketing,
	"POST /admin/optins/{id}/restore":       rolesMarketing,
	"GET /admin/optins/{id}/audience":       rolesReading,
	"GET /admin/subcategories":              rolesReading,
	"POST /admin/subcategories":             rolesMarketing,
	"GET /admin/subcategories/{id}/edit":    rolesMarketing,
	"POST /admin/subcategories/{id}":        rolesMarketing,
	"POST /admin/subcategories/{id}/delete": rolesMarketing,

	"GET /admin/campaigns":               rolesReading,
	"GET /admin/campaigns/new":           rolesEditing,
	"POST /admin/campaigns":              rolesEditing,
	"GET /admin/campaigns/{id}":          rolesReading,
	"GET /admin/campaigns/{id}/edit":     rolesEditing,
	"POST /admin/campaigns/{id}":         rolesEditing,
	"POST /admin/campaigns/{id}/optins":  rolesEditing,
	"POST /admin/campaigns/{id}/archive": rolesEditing,
	"POST /admin/campaigns/{id}/restore": rolesEditing,
	"GET /admin/campaigns/{id}/stats":    rolesReading,

	"GET /admin/insights": rolesReading,
	"GET /admin/stats":    rolesMarketing,

	"GET /admin/participants":                 rolesMarketing,
	"GET /admin/participants/{id}":            rolesMarketing,
	"GET /admin/participants/{id}/proof.json": rolesMarketing,
	"POST /admin/participants/{id}/withdraw":  rolesMarketing,
	"GET /admin/participants/{id}/erase":      rolesAdmin,
	"POST /admin/participants/{id}/erase":     rolesAdmin,

	"GET /admin/settings":                      rolesAdmin,
	"POST /admin/settings":                     rolesAdmin,
	"GET /admin/settings/users":                rolesAdmin,
	"POST /admin/settings/users":               rolesAdmin,
	"GET /admin/settings/apikeys":              rolesAdmin,
	"POST /admin/settings/apikeys":             rolesAdmin,
	"POST /admin/settings/apikeys/{id}/revoke": rolesAdmin,
	"POST /admin/settings/users/{id}/role":     rolesAdmin,
	"POST /admin/settings/users/{id}/remove":   rolesAdmin,

	"GET /admin/settings/webhooks":                     rolesAdmin,
	"GET /admin/settings/webhooks/new":                 rolesAdmin,
	"POST /admin/settings/webhooks":                    rolesAdmin,
	"GET /admin/settings/webhooks/{id}":                rolesAdmin,
	"GET /admin/settings/webhooks/{id}/edit":           rolesAdmin,
	"POST /admin/settings/webhooks/{id}":               rolesAdmin,
	"POST /admin/settings/webhooks/{id}/disable":       rolesAdmin,
	"POST /admin/settings/webhooks/{id}/enable":        rolesAdmin,
	"POST /admin/settings/webhooks/{id}/rotate-secret": rolesAdmin,
	"POST /admin/settings/webhooks/{id}/test":          rolesAdmin,
	"POST /admin/settings/webhooks/{id}/replay":        rolesAdmin,
	"POST /admin/settings/webhooks/{id}/delete":        rolesAdmin,

	"GET /admin/password":  rolesReading, // every signed-in user, for their own
	"POST /admin/password": rolesReading,
}

// TestAdminRoles checks every admin route with every role: an allowed role
// gets its page or its action done (anything but 403), a refused one gets a
// 403 page and changes nothing.
func TestAdminRoles(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	routes := server.New(e.store, slog.New(slog.NewTextHandler(io.Discard, nil)), server.Config{}).AdminRoutes()
	for _, r := range routes {
		if _, ok := adminRouteAllowed[r]; !ok {
			t.Errorf("route %s: not in adminRouteAllowed; add it with the roles SPEC §6 gives", r)
		}
	}
	for r := range adminRouteAllowed {
		if !slices.Contains(routes, r) {
			t.Errorf("adminRouteAllowed lists %s, which routes.go does not have", r)
		}
	}
	tokens := map[assent.Role]string{}
	for _, role := range assent.UserRoles {
		tokens[role] = e.signedIn(role)
	}
	ids := map[string]string{
		"optins":        e.optin("en", "legal"),
		"subcategories": e.subcategory("weekly", "newsletter_marketing"),
		"campaigns":     e.campaign("en"),
		"apikeys":       e.must(201, e.admin("POST", "/api/v1/apikeys", map[string]any{"name": "spare", "role": "collector"})).str("id"),
		"webhooks":      e.must(201, e.admin("POST", "/api/v1/webhooks", hookBody(nil))).str("id"),
		"users":         e.user(assent.RoleObserver, "spare@acme.example").ID,
	}
	ids["participants"] = e.must(201, e.call(e.keys[assent.RoleCollector], "POST", "/api/v1/campaigns/"+ids["campaigns"]+"/participations",
		map[string]any{"email": "roles@example.com", "answers": map[string]any{}})).str("participant_id")
	readAll := []string{"/api/v1/optins", "/api/v1/subcategories", "/api/v1/campaigns", "/api/v1/account", "/api/v1/users",
		"/api/v1/apikeys", "/api/v1/optins/" + ids["optins"], "/api/v1/campaigns/" + ids["campaigns"],
		"/api/v1/webhooks"} // the list shows each endpoint's settings and deliveries waiting
	for _, route := range routes {
		allowed := adminRouteAllowed[route]
		if allowed == nil || route == "/admin/" {
			continue
		}
		method, path, _ := strings.Cut(route, " ")
		for noun, id := range ids {
			if strings.HasPrefix(path, "/admin/"+noun+"/{id}") || strings.HasPrefix(path, "/admin/settings/"+noun+"/{id}") {
				path = strings.Replace(path, "{id}", id, 1)
			}
		}
		for _, role := range assent.UserRoles {
			before := e.snapshot(readAll...)
			p := e.adminPage(tokens[role], method, path, nil)
			if slices.Contains(allowed, role) {
				if p.status == 403 || p.status >= 500 || (method == "GET" && p.status != 200 && p.status != 303) {
					t.Errorf("%s as %s: got status %d, want it allowed\n%s", route, role, p.status, p.body)
				}
				continue
			}
			if p.status != 403 || !strings.Contains(p.body, "You do not have access") || !strings.Contains(p.body, string(role)) {
				t.Errorf("%s as %s: got status %d, want 403 with a page naming the role\n%s", route, role, p.status, p.body)
			}
			e.in(t).unchanged(before)
		}
	}

	// What a role may not do is not offered either. (The loop above
	// deleted the subcategory, as admin: take another.)
	ids["subcategories"] = e.subcategory("monthly", "newsletter_marketing")
	for _, role := range assent.UserRoles {
		for _, tc := range []struct {
			path, link string
			allowed    []assent.Role
		}{
			{"/admin/campaigns", `href="/admin/settings"`, rolesAdmin},
			{"/admin/campaigns", `href="/admin/campaigns/new"`, rolesEditing},
			{"/admin/optins", `href="/admin/optins/new"`, rolesMarketing},
			{"/admin/optins/" + ids["optins"], `href="/admin/optins/` + ids["optins"] + `/edit"`, rolesMarketing},
			{"/admin/subcategories", `action="/admin/subcategories"`, rolesMarketing},
			{"/admin/subcategories", `href="/admin/subcategories/` + ids["subcategories"] + `/edit"`, rolesMarketing},
			{"/admin/campaigns/" + ids["campaigns"], `action="/admin/campaigns/` + ids["campaigns"] + `/archive"`, rolesEditing},
			{"/admin/campaigns", `href="/admin/optins"`, rolesReading},
			{"/admin/campaigns", `href="/admin/insights"`, rolesReading},
			{"/admin/campaigns", `href="/admin/stats"`, rolesMarketing},
			{"/admin/campaigns", `href="/admin/participants"`, rolesMarketing},
			{"/admin/optins/" + ids["optins"], `href="/admin/optins/` + ids["optins"] + `/audience"`, rolesReading},
			{"/admin/campaigns/" + ids["campaigns"], `href="/admin/campaigns/` + ids["campaigns"] + `/stats"`, rolesReading},
		} {
			p := e.adminMust(200, tokens[role], "GET", tc.path, nil)
			if got, want := strings.Contains(p.body, tc.link), slices.Contains(tc.allowed, role); got != want {
				t.Errorf("GET %s as %s: got %s shown %v, want %v", tc.path, role, tc.link, got, want)
			}
		}
	}
}

// TestAdminAccountsApart checks that a user of one account never reaches
// another account's content through the admin pages.
func TestAdminAccountsApart(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	token := e.signedIn(assent.RoleAdmin)
	other := func(method, path string, body any) string {
		return e.must(201, e.call(e.otherKey, method, path, body)).str("id")
	}
	sub := other("POST", "/api/v1/subcategories", map[string]any{"name": "Theirs", "value": "theirs", "category": "others"})
	optin := other("POST", "/api/v1/optins", map[string]any{"name": "Theirs", "language": "en", "text": "t",
		"subcategories": []string{"theirs"}})
	campaign := other("POST", "/api/v1/campaigns", map[string]any{"name": "Theirs", "language": "en"})
	for _, path := range []string{"/admin/optins/" + optin, "/admin/optins/" + optin + "/edit", "/admin/campaigns/" + campaign,
		"/admin/campaigns/" + campaign + "/edit", "/admin/subcategories/" + sub + "/edit"} {
		e.adminMust(404, token, "GET", path, nil)
	}
	for _, path := range []string{"/admin/optins/" + optin + "/archive", "/admin/campaigns/" + campaign + "/archive",
		"/admin/subcategories/" + sub + "/delete"} {
		e.adminMust(404, token, "POST", path, nil)
	}
	e.adminMust(404, token, "POST", "/admin/campaigns/"+campaign+"/optins", url.Values{"add": {optin}})
	mine := e.campaign("en")
	p := e.adminMust(303, token, "POST", "/admin/campaigns/"+mine+"/optins", url.Values{"add": {optin}})
	if got := p.flash(); !strings.HasPrefix(got, "error:No opt-in has the id") {
		t.Errorf("adding their opt-in to my campaign: got flash %q", got)
	}
	if got := e.get("/api/v1/campaigns/" + mine).strs("optins"); len(got) != 0 {
		t.Errorf("my campaign's opt-ins: got %v, want none", got)
	}
	for _, path := range []string{"/admin/optins", "/admin/subcategories", "/admin/campaigns"} {
		if p := e.adminMust(200, token, "GET", path, nil); strings.Contains(p.body, "Theirs") {
			t.Errorf("GET %s shows another account's content", path)
		}
	}
}
