package server

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"unicode/utf8"
)

// embeddedUI holds the templates and static assets of the pages, so that
// the binary serves them without any file beside it.
//
//go:embed ui/templates ui/static
var embeddedUI embed.FS

// uiSource returns the files of the pages, templates/ and static/: those
// of the directory dir when it is set (development), else the embedded
// ones.
func uiSource(dir string) fs.FS {
	if dir != "" {
		return os.DirFS(dir)
	}
	files, err := fs.Sub(embeddedUI, "ui")
	if err != nil {
		panic(err)
	}
	return files
}

// uiFiles returns the files the server reads its pages from.
func (s *Server) uiFiles() fs.FS {
	if s.files == nil {
		return uiSource("")
	}
	return s.files
}

// staticAssets returns the static files of files and the template
// functions that link them. They are read once per server, at start (and
// at every page in development).
func staticAssets(files fs.FS) (fs.FS, template.FuncMap, error) {
	static, err := fs.Sub(files, "static")
	if err != nil {
		return nil, nil, err
	}
	versions := map[string]string{}
	err = fs.WalkDir(static, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, path)
		sum := sha256.Sum256(b)
		versions[path] = hex.EncodeToString(sum[:6])
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	funcs := template.FuncMap{
		// asset links a static file with its content hash, so that it can be
		// cached for a year and still change with a new release.
		"asset": func(name string) string {
			v, ok := versions[name]
			if !ok {
				panic("ui: no static file " + name)
			}
			return "/static/" + name + "?v=" + v
		},
	}
	return static, funcs, nil
}

// publicUI is what the public pages need beyond the store: their parsed
// templates, the submission rate limit and the cross-origin check.
type publicUI struct {
	pages       map[string]*template.Template // by page name: form, thanks, message, confirm, preferences
	static      http.Handler
	limiter     *rateLimiter // nil when form submissions are not limited
	crossOrigin *http.CrossOriginProtection
}

// parsePublicPages parses the templates of the public pages in files.
func parsePublicPages(files fs.FS) (map[string]*template.Template, error) {
	_, funcs, err := staticAssets(files)
	if err != nil {
		return nil, err
	}
	base, err := template.New("").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range []string{"form", "thanks", "message", "confirm", "preferences"} {
		t := template.Must(base.Clone())
		if pages[name], err = t.ParseFS(files, "templates/"+name+".html"); err != nil {
			return nil, err
		}
	}
	return pages, nil
}

// newPublicUI parses the templates once, at start. They are part of the
// binary, so a template that does not parse is a programming error: it
// panics, and every test catches it.
func (s *Server) newPublicUI(cfg Config) *publicUI {
	static, _, err := staticAssets(s.uiFiles())
	if err != nil {
		panic(err)
	}
	pages, err := parsePublicPages(s.uiFiles())
	if err != nil {
		panic(err)
	}
	ui := &publicUI{pages: pages, static: staticHandler(static, s.dev),
		limiter: newRateLimiter(cfg.FormRateLimit), crossOrigin: http.NewCrossOriginProtection()}
	// Behind a proxy that rewrites Host, the browser's Origin is the public
	// address: trust it.
	if u, err := url.Parse(s.baseURL); err == nil && u.Scheme != "" && u.Host != "" {
		if err := ui.crossOrigin.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			s.log.Warn("public pages: base URL is not a valid origin", "base_url", s.baseURL, "err", err)
		}
	}
	ui.crossOrigin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l := localeOf(r)
		p := errorPage{Title: l.T("error.forbidden_title"), Text: l.T("error.forbidden_text")}
		p.Back, p.BackLabel = backTo(r, l)
		s.renderError(w, r, http.StatusForbidden, l, p)
	}))
	return ui
}

// publicPages returns the templates of the public pages: parsed at start,
// or in development parsed again from the disk, so that an edit shows.
func (s *Server) publicPages() (map[string]*template.Template, error) {
	if !s.dev {
		return s.ui.pages, nil
	}
	return parsePublicPages(s.files)
}

// backTo returns the link back to the page whose form was refused, with
// its label.
func backTo(r *http.Request, l *locale) (string, string) {
	if strings.HasPrefix(r.URL.Path, "/f/") {
		return r.URL.Path, l.T("error.back_form")
	}
	return r.URL.Path, l.T("error.back_page")
}

// parseForm reads the url-encoded body of a public form, at most
// maxFormBody bytes: 413 beyond, 400 when it cannot be read.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	err := r.ParseForm()
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return &httpError{status: http.StatusRequestEntityTooLarge, code: codeTooLarge,
			message: fmt.Sprintf("the form is larger than %d bytes", maxFormBody)}
	case err != nil:
		return badRequest("the form could not be read", nil)
	}
	return nil
}

// staticHandler serves the static files with a long cache lifetime: pages
// link them with a content hash (see asset), so a new version has a new
// address. In development (dev), browsers check them on every use.
// Directories are not listed.
func staticHandler(static fs.FS, dev bool) http.Handler {
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		if dev {
			w.Header().Set("Cache-Control", "no-cache")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}

// pageFunc is a public page handler: it writes its page, or returns an
// error that page shows as an error page.
type pageFunc func(w http.ResponseWriter, r *http.Request) error

// page adapts a pageFunc to http.Handler.
func (s *Server) page(h pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.pageError(w, r, err)
		}
	})
}

