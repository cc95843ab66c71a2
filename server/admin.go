package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/assentdev/assent"
)

// The admin UI: HTML pages under /admin for signed-in users. This file
// holds what every admin page shares: the templates, the session check,
// the role check, the layout's data, flash messages and form errors. The
// handlers are in admin_*.go, the routes in routes.go.

// Cookies of the admin UI. Both are scoped to /admin.
const (
	sessionCookie = "assent_session"
	flashCookie   = "assent_flash"
)

// Default limits on sign-in attempts: per client address, and per email
// address whatever the client, so that neither one machine nor a botnet
// can guess a password. Every attempt counts, failed or not.
var (
	DefaultLoginRateLimit      = RateLimit{Requests: 20, Per: 10 * time.Minute, Burst: 20}
	DefaultLoginEmailRateLimit = RateLimit{Requests: 10, Per: 10 * time.Minute, Burst: 10}
)

// adminUI is what the admin pages need beyond the store.
type adminUI struct {
	pages       map[string]*template.Template
	crossOrigin *http.CrossOriginProtection
	// secure marks the cookies Secure: the base URL is https.
	secure bool
	// loginByIP and loginByEmail limit sign-in attempts; nil means no limit.
	loginByIP, loginByEmail *rateLimiter
}

// adminPages names every admin page template; each is
// ui/templates/admin/NAME.html, parsed with the layout and partials.
var adminPages = []string{"login", "error", "optins", "optin", "optin_form", "subcategories", "subcategory_form",
	"campaigns", "campaign", "campaign_form", "campaign_stats", "insights", "global_stats", "settings_account", "settings_users",
	"settings_apikeys", "settings_webhooks", "webhook", "webhook_form", "password", "participants", "participant",
	"participant_erase", "audience"}

// adminFuncs are the functions of the admin templates, with those that
// link the static files of files.
func adminFuncs(files fs.FS) (template.FuncMap, error) {
	_, funcs, err := staticAssets(files)
	if err != nil {
		return nil, err
	}
	funcs["field"] = newFieldView
	funcs["choices"] = withChoices
	funcs["group"] = func(f formView, v fieldView) checkboxGroup { return checkboxGroup{Form: f, Field: v} }
	funcs["plain"] = func(s string) string { return plainText(s, 90) }
	funcs["inc"] = func(i int) int { return i + 1 }
	funcs["deref"] = func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	}
	funcs["fieldMode"] = func(mode string) string {
		return map[string]string{assent.FieldRequired: "Required", assent.FieldOptional: "Optional",
			assent.FieldHidden: "Not asked"}[mode]
	}
	funcs["selectOf"] = func(f formView, name, label string, choices []choice, value, any string) fieldView {
		return fieldView{ID: fieldID(name), Name: name, Label: label, Value: value, Error: f.Error(name), Choices: choices,
			Placeholder: any}
	}
	funcs["count"] = formatCount
	funcs["rate"] = formatRate
	funcs["day"] = formatDay
	funcs["categoryName"] = func(key string) string {
		c, _ := assent.CategoryByKey(key)
		return c.Name
	}
	return funcs, nil
}

// parseAdminPages parses every admin page of files with the layout and
// partials.
func parseAdminPages(files fs.FS) (map[string]*template.Template, error) {
	funcs, err := adminFuncs(files)
	if err != nil {
		return nil, err
	}
	base, err := template.New("").Funcs(funcs).ParseFS(files, "templates/admin/layout.html", "templates/admin/partials.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range adminPages {
		t := template.Must(base.Clone())
		if pages[name], err = t.ParseFS(files, "templates/admin/"+name+".html"); err != nil {
			return nil, err
		}
	}
	return pages, nil
}

// newAdminUI parses the admin templates once, at start; like the public
// ones, a template that does not parse panics.
func (s *Server) newAdminUI(cfg Config) *adminUI {
	pages, err := parseAdminPages(s.uiFiles())
	if err != nil {
		panic(err)
	}
	ui := &adminUI{pages: pages, crossOrigin: http.NewCrossOriginProtection(),
		loginByIP:    newRateLimiter(orDefault(cfg.LoginRateLimit, DefaultLoginRateLimit)),
		loginByEmail: newRateLimiter(orDefault(cfg.LoginEmailRateLimit, DefaultLoginEmailRateLimit))}
	if u, err := url.Parse(s.baseURL); err == nil && u.Scheme != "" && u.Host != "" {
		ui.secure = u.Scheme == "https"
		if err := ui.crossOrigin.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			s.log.Warn("admin: base URL is not a valid origin", "base_url", s.baseURL, "err", err)
		}
	}
	ui.crossOrigin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.adminErrorPage(w, r, http.StatusForbidden, "This request came from another site",
			"For your safety, changes can only be made from Assent's own pages. Go back, reload the page and try again.")
	}))
	return ui
}

