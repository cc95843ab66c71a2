package server

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMessagesComplete(t *testing.T) {
	t.Parallel()
	for lang, msgs := range messages {
		for key := range messages["en"] {
			if msgs[key] == "" {
				t.Errorf("%s: no label %s", lang, key)
			}
		}
		for key := range msgs {
			if _, ok := messages["en"][key]; !ok {
				t.Errorf("%s: label %s is not in English, so no page uses it", lang, key)
			}
		}
		if got := len(strings.Fields(msgs["months"])); got != 12 {
			t.Errorf("%s: got %d month names, want 12", lang, got)
		}
	}
}

func TestLocale(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		tag, lang, submit, date string
	}{
		{"en", "en", "Submit", "1 March 2026"},
		{"fr-BE", "fr-BE", "Envoyer", "1er mars 2026"},
		{"FR", "FR", "Envoyer", "1er mars 2026"},
		{"nl-BE", "nl-BE", "Verzenden", "1 maart 2026"},
		{"de-AT", "de-AT", "Absenden", "1. März 2026"},
		{"es", "es", "Submit", "1 March 2026"},
		{"", "en", "Submit", "1 March 2026"},
	} {
		l := localeFor(tc.tag)
		if l.Lang != tc.lang || l.T("form.submit") != tc.submit || l.Date(day) != tc.date {
			t.Errorf("%q: got lang %q, %q, %q; want %q, %q, %q", tc.tag, l.Lang, l.T("form.submit"), l.Date(day),
				tc.lang, tc.submit, tc.date)
		}
	}
	if got := localeFor("fr").Date(day.AddDate(0, 0, 1)); got != "2 mars 2026" {
		t.Errorf("got %q, want 2 mars 2026", got)
	}
	if got := localeFor("en").T("no.such.key"); got != "MISSING(no.such.key)" {
		t.Errorf("missing key: got %q, want MISSING(no.such.key)", got)
	}
}

func TestPreferencesLocale(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		accept string
		optins []string
		want   string
	}{
		{"", []string{"en", "fr-BE", "fr-BE"}, "fr-BE"},
		{"en-GB,en;q=0.9", []string{"en", "fr-BE", "fr-BE"}, "en"},
		{"de, fr;q=0.5", []string{"en", "en", "fr"}, "fr"},
		{"de", []string{"en", "fr", "fr"}, "fr"},
		{"", []string{"fr", "en"}, "en"},
		{"nl", nil, "nl"},
		{"", nil, "en"},
	} {
		r := httptest.NewRequest("GET", "/preferences/x", nil)
		r.Header.Set("Accept-Language", tc.accept)
		if got := preferencesLocale(r, tc.optins).Lang; got != tc.want {
			t.Errorf("Accept-Language %q, opt-ins in %v: got %s, want %s", tc.accept, tc.optins, got, tc.want)
		}
	}
}