// localeError carries the language of the page that failed, so that its
// error page speaks it.
type localeError struct {
	l   *locale
	err error
}

func (e *localeError) Error() string { return e.err.Error() }
func (e *localeError) Unwrap() error { return e.err }

// inLocale returns err (nil stays nil) marked with the page's language.
func inLocale(l *locale, err error) error {
	if err == nil {
		return nil
	}
	return &localeError{l: l, err: err}
}

// pageError shows err as an error page: not found (also for bad tokens),
// an unreadable request, or anything else as a 500 whose detail goes to
// the log only, with the request id shown as a reference.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	l := localeOf(r)
	var le *localeError
	if errors.As(err, &le) {
		l = le.l
	}
	status, _, internal := classify(err)
	switch {
	case status == http.StatusNotFound:
		s.renderError(w, r, status, l, errorPage{Title: l.T("error.not_found_title"), Text: l.T("error.not_found_text")})
	case !internal && status < 500:
		s.renderError(w, r, status, l, errorPage{Title: l.T("error.bad_title"), Text: l.T("error.bad_text")})
	default:
		id := requestID(r.Context())
		s.log.ErrorContext(r.Context(), "internal error", "err", err, "method", r.Method, "path", r.URL.Path,
			"request_id", id)
		s.renderError(w, r, http.StatusInternalServerError, l, errorPage{Title: l.T("error.internal_title"),
			Text: l.T("error.internal_text"), Reference: id})
	}
}

// errorPage is the data of the message page when it reports a problem, or
// any other one-off message (a closed campaign).
type errorPage struct {
	L         *locale
	Title     string
	Text      string
	Reference string // a request id to quote, for internal errors
	// Back, when set, links to where the visitor should go next.
	Back, BackLabel string
}

// renderError shows a message page. It holds no action, so it may show in
// a frame: the answer to a framed form's submission can be one.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, l *locale, p errorPage) {
	p.L = l
	s.render(w, r, status, "message", p, true)
}

// render writes a page: the whole page is executed before anything is
// sent, so that a failing template gives a clean 500, not half a page.
// Only frameable pages (the campaign form, its thank-you page, messages)
// may show inside another site's frame: the pages whose buttons confirm or
// withdraw consent may not, so that no site can trick a click on them.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, data any, frameable bool) {
	var buf bytes.Buffer
	pages, err := s.publicPages()
	if err == nil {
		err = pages[page].ExecuteTemplate(&buf, "layout", data)
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "render page", "page", page, "err", err, "request_id", requestID(r.Context()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages carry typed answers or tokens: never keep them in a cache.
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// Tokens travel in the paths of these pages; keep them on this site.
	h.Set("Referrer-Policy", "same-origin")
	csp := "default-src 'none'; style-src 'self'; img-src 'self' https:; form-action 'self'; base-uri 'none'"
	if !frameable {
		csp += "; frame-ancestors 'none'"
		h.Set("X-Frame-Options", "DENY")
	}
	h.Set("Content-Security-Policy", csp)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

var (
	// textLink matches the links of opt-in texts, written [label](target).
	textLink   = regexp.MustCompile(`\[([^\]]*)\]\(([^)\s]*)\)`)
	blankLines = regexp.MustCompile(`\n\s*\n`)
)

// richText renders an opt-in text or info as HTML: everything is escaped
// except links written [label](https://…), which become real links
// opening in a new tab, and line breaks. A link to anything but an http or
// https URL stays plain text. Blank lines separate paragraphs when
// paragraphs is set.
func richText(s string, l *locale, paragraphs bool) template.HTML {
	s = strings.ReplaceAll(strings.TrimSpace(s), "\r\n", "\n")
	var b strings.Builder
	blocks := []string{s}
	if paragraphs {
		blocks = blankLines.Split(s, -1)
	}
	for _, block := range blocks {
		if paragraphs {
			b.WriteString("<p>")
		}
		inline(&b, block, l)
		if paragraphs {
			b.WriteString("</p>")
		}
	}
	return template.HTML(b.String())
}

func inline(b *strings.Builder, s string, l *locale) {
	text := func(t string) {
		b.WriteString(strings.ReplaceAll(template.HTMLEscapeString(t), "\n", "<br>"))
	}
	last := 0
	for _, m := range textLink.FindAllStringSubmatchIndex(s, -1) {
		label, target := s[m[2]:m[3]], s[m[4]:m[5]]
		u, err := url.Parse(target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			continue // left as it was written, escaped with the text around it
		}
		text(s[last:m[0]])
		if strings.TrimSpace(label) == "" {
			label = target
		}
		fmt.Fprintf(b, `<a href="%s" target="_blank" rel="noopener noreferrer">%s<span class="visually-hidden"> %s</span></a>`,
			template.HTMLEscapeString(u.String()), template.HTMLEscapeString(label),
			template.HTMLEscapeString(l.T("form.new_tab")))
		last = m[1]
	}
	text(s[last:])
}

// plainText returns an opt-in text without link markup, cut to n
// characters: a short reminder of which opt-in an error is about.
func plainText(s string, n int) string {
	s = textLink.ReplaceAllString(s, "$1")
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n])) + "…"
}

// maskEmail shows enough of an address for its owner to recognise it,
// and little to anyone else who gets hold of a link: j•••@example.com.
func maskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return ""
	}
	first, _ := utf8.DecodeRuneInString(local)
	return string(first) + "•••@" + domain
}