func orDefault(l, def RateLimit) RateLimit {
	if l == (RateLimit{}) {
		return def
	}
	return l
}

// adminFunc is an admin page handler: it writes its page, or returns an
// error that adminError shows as an error page.
type adminFunc func(w http.ResponseWriter, r *http.Request) error

// admin registers an admin route for signed-in users whose role may do
// action. Without a live session, a page redirects to the sign-in page;
// with a role that may not, it answers 403. Every unsafe method is refused
// when it comes from another site.
func (s *Server) admin(pattern string, action assent.Action, h adminFunc) {
	s.adminRoutes = append(s.adminRoutes, pattern)
	s.mux.Handle(pattern, s.adminUI.crossOrigin.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.adminSession(r)
		if assent.ErrorCode(err) == assent.ENOTFOUND {
			s.toLogin(w, r)
			return
		}
		if err != nil {
			s.adminError(w, r, err)
			return
		}
		ctx := context.WithValue(r.Context(), keyPrincipal, sess.Principal())
		r = r.WithContext(context.WithValue(ctx, keySession, sess))
		if !sess.User.Role.Can(action) {
			s.adminForbidden(w, r)
			return
		}
		if err := h(w, r); err != nil {
			s.adminError(w, r, err)
		}
	})))
}

// adminPublic registers an admin route that needs no session: the sign-in
// page. It is still refused from another site, so that no site can sign
// a visitor in to an account of its choosing.
func (s *Server) adminPublic(pattern string, h adminFunc) {
	s.adminRoutes = append(s.adminRoutes, pattern)
	s.mux.Handle(pattern, s.adminUI.crossOrigin.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.adminError(w, r, err)
		}
	})))
}

// adminSession returns the live session of the request's cookie, or
// ENOTFOUND.
func (s *Server) adminSession(r *http.Request) (assent.Session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return assent.Session{}, assent.NotFound("session")
	}
	return s.store.Session(r.Context(), c.Value)
}

// sessionOf returns the session that admin put in the request's context.
func sessionOf(r *http.Request) assent.Session {
	sess, _ := r.Context().Value(keySession).(assent.Session)
	return sess
}

// toLogin sends a visitor without a live session to the sign-in page,
// which brings them back to the page they asked for. A cookie that no
// longer opens a session (it expired) is removed, and the page says why.
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request) {
	q := url.Values{}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if next := r.URL.RequestURI(); next != "/admin" && next != "/admin/" {
			q.Set("next", next)
		}
	}
	if _, err := r.Cookie(sessionCookie); err == nil {
		s.setSessionCookie(w, "", -1)
		q.Set("expired", "1")
	}
	target := "/admin/login"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// setSessionCookie sets (or, with maxAge < 0, removes) the session cookie.
// It lives no longer than the session's absolute lifetime.
func (s *Server) setSessionCookie(w http.ResponseWriter, token string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/admin", MaxAge: maxAge,
		HttpOnly: true, Secure: s.adminUI.secure, SameSite: http.SameSiteLaxMode})
}

// localPath returns next when it is a path of the admin UI, and /admin
// otherwise: the sign-in page never sends anyone to another site.
func localPath(next string) string {
	if next == "" || strings.ContainsAny(next, "\\\x00\r\n") || strings.HasPrefix(next, "//") {
		return "/admin"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/admin"
	}
	if u.Path != "/admin" && !strings.HasPrefix(u.Path, "/admin/") || strings.Contains(u.Path, "/..") ||
		strings.HasPrefix(u.Path, "/admin/login") {
		return "/admin"
	}
	return u.RequestURI()
}

// flash is a one-time message shown on the page after an action.
type flash struct {
	Kind    string // ok or error
	Message string
}

// setFlash keeps a message for the next page, in a cookie that lives a
// minute: long enough for the redirect that follows an action.
func (s *Server) setFlash(w http.ResponseWriter, kind, message string) {
	// A message can quote what was sent (an id); keep the cookie small.
	if r := []rune(message); len(r) > 300 {
		message = string(r[:300]) + "…"
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(kind + ":" + message), Path: "/admin",
		MaxAge: 60, HttpOnly: true, Secure: s.adminUI.secure, SameSite: http.SameSiteLaxMode})
}

