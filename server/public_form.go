package server

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/assentdev/assent"
)

// maxFormBody is the largest form submission read; a form of 50 opt-ins
// with long answers fits many times over.
const maxFormBody = 64 << 10

// utmParams are the tracking parameters a form carries from its link to
// the participation, in hidden inputs.
var utmParams = []string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"}

// formPage is the data of the campaign form.
type formPage struct {
	L        *locale
	Title    string
	Campaign string
	Action   string
	// Key makes the submission idempotent: a double click or a resent
	// request records one participation, not two.
	Key    string
	Fields []formField
	Optins []formOptin
	UTM    []hiddenInput
	// Errors lists every problem, in page order, for the summary on top.
	Errors []errorLink
}

// formField is an identity field: email, first_name or last_name.
type formField struct {
	L            *locale
	ID           string
	Label        string
	Type         string
	Autocomplete string
	Value        string
	Required     bool
	Error        string
}

// formOptin is one opt-in of the form.
type formOptin struct {
	L         *locale
	ID        string // the input's id; its name is answers.<opt-in id>
	Name      string
	Text      template.HTML
	Info      template.HTML
	LogoURL   string
	Radio     bool
	Mandatory bool
	Answer    string // "yes", "no" or "" as the participant left it
	Error     string
}

type hiddenInput struct{ Name, Value string }

// errorLink is one line of the error summary, linking to its field.
type errorLink struct{ Target, Message string }

// formCampaign finds the campaign of a form link, whatever its account,
// and the labels in its language.
func (s *Server) formCampaign(r *http.Request) (assent.Campaign, *locale, error) {
	c, err := s.store.CampaignByID(r.Context(), r.PathValue("id"))
	if err != nil {
		return c, nil, err
	}
	return c, localeFor(c.Language), nil
}

func (s *Server) publicFormShow(w http.ResponseWriter, r *http.Request) error {
	c, l, err := s.formCampaign(r)
	if err != nil {
		return err
	}
	if !c.Live(s.store.Now()) {
		return inLocale(l, s.renderClosed(w, r, c, l))
	}
	form, err := s.store.FormOptins(r.Context(), c.AccountID, c.Optins)
	if err != nil {
		return inLocale(l, err)
	}
	s.render(w, r, http.StatusOK, "form", newFormPage(&c, l, form, r.URL.Query(), nil, newFormKey()), true)
	return nil
}

