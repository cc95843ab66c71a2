package server

import (
	"html/template"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPagesRender executes every page template in every language with
// fixture data, each of its variants included.
func TestPagesRender(t *testing.T) {
	t.Parallel()
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.ui = s.newPublicUI(Config{})
	for lang := range messages {
		l := localeFor(lang)
		field := formField{L: l, ID: "email", Label: l.T("form.email"), Type: "email", Value: "a@", Required: true,
			Error: l.T("err.email.format")}
		optin := func(radio bool) formOptin {
			return formOptin{L: l, ID: "optin-o", Name: "answers.o", Text: richText("I [agree](https://e.com)", l, false),
				Info: template.HTML("<p>info</p>"), LogoURL: "https://e.com/logo.png", Radio: radio, Mandatory: true,
				Answer: "yes", Error: l.T("err.mandatory")}
		}
		pages := map[string]any{
			"form": formPage{L: l, Title: "T", Campaign: "C", Action: "/f/c", Key: "k", Fields: []formField{field},
				Optins: []formOptin{optin(false), optin(true)}, UTM: []hiddenInput{{"utm_source", "x"}},
				Errors: []errorLink{{Target: "email", Message: field.Error}, {Message: l.T("err.form")}}},
			"thanks":  thanksPage{L: l, Title: "T", Campaign: "C", Pending: true, PreferencesURL: "https://e.com/p"},
			"message": errorPage{L: l, Title: "T", Text: "x", Reference: "req", Back: "/f/c", BackLabel: l.T("error.back_form")},
			"preferences": preferencesPage{L: l, Title: "T", For: "a•••@e.com", Action: "/preferences/t", Active: true,
				Notice: l.T("prefs.withdrawn_all"), Items: []preferenceItem{{OptinID: "o", Name: "N", Text: "t", Lang: "en",
					State: l.T("state.given"), Class: "given", Since: l.T("since", "x"), Withdrawable: true}}},
		}
		for _, state := range []string{"ask", "done", "already", "expired"} {
			pages["confirm-"+state] = confirmPage{L: l, Title: "T", State: state, Optins: []template.HTML{"N"}, Action: "/confirm/t",
				PreferencesURL: "https://e.com/p"}
		}
		pages["preferences-empty"] = preferencesPage{L: l, Title: "T"}
		for name, data := range pages {
			w := httptest.NewRecorder()
			page, _, _ := strings.Cut(name, "-")
			s.render(w, httptest.NewRequest("GET", "/", nil), 200, page, data, false)
			body := w.Body.String()
			if w.Code != 200 || !strings.Contains(body, "</html>") || strings.Contains(body, "MISSING(") {
				t.Errorf("%s in %s: got status %d:\n%s", name, lang, w.Code, body)
			}
		}
	}
}