// takeFlash returns the message an action left for this page, if any, and
// removes it so that it shows once.
func (s *Server) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/admin", MaxAge: -1, HttpOnly: true,
		Secure: s.adminUI.secure, SameSite: http.SameSiteLaxMode})
	v, err := url.QueryUnescape(c.Value)
	kind, message, ok := strings.Cut(v, ":")
	if err != nil || !ok || (kind != "ok" && kind != "error") || message == "" || !utf8.ValidString(message) {
		return nil
	}
	return &flash{Kind: kind, Message: message}
}

// redirect answers an action with a redirect to the page that shows its
// result, with a flash message (none when message is empty).
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, to, message string) error {
	if message != "" {
		s.setFlash(w, "ok", message)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// adminPage is what the layout of every admin page needs. Each page's
// data embeds it; adminRender fills it in.
type adminPage struct {
	Title string
	// Section is the navigation entry of the page: optins, subcategories,
	// campaigns, insights, stats, participants or settings; Tab is the
	// settings tab.
	Section, Tab string
	Session      *assent.Session // nil on the sign-in and some error pages
	Flash        *flash
	Form         formView
	loc          *time.Location
}

func (p *adminPage) base() *adminPage { return p }

// adminData is the data of an admin page.
type adminData interface{ base() *adminPage }

// actionNames are the names by which templates ask whether the signed-in
// role may do an action: {{if $.Can "optins"}}.
var actionNames = map[string]assent.Action{
	"account":       assent.ManageAccount,
	"webhooks":      assent.ManageWebhooks,
	"subcategories": assent.ManageSubcategories,
	"optins":        assent.ManageOptins,
	"campaigns":     assent.ManageCampaigns,
	"content":       assent.ReadContent,
	"stats":         assent.ReadStats,
	"global_stats":  assent.ReadGlobalStats,
	"participants":  assent.ManageParticipants,
	"erase":         assent.EraseParticipants,
}

// Can reports whether the signed-in user may do the named action; it
// decides what the page offers, while the routes enforce it.
func (p adminPage) Can(name string) bool {
	a, ok := actionNames[name]
	if !ok {
		panic("admin: unknown action name " + name)
	}
	return p.Session != nil && p.Session.User.Role.Can(a)
}

// navItem is an entry of the top navigation.
type navItem struct {
	Label, Href, Section string
	Children             []navItem
}

// Nav returns the navigation for the signed-in user's role: only what the
// role may open.
func (p adminPage) Nav() []navItem {
	var out []navItem
	if p.Can("content") {
		out = append(out, navItem{Label: "Content", Section: "content", Children: []navItem{
			{Label: "Opt-ins", Href: "/admin/optins", Section: "optins"},
			{Label: "Subcategories", Href: "/admin/subcategories", Section: "subcategories"},
		}}, navItem{Label: "Campaigns", Href: "/admin/campaigns", Section: "campaigns"})
	}
	if p.Can("stats") {
		out = append(out, navItem{Label: "Insights", Href: "/admin/insights", Section: "insights"})
	}
	if p.Can("global_stats") {
		out = append(out, navItem{Label: "Global stats", Href: "/admin/stats", Section: "stats"})
	}
	if p.Can("participants") {
		out = append(out, navItem{Label: "Participants", Href: "/admin/participants", Section: "participants"})
	}
	if p.Can("account") {
		out = append(out, navItem{Label: "Settings", Href: "/admin/settings", Section: "settings"})
	}
	return out
}

// Active reports whether a navigation entry holds the current page.
func (p adminPage) Active(n navItem) bool {
	if n.Section == p.Section {
		return true
	}
	for _, c := range n.Children {
		if c.Section == p.Section {
			return true
		}
	}
	return false
}

// Date formats a time as a day in the account's time zone: 25 Nov 2026.
func (p adminPage) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(p.location()).Format("2 Jan 2006")
}

// DateTime formats a time in the account's time zone: 25 Nov 2026, 14:05.
func (p adminPage) DateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(p.location()).Format("2 Jan 2006, 15:04")
}

// Period says when a campaign is open, in the account's time zone.
func (p adminPage) Period(starts, ends *time.Time) string {
	switch {
	case starts != nil && ends != nil:
		return p.DateTime(*starts) + " – " + p.DateTime(*ends)
	case starts != nil:
		return "From " + p.DateTime(*starts)
	case ends != nil:
		return "Until " + p.DateTime(*ends)
	}
	return "Open, no dates"
}

// ISO formats a time for a <time datetime> attribute.
func (p adminPage) ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// TimeZone is the account's time zone, which every date on the page is in.
func (p adminPage) TimeZone() string { return p.location().String() }

