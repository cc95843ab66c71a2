package server

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
)

var campaignLabels = []fieldLabel{{"name", "Name"}, {"type", "Type"}, {"language", "Language"}, {"starts_at", "Starts"},
	{"ends_at", "Ends"}, {"fields.first_name", "First name"}, {"fields.last_name", "Last name"}, {"status", "Status"}}

// campaignTypeLabels names the campaign types for people.
var campaignTypeLabels = map[string]string{"contest": "Contest", "quiz": "Quiz", "survey": "Survey",
	"poll": "Poll", "signup": "Sign-up form", "other": "Other"}

// localTimeLayout is the value of a datetime-local input.
const localTimeLayout = "2006-01-02T15:04"

// campaignState is where a campaign stands now, for people.
type campaignState struct{ Key, Label string }

func stateOf(c assent.Campaign, now time.Time) campaignState {
	switch {
	case c.Status == assent.StatusArchived:
		return campaignState{"archived", "Archived"}
	case c.StartsAt != nil && now.Before(*c.StartsAt):
		return campaignState{"scheduled", "Scheduled"}
	case c.EndsAt != nil && !now.Before(*c.EndsAt):
		return campaignState{"ended", "Ended"}
	}
	return campaignState{"live", "Live"}
}

// campaignRow is a campaign with what its list and page show about it.
type campaignRow struct {
	assent.Campaign
	State    campaignState
	TypeName string
	FormURL  string
}

func (s *Server) campaignRow(c assent.Campaign) campaignRow {
	return campaignRow{Campaign: c, State: stateOf(c, s.store.Now()), TypeName: campaignTypeLabels[c.Type],
		FormURL: s.baseURL + "/f/" + url.PathEscape(c.ID)}
}

// campaignsView is the data of the campaign list.
type campaignsView struct {
	adminPage
	Campaigns   []campaignRow
	Next, First string
}

func (s *Server) adminCampaignList(w http.ResponseWriter, r *http.Request) error {
	accountID := principal(r.Context()).AccountID
	cursor := r.URL.Query().Get("cursor")
	list, next, err := s.store.Campaigns(r.Context(), accountID, store.Page{Cursor: cursor, Limit: adminPageSize})
	if assent.ErrorCode(err) == assent.EINVALID {
		cursor = ""
		list, next, err = s.store.Campaigns(r.Context(), accountID, store.Page{Limit: adminPageSize})
	}
	if err != nil {
		return err
	}
	v := &campaignsView{adminPage: adminPage{Title: "Campaigns", Section: "campaigns"}}
	for _, c := range list {
		v.Campaigns = append(v.Campaigns, s.campaignRow(c))
	}
	if next != "" {
		v.Next = "/admin/campaigns?" + url.Values{"cursor": {next}}.Encode()
	}
	if cursor != "" {
		v.First = "/admin/campaigns"
	}
	s.adminRender(w, r, http.StatusOK, "campaigns", v)
	return nil
}

// campaignView is the data of a campaign's page: its settings and the
// form builder.
type campaignView struct {
	adminPage
	Campaign campaignRow
	Optins   []assent.Optin // on the form, in order
	// Available are the opt-ins that may be added: active, in the
	// campaign's language, not on the form yet.
	Available []choice
	Language  string
}

