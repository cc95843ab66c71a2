package server

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/assentdev/assent"
	"golang.org/x/text/language"
)

// preferencesPage is the data of a participant's preferences page.
type preferencesPage struct {
	L      *locale
	Title  string
	For    string // the participant's email address, masked
	Action string
	Items  []preferenceItem
	// Active is set when at least one consent can be withdrawn.
	Active bool
	// Notice confirms the withdrawal that brought the participant here.
	Notice string
}

// preferenceItem is one opt-in the participant answered.
type preferenceItem struct {
	OptinID string
	Name    string
	Text    template.HTML
	Lang    string // of the text
	State   string // in words
	Class   string // the state, for styling
	Since   string
	// Withdrawable is set for a consent given or pending.
	Withdrawable bool
}

func (s *Server) publicPreferencesShow(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	pt, err := s.store.ParticipantByPreferencesToken(r.Context(), token)
	if err != nil {
		return err
	}
	loc, err := s.accountLocation(r.Context(), pt.AccountID)
	if err != nil {
		return err
	}
	type row struct {
		assent.Consent
		optin assent.Optin
	}
	rows := make([]row, 0, len(pt.Consents))
	for _, c := range pt.Consents {
		o, err := s.store.Optin(r.Context(), pt.AccountID, c.OptinID)
		if err != nil {
			return err
		}
		rows = append(rows, row{c, o})
	}
	langs := make([]string, len(rows))
	for i, c := range rows {
		langs[i] = c.optin.Language
	}
	l := preferencesLocale(r, langs)
	slices.SortStableFunc(rows, func(a, b row) int { return strings.Compare(a.OptinName, b.OptinName) })

	p := preferencesPage{L: l, Title: l.T("prefs.title"), For: maskEmail(pt.Email),
		Action: "/preferences/" + url.PathEscape(token)}
	for _, c := range rows {
		it := preferenceItem{OptinID: c.OptinID, Name: c.OptinName, Text: richText(c.optin.Text, l, false), Lang: c.optin.Language,
			Class: string(c.State), Withdrawable: c.State == assent.StateGiven || c.State == assent.StatePending}
		if c.State == "" {
			it.Class = "none"
		}
		it.State = l.T("state." + it.Class)
		it.Since = l.T("since", l.Date(c.Since.In(loc)))
		p.Active = p.Active || it.Withdrawable
		p.Items = append(p.Items, it)
	}
	switch done := r.URL.Query().Get("withdrawn"); done {
	case "":
	case "all":
		p.Notice = l.T("prefs.withdrawn_all")
	default:
		for _, it := range p.Items {
			if it.OptinID == done {
				p.Notice = l.T("prefs.withdrawn_one", it.Name)
			}
		}
	}
	s.render(w, r, http.StatusOK, "preferences", p, false)
	return nil
}

// publicPreferencesWithdraw withdraws one consent (optin_id) or all of them
// (all=1), then goes back to the page, which says what was done.
func (s *Server) publicPreferencesWithdraw(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	pt, err := s.store.ParticipantByPreferencesToken(r.Context(), token)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	all := r.PostForm.Get("all") == "1"
	id := r.PostForm.Get("optin_id")
	var ids []string
	if !all {
		// Only an opt-in this participant answered can be withdrawn here.
		if !slices.ContainsFunc(pt.Consents, func(c assent.Consent) bool { return c.OptinID == id }) {
			return badRequest("optin_id is not one of the participant's opt-ins", nil)
		}
		ids = []string{id}
	}
	if _, err := s.store.Withdraw(r.Context(), pt.AccountID, pt.ID, ids, all, assent.SourcePreferences); err != nil {
		return err
	}
	done := id
	if all {
		done = "all"
	}
	http.Redirect(w, r, "/preferences/"+url.PathEscape(token)+"?withdrawn="+url.QueryEscape(done), http.StatusSeeOther)
	return nil
}

// preferencesLocale chooses the language of a preferences page among the
// languages of the participant's opt-ins, whose texts it shows: the first
// of the browser's languages that is one of them, else the one most of
// them use. It does not depend on which consent changed last, so the page
// keeps its language as the participant withdraws.
func preferencesLocale(r *http.Request, optinLanguages []string) *locale {
	if len(optinLanguages) == 0 {
		return localeOf(r)
	}
	count := map[string]int{}
	tagOf := map[string]string{} // language base → a full tag of the opt-ins
	for _, tag := range optinLanguages {
		base := languageBase(tag)
		count[base]++
		if _, ok := tagOf[base]; !ok {
			tagOf[base] = tag
		}
	}
	accepted, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	for _, t := range accepted {
		if tag, ok := tagOf[languageBase(t.String())]; ok {
			return localeFor(tag)
		}
	}
	best := ""
	for base, n := range count {
		if best == "" || n > count[best] || (n == count[best] && base < best) {
			best = base
		}
	}
	return localeFor(tagOf[best])
}
