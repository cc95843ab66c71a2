package server

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
	"golang.org/x/text/language"
)

// adminPageSize is how many rows an admin list shows per page.
const adminPageSize = 25

var optinLabels = []fieldLabel{{"name", "Internal name"}, {"text", "Consent text"}, {"info", "More information"},
	{"language", "Language"}, {"display", "Display"}, {"subcategories", "Subcategories"}, {"variable", "Variable"},
	{"logo_url", "Logo URL"}, {"status", "Status"}}

// languageNames names the languages people pick most; any other BCP 47
// tag is accepted and shown as is.
var languageNames = map[string]string{
	"ar": "Arabic", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek", "en": "English", "es": "Spanish",
	"fi": "Finnish", "fr": "French", "hu": "Hungarian", "it": "Italian", "ja": "Japanese", "lb": "Luxembourgish",
	"nb": "Norwegian", "nl": "Dutch", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian",
	"sk": "Slovak", "sv": "Swedish", "tr": "Turkish", "uk": "Ukrainian", "zh": "Chinese",
}

// languageLabel names a language tag for people: "Dutch (nl-BE)".
func languageLabel(tag string) string {
	t, err := language.Parse(tag)
	if err != nil {
		return tag
	}
	base, _ := t.Base()
	if name, ok := languageNames[base.String()]; ok {
		return name + " (" + tag + ")"
	}
	return tag
}

// languageSuggestions are the tags offered in language inputs, which take
// any other tag too.
var languageSuggestions = func() []choice {
	var out []choice
	for _, tag := range []string{"en", "fr", "nl", "de", "es", "it", "pt", "pl", "sv", "da", "fi", "nb",
		"en-GB", "en-US", "fr-BE", "fr-CA", "nl-BE", "de-AT", "de-CH"} {
		out = append(out, choice{Value: tag, Label: languageLabel(tag)})
	}
	return out
}()

// optinsView is the data of the opt-in list.
type optinsView struct {
	adminPage
	Optins    []assent.Optin
	Filter    store.OptinFilter
	Languages []choice
	Statuses  []choice
	Cats      []choice
	// Next and First link to the next page and back to the first one;
	// empty when there is none.
	Next, First string
	// Subcategory names the subcategory filter, set from the subcategories page.
	Subcategory string
}

// Filtered reports whether any filter is set.
func (v optinsView) Filtered() bool { return v.Filter != (store.OptinFilter{}) }

func (s *Server) adminOptinList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	accountID := principal(r.Context()).AccountID
	f := store.OptinFilter{Status: q.Get("status"), Category: q.Get("category"), Subcategory: q.Get("subcategory")}
	// A filter that cannot match anything (an old link, a typed URL) is
	// dropped rather than shown as an error: the list is still useful.
	if f.Status != assent.StatusActive && f.Status != assent.StatusArchived {
		f.Status = ""
	}
	if assent.CategoryIndex(f.Category) < 0 {
		f.Category = ""
	}
	if tag, err := assent.CanonicalLanguage(q.Get("language")); err == nil {
		f.Language = tag
	}
	v := &optinsView{adminPage: adminPage{Title: "Opt-ins", Section: "optins"}, Filter: f,
		Statuses: []choice{{Value: assent.StatusActive, Label: "Active"}, {Value: assent.StatusArchived, Label: "Archived"}},
		Cats:     categoryChoices()}
	if f.Subcategory != "" {
		subs, err := s.store.Subcategories(r.Context(), accountID)
		if err != nil {
			return err
		}
		v.Subcategory = f.Subcategory
		for _, sc := range subs {
			if sc.Value == f.Subcategory {
				v.Subcategory = sc.Name
			}
		}
	}
	langs, err := s.store.OptinLanguages(r.Context(), accountID)
	if err != nil {
		return err
	}
	for _, l := range langs {
		v.Languages = append(v.Languages, choice{Value: l, Label: languageLabel(l)})
	}
	optins, next, err := s.store.Optins(r.Context(), accountID, f, store.Page{Cursor: q.Get("cursor"), Limit: adminPageSize})
	if assent.ErrorCode(err) == assent.EINVALID { // a cursor from elsewhere: start over
		optins, next, err = s.store.Optins(r.Context(), accountID, f, store.Page{Limit: adminPageSize})
	}
	if err != nil {
		return err
	}
	v.Optins = optins
	filters := url.Values{}
	for k, val := range map[string]string{"status": f.Status, "language": f.Language, "category": f.Category,
		"subcategory": f.Subcategory} {
		if val != "" {
			filters.Set(k, val)
		}
	}
	if next != "" {
		nq := url.Values{"cursor": {next}}
		for k, val := range filters {
			nq[k] = val
		}
		v.Next = "/admin/optins?" + nq.Encode()
	}
	if q.Get("cursor") != "" {
		v.First = "/admin/optins"
		if len(filters) > 0 {
			v.First += "?" + filters.Encode()
		}
	}
	s.adminRender(w, r, http.StatusOK, "optins", v)
	return nil
}