func (s *Server) publicFormSubmit(w http.ResponseWriter, r *http.Request) error {
	c, l, err := s.formCampaign(r)
	if err != nil {
		return err
	}
	if !c.Live(s.store.Now()) {
		return inLocale(l, s.renderClosed(w, r, c, l))
	}
	if err := parseForm(w, r); err != nil {
		return inLocale(l, err)
	}
	form, err := s.store.FormOptins(r.Context(), c.AccountID, c.Optins)
	if err != nil {
		return inLocale(l, err)
	}
	v := r.PostForm
	key := v.Get("key")
	if len(key) < 16 || len(key) > 64 {
		key = newFormKey()
	}
	sub := assent.Submission{Email: v.Get("email"), Answers: map[string]*bool{}, IP: s.clientIP(r),
		UserAgent: r.UserAgent(), Source: assent.SourceForm, IdempotencyKey: "form:" + key,
		UTM: assent.UTM{Source: utmValue(v, "utm_source"), Medium: utmValue(v, "utm_medium"),
			Campaign: utmValue(v, "utm_campaign"), Term: utmValue(v, "utm_term"), Content: utmValue(v, "utm_content")}}
	// A field the form does not show cannot be sent: ignore it if it is.
	if c.Fields.FirstName != assent.FieldHidden {
		sub.FirstName = v.Get("first_name")
	}
	if c.Fields.LastName != assent.FieldHidden {
		sub.LastName = v.Get("last_name")
	}
	for _, o := range form {
		switch answer := v.Get("answers." + o.ID); {
		case answer == "yes":
			sub.Answers[o.ID] = new(true)
		case answer == "no" || o.Display == assent.DisplayCheckbox:
			sub.Answers[o.ID] = new(false) // an unticked box is a refusal
		default:
			sub.Answers[o.ID] = nil // a radio left blank
		}
	}

	receipt, _, err := s.store.Participate(r.Context(), c.AccountID, c.ID, sub)
	if assent.ErrorCode(err) == assent.ECONFLICT {
		// The same form sent again with other answers (after going back):
		// a new participation, not a replay of the first.
		sub.IdempotencyKey = "form:" + newFormKey()
		receipt, _, err = s.store.Participate(r.Context(), c.AccountID, c.ID, sub)
	}
	var invalid *assent.Error
	if errors.As(err, &invalid) && invalid.Code == assent.EINVALID {
		if _, closed := invalid.Fields["campaign"]; closed {
			return inLocale(l, s.renderClosed(w, r, c, l))
		}
		s.render(w, r, http.StatusUnprocessableEntity, "form", newFormPage(&c, l, form, v, invalid.Fields, key), true)
		return nil
	}
	if err != nil {
		return inLocale(l, err)
	}

	// Redirect to the thank-you page, so that reloading it sends nothing
	// again. It gets what it shows in its query: whether an email went out,
	// and the preferences token, checked again when the page is shown.
	pending := false
	for _, a := range receipt.Optins {
		if a.State == assent.StatePending && a.Response != nil && *a.Response {
			pending = true
		}
	}
	token, err := s.store.PreferencesToken(r.Context(), c.AccountID, receipt.ParticipantID)
	if err != nil {
		return inLocale(l, err)
	}
	q := url.Values{"p": {token}}
	if pending {
		q.Set("pending", "1")
	}
	http.Redirect(w, r, "/f/"+url.PathEscape(c.ID)+"/thanks?"+q.Encode(), http.StatusSeeOther)
	return nil
}

// thanksPage is the data of the page shown after a participation.
type thanksPage struct {
	L              *locale
	Title          string
	Campaign       string
	Pending        bool
	PreferencesURL string
}