func (s *Server) adminCampaignShow(w http.ResponseWriter, r *http.Request) error {
	accountID := principal(r.Context()).AccountID
	c, err := s.store.Campaign(r.Context(), accountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	optins, err := s.store.FormOptins(r.Context(), accountID, c.Optins)
	if err != nil {
		return err
	}
	v := &campaignView{adminPage: adminPage{Title: c.Name, Section: "campaigns"}, Campaign: s.campaignRow(c),
		Optins: optins, Language: languageLabel(c.Language)}
	if sessionOf(r).User.Role.Can(assent.ManageCampaigns) {
		active, err := listAll(func(cursor string) ([]assent.Optin, string, error) {
			return s.store.Optins(r.Context(), accountID, store.OptinFilter{Status: assent.StatusActive, Language: c.Language},
				store.Page{Cursor: cursor, Limit: store.MaxLimit})
		})
		if err != nil {
			return err
		}
		for _, o := range active {
			if !slices.Contains(c.Optins, o.ID) {
				v.Available = append(v.Available, choice{Value: o.ID, Label: o.Name + " — " + plainText(o.Text, 60)})
			}
		}
	}
	s.adminRender(w, r, http.StatusOK, "campaign", v)
	return nil
}

// campaignFormView is the data of the page that creates or edits a
// campaign's settings.
type campaignFormView struct {
	adminPage
	Campaign   *assent.Campaign // nil for a new one
	Types      []choice
	FieldModes []choice
	Languages  []choice
}

func (s *Server) campaignForm(c *assent.Campaign, form formView) *campaignFormView {
	v := &campaignFormView{adminPage: adminPage{Title: "New campaign", Section: "campaigns", Form: form}, Campaign: c,
		Languages: languageSuggestions,
		FieldModes: []choice{{Value: assent.FieldOptional, Label: "Optional"}, {Value: assent.FieldRequired, Label: "Required"},
			{Value: assent.FieldHidden, Label: "Not asked"}}}
	if c != nil {
		v.Title = "Edit “" + c.Name + "”"
	}
	for _, t := range assent.CampaignTypes {
		v.Types = append(v.Types, choice{Value: t, Label: campaignTypeLabels[t]})
	}
	return v
}

// accountLoc is the time zone of the signed-in account.
func accountLoc(r *http.Request) *time.Location {
	loc, err := time.LoadLocation(sessionOf(r).Account.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// localInput formats a time for a datetime-local input in loc.
func localInput(t *time.Time, loc *time.Location) string {
	if t == nil {
		return ""
	}
	return t.In(loc).Format(localTimeLayout)
}

func (s *Server) adminCampaignNew(w http.ResponseWriter, r *http.Request) error {
	form := url.Values{"language": {"en"}, "type": {"contest"}, "fields.first_name": {assent.FieldOptional},
		"fields.last_name": {assent.FieldOptional}}
	s.adminRender(w, r, http.StatusOK, "campaign_form", s.campaignForm(nil, newForm(form, campaignLabels)))
	return nil
}

func (s *Server) adminCampaignEdit(w http.ResponseWriter, r *http.Request) error {
	c, err := s.store.Campaign(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	loc := accountLoc(r)
	form := url.Values{"name": {c.Name}, "language": {c.Language}, "type": {c.Type},
		"starts_at": {localInput(c.StartsAt, loc)}, "ends_at": {localInput(c.EndsAt, loc)},
		"fields.first_name": {c.Fields.FirstName}, "fields.last_name": {c.Fields.LastName}}
	s.adminRender(w, r, http.StatusOK, "campaign_form", s.campaignForm(&c, newForm(form, campaignLabels)))
	return nil
}

// applyCampaignForm sets the settings of a campaign form on c. The times
// are read in loc, the account's time zone; a time that cannot be read is
// a problem of its field.
func applyCampaignForm(c *assent.Campaign, form url.Values, loc *time.Location) assent.Problems {
	p := assent.Problems{}
	c.Name = form.Get("name")
	c.Language = strings.TrimSpace(form.Get("language"))
	c.Type = form.Get("type")
	c.Fields.FirstName = form.Get("fields.first_name")
	c.Fields.LastName = form.Get("fields.last_name")
	for _, f := range []struct {
		name string
		out  **time.Time
	}{{"starts_at", &c.StartsAt}, {"ends_at", &c.EndsAt}} {
		v := strings.TrimSpace(form.Get(f.name))
		if v == "" {
			*f.out = nil
			continue
		}
		t, err := time.ParseInLocation(localTimeLayout, v, loc)
		if err != nil {
			t, err = time.ParseInLocation(localTimeLayout+":05", v, loc)
		}
		if err != nil {
			p.Add(f.name, "must be a date and time, such as 2026-12-01 09:00")
			continue
		}
		t = t.UTC()
		*f.out = &t
	}
	return p
}

// campaignProblems returns the problems of the form's fields with those
// the domain finds in the rest, so that one round shows them all.
func campaignProblems(c assent.Campaign, p assent.Problems) error {
	c.Status = assent.StatusActive
	c.Normalize()
	var e *assent.Error
	if errors.As(c.Validate(), &e) {
		for k, v := range e.Fields {
			p.Add(k, "%s", v)
		}
	}
	return p.Err()
}

func (s *Server) adminCampaignCreate(w http.ResponseWriter, r *http.Request) error {
	form, err := parseAdminForm(w, r)
	if err != nil {
		return err
	}
	var c assent.Campaign
	if p := applyCampaignForm(&c, form, accountLoc(r)); len(p) > 0 {
		return s.campaignFormFailed(w, r, nil, form, campaignProblems(c, p))
	}
	c, err = s.store.CreateCampaign(r.Context(), principal(r.Context()).AccountID, c)
	if err != nil {
		return s.campaignFormFailed(w, r, nil, form, err)
	}
	return s.redirect(w, r, "/admin/campaigns/"+url.PathEscape(c.ID),
		"Campaign “"+c.Name+"” created. Now add the opt-ins its form shows.")
}

func (s *Server) adminCampaignUpdate(w http.ResponseWriter, r *http.Request) error {
	form, err := parseAdminForm(w, r)
	if err != nil {
		return err
	}
	accountID := principal(r.Context()).AccountID
	before, err := s.store.Campaign(r.Context(), accountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	c, err := s.store.UpdateCampaign(r.Context(), accountID, before.ID, func(c *assent.Campaign) error {
		if p := applyCampaignForm(c, form, accountLoc(r)); len(p) > 0 {
			return campaignProblems(*c, p)
		}
		return nil
	})
	if err != nil {
		return s.campaignFormFailed(w, r, &before, form, err)
	}
	return s.redirect(w, r, "/admin/campaigns/"+url.PathEscape(c.ID), "Campaign “"+c.Name+"” saved.")
}

// campaignFormFailed shows the campaign form again with the problems of
// err. Problems of the form's opt-ins (a language that no longer matches)
// are shown on top, since the opt-ins are not on this form.
func (s *Server) campaignFormFailed(w http.ResponseWriter, r *http.Request, c *assent.Campaign, form url.Values, err error) error {
	f := newForm(form, campaignLabels)
	if !f.withError(err) {
		return err
	}
	s.adminRender(w, r, formStatus(err), "campaign_form", s.campaignForm(c, f))
	return nil
}

// adminCampaignOptins changes the opt-ins of a campaign's form: add one,
// move one up or down, or remove one. Each is a plain form button, so the
// form builder works without JavaScript.
func (s *Server) adminCampaignOptins(w http.ResponseWriter, r *http.Request) error {
	form, err := parseAdminForm(w, r)
	if err != nil {
		return err
	}
	var message, anchor string
	_, err = s.store.UpdateCampaign(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"),
		func(c *assent.Campaign) error {
			list := c.Optins
			i := -1
			op, id := "", ""
			for _, name := range []string{"add", "up", "down", "remove"} {
				if form.Has(name) {
					op, id = name, form.Get(name)
					i = slices.Index(list, id)
					break
				}
			}
			switch {
			case op == "add" && id == "":
				return assent.Errorf(assent.EINVALID, "Choose an opt-in to add.")
			case op == "add" && i >= 0:
				return assent.Errorf(assent.EINVALID, "This opt-in is on the form already.")
			case op == "add":
				c.Optins, message, anchor = append(list, id), "Opt-in added to the form.", "optin-"+id
			case i < 0:
				return assent.Errorf(assent.EINVALID, "This opt-in is not on the form (any more).")
			case op == "up" && i > 0:
				list[i-1], list[i] = list[i], list[i-1]
				message, anchor = "Opt-in moved up.", "optin-"+id
			case op == "down" && i < len(list)-1:
				list[i], list[i+1] = list[i+1], list[i]
				message, anchor = "Opt-in moved down.", "optin-"+id
			case op == "remove":
				c.Optins, message, anchor = slices.Delete(list, i, i+1), "Opt-in removed from the form.", "form"
			}
			return nil
		})
	to := "/admin/campaigns/" + url.PathEscape(r.PathValue("id"))
	var e *assent.Error
	if errors.As(err, &e) && (e.Code == assent.EINVALID || e.Code == assent.ECONFLICT) {
		msg := e.Message
		for _, problem := range e.Fields {
			msg = upperFirst(problem) + "."
		}
		s.setFlash(w, "error", msg)
		return s.redirect(w, r, to+"#form", "")
	}
	if err != nil {
		return err
	}
	if anchor != "" {
		to += "#" + anchor
	}
	return s.redirect(w, r, to, message)
}

// adminCampaignStatus archives a campaign (its form closes) or makes it
// active again.
func (s *Server) adminCampaignStatus(status string) adminFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.store.UpdateCampaign(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"),
			func(c *assent.Campaign) error { c.Status = status; return nil })
		if err != nil {
			return err
		}
		msg := "Campaign “" + c.Name + "” archived: its form no longer accepts participations."
		if status == assent.StatusActive {
			msg = "Campaign “" + c.Name + "” is active again."
		}
		return s.redirect(w, r, "/admin/campaigns/"+url.PathEscape(c.ID), msg)
	}
}