// optinView is the data of an opt-in's page.
type optinView struct {
	adminPage
	Optin         assent.Optin
	Versions      []assent.OptinVersion // newest first
	Subcategories []assent.Subcategory
	// Preview and InfoPreview show the text as participants see it, links
	// and all; Versions keep the exact text as written.
	Preview, InfoPreview template.HTML
}

func (s *Server) adminOptinShow(w http.ResponseWriter, r *http.Request) error {
	accountID := principal(r.Context()).AccountID
	o, err := s.store.Optin(r.Context(), accountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	versions, err := s.store.OptinVersions(r.Context(), accountID, o.ID)
	if err != nil {
		return err
	}
	slices.Reverse(versions)
	subs, err := s.store.Subcategories(r.Context(), accountID)
	if err != nil {
		return err
	}
	l := localeFor(o.Language)
	v := &optinView{adminPage: adminPage{Title: o.Name, Section: "optins"}, Optin: o, Versions: versions,
		Preview: richText(o.Text, l, false)}
	if o.Info != "" {
		v.InfoPreview = richText(o.Info, l, true)
	}
	for _, sc := range subs {
		if slices.Contains(o.Subcategories, sc.Value) {
			v.Subcategories = append(v.Subcategories, sc)
		}
	}
	s.adminRender(w, r, http.StatusOK, "optin", v)
	return nil
}

// optinFormView is the data of the page that creates or edits an opt-in.
type optinFormView struct {
	adminPage
	Optin     *assent.Optin // nil for a new one
	Groups    []subcategoryGroup
	Languages []choice
}

func (s *Server) optinForm(r *http.Request, o *assent.Optin, form formView) (*optinFormView, error) {
	subs, err := s.store.Subcategories(r.Context(), principal(r.Context()).AccountID)
	if err != nil {
		return nil, err
	}
	v := &optinFormView{adminPage: adminPage{Title: "New opt-in", Section: "optins", Form: form}, Optin: o,
		Languages: languageSuggestions}
	if o != nil {
		v.Title = "Edit “" + o.Name + "”"
	}
	for _, c := range assent.Categories {
		g := subcategoryGroup{Category: c, Purpose: categoryPurposes[c.Key]}
		for _, sc := range subs {
			if sc.Category == c.Key {
				g.Items = append(g.Items, subcategoryRow{Subcategory: sc})
			}
		}
		v.Groups = append(v.Groups, g)
	}
	return v, nil
}

func (s *Server) adminOptinNew(w http.ResponseWriter, r *http.Request) error {
	v, err := s.optinForm(r, nil, newForm(url.Values{"display": {assent.DisplayCheckbox}, "language": {"en"}}, optinLabels))
	if err != nil {
		return err
	}
	s.adminRender(w, r, http.StatusOK, "optin_form", v)
	return nil
}

// applyOptinForm sets the fields of an opt-in form on o.
func applyOptinForm(o *assent.Optin, form url.Values) {
	o.Name = form.Get("name")
	o.Language = strings.TrimSpace(form.Get("language"))
	o.Text = strings.TrimSpace(form.Get("text"))
	o.Info = strings.TrimSpace(form.Get("info"))
	o.LogoURL = strings.TrimSpace(form.Get("logo_url"))
	o.Display = form.Get("display")
	o.Mandatory = form.Get("mandatory") == "on"
	o.DoubleOptin = form.Get("double_optin") == "on"
	o.Variable = strings.TrimSpace(form.Get("variable"))
	o.Subcategories = form["subcategories"]
}

func (s *Server) adminOptinCreate(w http.ResponseWriter, r *http.Request) error {
	form, err := parseAdminForm(w, r)
	if err != nil {
		return err
	}
	var o assent.Optin
	applyOptinForm(&o, form)
	o, err = s.store.CreateOptin(r.Context(), principal(r.Context()).AccountID, o)
	if err != nil {
		return s.optinFormFailed(w, r, nil, form, err)
	}
	return s.redirect(w, r, "/admin/optins/"+url.PathEscape(o.ID), "Opt-in “"+o.Name+"” created.")
}

// optinFormFailed shows the opt-in form again with the problems of err,
// or returns err when it is not about the form.
func (s *Server) optinFormFailed(w http.ResponseWriter, r *http.Request, o *assent.Optin, form url.Values, err error) error {
	f := newForm(form, optinLabels)
	if !f.withError(err) {
		return err
	}
	v, verr := s.optinForm(r, o, f)
	if verr != nil {
		return verr
	}
	s.adminRender(w, r, formStatus(err), "optin_form", v)
	return nil
}

func (s *Server) adminOptinEdit(w http.ResponseWriter, r *http.Request) error {
	o, err := s.store.Optin(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	form := url.Values{"name": {o.Name}, "language": {o.Language}, "text": {o.Text}, "info": {o.Info},
		"logo_url": {o.LogoURL}, "display": {o.Display}, "variable": {o.Variable}, "subcategories": o.Subcategories}
	if o.Mandatory {
		form.Set("mandatory", "on")
	}
	if o.DoubleOptin {
		form.Set("double_optin", "on")
	}
	v, err := s.optinForm(r, &o, newForm(form, optinLabels))
	if err != nil {
		return err
	}
	s.adminRender(w, r, http.StatusOK, "optin_form", v)
	return nil
}

func (s *Server) adminOptinUpdate(w http.ResponseWriter, r *http.Request) error {
	form, err := parseAdminForm(w, r)
	if err != nil {
		return err
	}
	accountID := principal(r.Context()).AccountID
	before, err := s.store.Optin(r.Context(), accountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	o, err := s.store.UpdateOptin(r.Context(), accountID, before.ID, func(o *assent.Optin) { applyOptinForm(o, form) })
	if err != nil {
		return s.optinFormFailed(w, r, &before, form, err)
	}
	msg := "Opt-in “" + o.Name + "” saved."
	if o.Version != before.Version {
		msg = fmt.Sprintf("Opt-in “%s” saved as version %d. Version %d stays on record.", o.Name, o.Version, before.Version)
	}
	return s.redirect(w, r, "/admin/optins/"+url.PathEscape(o.ID), msg)
}

// adminOptinStatus archives an opt-in (it stays in reports and proofs but
// can no longer be placed on forms) or makes an archived one active again.
func (s *Server) adminOptinStatus(status string) adminFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		o, err := s.store.UpdateOptin(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"),
			func(o *assent.Optin) { o.Status = status })
		if err != nil {
			return err
		}
		msg := "Opt-in “" + o.Name + "” archived: it can no longer be added to forms."
		if status == assent.StatusActive {
			msg = "Opt-in “" + o.Name + "” is active again."
		}
		return s.redirect(w, r, "/admin/optins/"+url.PathEscape(o.ID), msg)
	}
}