func (s *Server) publicFormThanks(w http.ResponseWriter, r *http.Request) error {
	c, l, err := s.formCampaign(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	p := thanksPage{L: l, Title: l.T("thanks.title"), Campaign: c.Name, Pending: q.Get("pending") == "1"}
	// The link is shown only for a genuine token of this campaign's account.
	if token := q.Get("p"); token != "" {
		pt, err := s.store.ParticipantByPreferencesToken(r.Context(), token)
		switch {
		case err == nil && pt.AccountID == c.AccountID:
			if p.PreferencesURL, err = s.PreferencesURL(r.Context(), c.AccountID, pt.ID); err != nil {
				return inLocale(l, err)
			}
		case err != nil && assent.ErrorCode(err) != assent.ENOTFOUND:
			return inLocale(l, err)
		}
	}
	s.render(w, r, http.StatusOK, "thanks", p, true)
	return nil
}

// renderClosed shows that a campaign takes no participations: 410 Gone once
// it has ended or is archived, 404 while it has not started yet.
func (s *Server) renderClosed(w http.ResponseWriter, r *http.Request, c assent.Campaign, l *locale) error {
	if c.Status == assent.StatusActive && c.StartsAt != nil && s.store.Now().Before(*c.StartsAt) {
		loc, err := s.accountLocation(r.Context(), c.AccountID)
		if err != nil {
			return err
		}
		s.render(w, r, http.StatusNotFound, "message", errorPage{L: l, Title: l.T("soon.title"),
			Text: l.T("soon.text", l.Date(c.StartsAt.In(loc)))}, true)
		return nil
	}
	s.render(w, r, http.StatusGone, "message", errorPage{L: l, Title: l.T("closed.title"), Text: l.T("closed.text")}, true)
	return nil
}

// accountLocation returns the time zone of an account, for the dates
// shown on its pages.
func (s *Server) accountLocation(ctx context.Context, accountID string) (*time.Location, error) {
	a, err := s.store.Account(ctx, accountID)
	if err != nil {
		return nil, err
	}
	return time.LoadLocation(a.TimeZone)
}

// newFormPage builds the form's data from the values of a request (the
// link's query, or a submission to show again) and the problems of a
// refused submission, each reworded for the participant in their language.
func newFormPage(c *assent.Campaign, l *locale, form []assent.Optin, v url.Values, problems map[string]string, key string) formPage {
	p := formPage{L: l, Title: c.Name, Campaign: c.Name, Action: "/f/" + url.PathEscape(c.ID), Key: key}
	if len(problems) > 0 {
		p.Title = l.T("errors.page", c.Name)
	}
	email := formField{L: l, ID: "email", Label: l.T("form.email"), Type: "email", Autocomplete: "email",
		Value: v.Get("email"), Required: true}
	if _, bad := problems["email"]; bad {
		email.Error = l.T("err.email.format")
		if strings.TrimSpace(email.Value) == "" {
			email.Error = l.T("err.email.empty")
		}
	}
	p.Fields = append(p.Fields, email)
	for _, f := range []struct{ id, mode, autocomplete string }{
		{"first_name", c.Fields.FirstName, "given-name"},
		{"last_name", c.Fields.LastName, "family-name"},
	} {
		if f.mode == assent.FieldHidden {
			continue
		}
		field := formField{L: l, ID: f.id, Label: l.T("form." + f.id), Type: "text", Autocomplete: f.autocomplete,
			Value: v.Get(f.id), Required: f.mode == assent.FieldRequired}
		if _, bad := problems[f.id]; bad {
			field.Error = l.T("err.too_long")
			if strings.TrimSpace(field.Value) == "" {
				field.Error = l.T("err." + f.id)
			}
		}
		p.Fields = append(p.Fields, field)
	}
	for _, f := range p.Fields {
		if f.Error != "" {
			p.Errors = append(p.Errors, errorLink{Target: f.ID, Message: f.Error})
		}
	}
	for _, o := range form {
		fo := formOptin{L: l, ID: "optin-" + o.ID, Name: "answers." + o.ID, Text: richText(o.Text, l, false),
			LogoURL: o.LogoURL, Radio: o.Display == assent.DisplayRadio, Mandatory: o.Mandatory}
		if o.Info != "" {
			fo.Info = richText(o.Info, l, true)
		}
		if a := v.Get(fo.Name); a == "yes" || (a == "no" && fo.Radio) {
			fo.Answer = a
		}
		if _, bad := problems[fo.Name]; bad {
			fo.Error = l.T("err.field")
			if o.Mandatory {
				fo.Error = l.T("err.mandatory")
			}
			target := fo.ID
			if fo.Radio {
				target += "-yes"
			}
			// In the summary, far from the opt-in, the message says which one.
			p.Errors = append(p.Errors, errorLink{Target: target, Message: l.T("errors.context", fo.Error, plainText(o.Text, 60))})
		}
		p.Optins = append(p.Optins, fo)
	}
	for _, name := range utmParams {
		if val := utmValue(v, name); val != "" {
			p.UTM = append(p.UTM, hiddenInput{Name: name, Value: val})
		}
	}
	// A problem the participant cannot fix in a field (a tracking
	// parameter, say) still gets a line, so the page never fails silently.
	for field := range problems {
		known := field == "email" || field == "first_name" || field == "last_name"
		for _, o := range form {
			known = known || field == "answers."+o.ID
		}
		if !known {
			p.Errors = append(p.Errors, errorLink{Message: l.T("err.form")})
			break
		}
	}
	return p
}

// utmValue returns a tracking parameter cut to the 200 characters that a
// participation keeps, so that a long link never blocks a participant.
func utmValue(v url.Values, name string) string {
	s := []rune(strings.TrimSpace(v.Get(name)))
	if len(s) > 200 {
		s = s[:200]
	}
	return string(s)
}

func newFormKey() string { return assent.RandomToken(20) }