func (p adminPage) location() *time.Location {
	if p.loc == nil {
		return time.UTC
	}
	return p.loc
}

// adminRender writes an admin page with the layout's data filled in. The
// whole page is executed before anything is sent.
func (s *Server) adminRender(w http.ResponseWriter, r *http.Request, status int, name string, data adminData) {
	p := data.base()
	if sess := sessionOf(r); sess.ID != "" {
		p.Session = &sess
		if loc, err := time.LoadLocation(sess.Account.TimeZone); err == nil {
			p.loc = loc
		}
	}
	if p.Flash == nil {
		p.Flash = s.takeFlash(w, r)
	}
	var buf bytes.Buffer
	pages, err := s.adminPages()
	if err == nil {
		err = pages[name].ExecuteTemplate(&buf, "layout", data)
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "render admin page", "page", name, "err", err, "request_id", requestID(r.Context()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' https:; "+
		"form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// adminPages returns the templates of the admin pages: parsed at start, or
// in development parsed again from the disk, so that an edit shows.
func (s *Server) adminPages() (map[string]*template.Template, error) {
	if !s.dev {
		return s.adminUI.pages, nil
	}
	return parseAdminPages(s.files)
}

// errorView is the data of the admin error page.
type errorView struct {
	adminPage
	Text      string
	Reference string
}

func (s *Server) adminErrorPage(w http.ResponseWriter, r *http.Request, status int, title, text string) {
	p := &errorView{adminPage: adminPage{Title: title}, Text: text}
	if status >= 500 {
		p.Reference = requestID(r.Context())
	}
	s.adminRender(w, r, status, "error", p)
}

// adminForbidden answers 403 to a role that may not open a page or do an
// action, and says who may.
func (s *Server) adminForbidden(w http.ResponseWriter, r *http.Request) {
	s.adminErrorPage(w, r, http.StatusForbidden, "You do not have access to this page",
		fmt.Sprintf("Your role, %s, does not allow this. An admin of your account can change your role if you need it.",
			sessionOf(r).User.Role))
}

// adminError shows an error a handler returned: not found, a refusal, a
// request that could not be read, or anything else as a 500 whose detail
// goes to the log only.
func (s *Server) adminError(w http.ResponseWriter, r *http.Request, err error) {
	status, detail, internal := classify(err)
	switch {
	case status == http.StatusNotFound:
		s.adminErrorPage(w, r, status, "Not found",
			"This page does not exist, or what it shows was deleted or belongs to another account.")
	case status == http.StatusForbidden:
		s.adminForbidden(w, r)
	case !internal && status < 500:
		s.adminErrorPage(w, r, status, "This could not be done", detail.Message)
	default:
		s.log.ErrorContext(r.Context(), "internal error", "err", err, "method", r.Method, "path", r.URL.Path,
			"request_id", requestID(r.Context()))
		s.adminErrorPage(w, r, http.StatusInternalServerError, "Something went wrong on our side",
			"Nothing was changed. Try again in a moment; if it keeps happening, give the reference below to whoever runs Assent.")
	}
}

func (s *Server) adminNotFound(w http.ResponseWriter, r *http.Request) error {
	return assent.NotFound("page")
}

// formView is a form's values and its problems, by field name.
type formView struct {
	Values url.Values
	Errors map[string]string
	// Problem is a problem of the whole form (a limit reached), shown on top.
	Problem string
	// Labels names the fields for the error summary, and order lists them
	// in the order of the page.
	Labels map[string]string
	order  []string
}

// fieldLabel names a field of a form for people.
type fieldLabel struct{ Name, Label string }

// Get returns the value of a field.
func (f formView) Get(name string) string { return f.Values.Get(name) }

// Has reports whether a multi-valued field (a checkbox group) holds v.
func (f formView) Has(name, v string) bool {
	for _, x := range f.Values[name] {
		if x == v {
			return true
		}
	}
	return false
}

// Error returns the problem of a field, ready to show.
func (f formView) Error(name string) string { return f.Errors[name] }

// Summary lists every problem in the order of the page's fields, each
// linking to its field, for the box on top of the form; problems of what
// the form does not show come last.
func (f formView) Summary() []errorLink {
	var out []errorLink
	names := make([]string, 0, len(f.Errors))
	for n := range f.Errors {
		names = append(names, n)
	}
	rank := func(n string) int {
		if i := slices.Index(f.order, n); i >= 0 {
			return i
		}
		return len(f.order)
	}
	sort.Slice(names, func(i, j int) bool {
		if ri, rj := rank(names[i]), rank(names[j]); ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	for _, n := range names {
		label := f.Labels[n]
		if label == "" {
			out = append(out, errorLink{Message: f.Errors[n]})
			continue
		}
		out = append(out, errorLink{Target: fieldID(n), Message: label + ": " + lowerFirst(f.Errors[n])})
	}
	return out
}

// Failed reports whether the form has any problem to show.
func (f formView) Failed() bool { return len(f.Errors) > 0 || f.Problem != "" }

// newForm returns the view of a form showing values, whose fields are
// labels in page order.
func newForm(values url.Values, labels []fieldLabel) formView {
	if values == nil {
		values = url.Values{}
	}
	f := formView{Values: values, Errors: map[string]string{}, Labels: map[string]string{}}
	for _, l := range labels {
		f.Labels[l.Name] = l.Label
		f.order = append(f.order, l.Name)
	}
	return f
}

// withError adds the problems of err to the form and reports whether err
// is one a user can act on (a *assent.Error that is invalid input or a
// conflict); other errors are for the caller to return.
func (f *formView) withError(err error) bool {
	var e *assent.Error
	if !errors.As(err, &e) || (e.Code != assent.EINVALID && e.Code != assent.ECONFLICT) {
		return false
	}
	for field, problem := range e.Fields {
		f.Errors[field] = upperFirst(problem)
	}
	if len(e.Fields) == 0 {
		f.Problem = upperFirst(e.Message)
	}
	return true
}

// formStatus is the status of a page showing a refused form.
func formStatus(err error) int {
	if assent.ErrorCode(err) == assent.ECONFLICT {
		return http.StatusConflict
	}
	return http.StatusUnprocessableEntity
}

// fieldView is one field of a form, for the field partials.
type fieldView struct {
	ID, Name, Label, Value, Hint, Error, Type, Autocomplete, Placeholder string
	Required, Mono                                                       bool
	Choices                                                              []choice
	List                                                                 string // the id of a datalist of suggestions
}

// choice is an option of a select.
type choice struct {
	Value, Label, Group string
}

// newFieldView builds a field of form f named name. opts are words:
// "required", "mono" (code-like values), or key=value for type, hint,
// autocomplete, placeholder and list.
func newFieldView(f formView, name, label string, opts ...string) fieldView {
	v := fieldView{ID: fieldID(name), Name: name, Label: label, Value: f.Get(name), Error: f.Error(name), Type: "text"}
	for _, o := range opts {
		key, val, _ := strings.Cut(o, "=")
		switch key {
		case "required":
			v.Required = true
		case "mono":
			v.Mono = true
		case "type":
			v.Type = val
		case "hint":
			v.Hint = val
		case "autocomplete":
			v.Autocomplete = val
		case "placeholder":
			v.Placeholder = val
		case "list":
			v.List = val
		default:
			panic("admin: unknown field option " + o)
		}
	}
	return v
}

// checkboxGroup is a field of several checkboxes, one per choice, with
// the form that says which are checked.
type checkboxGroup struct {
	Form  formView
	Field fieldView
}

// withChoices gives a select field its options.
func withChoices(v fieldView, choices []choice) fieldView {
	v.Choices = choices
	return v
}

// DescribedBy is the field's aria-describedby: its hint and its error.
func (v fieldView) DescribedBy() string {
	var ids []string
	if v.Error != "" {
		ids = append(ids, v.ID+"-error")
	}
	if v.Hint != "" {
		ids = append(ids, v.ID+"-hint")
	}
	return strings.Join(ids, " ")
}

// fieldID is the HTML id of a field: its name with "." and brackets
// replaced, so that it can follow "#" in a link.
func fieldID(name string) string {
	return strings.NewReplacer(".", "-", "[", "-", "]", "").Replace(name)
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n+1 < len(s) && unicode.IsUpper(rune(s[n])) { // an acronym: leave it
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

// parseAdminForm reads a url-encoded admin form, at most maxFormBody bytes.
func parseAdminForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if err := parseForm(w, r); err != nil {
		return nil, err
	}
	for k, vs := range r.PostForm {
		for i, v := range vs {
			// Browsers send line breaks as CRLF; store what people typed.
			vs[i] = strings.ReplaceAll(v, "\r\n", "\n")
		}
		r.PostForm[k] = vs
	}
	return r.PostForm, nil
}

// listAll reads every page of a list; admin pages that offer a choice
// (opt-ins to place on a form) need all of it.
func listAll[T any](read func(cursor string) ([]T, string, error)) ([]T, error) {
	var out []T
	cursor := ""
	for {
		items, next, err := read(cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}
