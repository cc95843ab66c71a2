package server

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
)

// The participant pages of the admin UI (SPEC §4.4, §4.5, §8): find a
// participant by email, see their consents, history and proof, withdraw
// on their behalf, erase them; and the audience of an opt-in (§5.3).

var participantSearchLabels = []fieldLabel{{"email", "Email address"}}

var eraseLabels = []fieldLabel{{"confirm", "Confirmation"}}

// stateLabels say a consent state in words.
var stateLabels = map[assent.ConsentState]string{
	assent.StateGiven:     "Given",
	assent.StatePending:   "Waiting for email confirmation",
	assent.StateRefused:   "Refused",
	assent.StateWithdrawn: "Withdrawn",
	assent.StateExpired:   "Expired: not confirmed in time",
}

// eventLabels say an event type in words.
var eventLabels = map[assent.EventType]string{
	assent.EventGiven:      "Accepted",
	assent.EventPending:    "Accepted, to confirm by email",
	assent.EventRefused:    "Refused",
	assent.EventUnanswered: "Not answered",
	assent.EventConfirmed:  "Confirmed by email",
	assent.EventExpired:    "Not confirmed in time",
	assent.EventWithdrawn:  "Withdrawn",
}

// sourceLabels say where an event came from.
var sourceLabels = map[string]string{
	assent.SourceAPI:          "API",
	assent.SourceForm:         "Public form",
	assent.SourceImport:       "Import",
	assent.SourceConfirmation: "Email confirmation",
	assent.SourcePreferences:  "Preferences page",
	assent.SourceExpiry:       "Expiry",
	assent.SourceAdmin:        "Admin pages",
}

func stateLabel(s assent.ConsentState) string {
	if l, ok := stateLabels[s]; ok {
		return l
	}
	return string(s)
}

func orSelf(m map[string]string, k string) string {
	if l, ok := m[k]; ok {
		return l
	}
	return k
}

// participantsView is the data of the search page.
type participantsView struct {
	adminPage
	// NotFound is the address searched for when no participant has it.
	NotFound string
}

func (s *Server) adminParticipantSearch(w http.ResponseWriter, r *http.Request) error {
	email := strings.TrimSpace(r.URL.Query().Get("email"))
	v := &participantsView{adminPage: adminPage{Title: "Participants", Section: "participants",
		Form: newForm(url.Values{"email": {email}}, participantSearchLabels)}}
	if email == "" {
		s.adminRender(w, r, http.StatusOK, "participants", v)
		return nil
	}
	p, err := s.store.ParticipantByEmail(r.Context(), principal(r.Context()).AccountID, email)
	switch {
	case err == nil:
		http.Redirect(w, r, "/admin/participants/"+url.PathEscape(p.ID), http.StatusSeeOther)
		return nil
	case assent.ErrorCode(err) == assent.ENOTFOUND:
		v.NotFound = email
		v.Title = "No participant found"
	case v.Form.withError(err):
		v.Title = "Participants"
	default:
		return err
	}
	s.adminRender(w, r, http.StatusOK, "participants", v)
	return nil
}

// consentRow is a current consent on the participant page.
type consentRow struct {
	assent.Consent
	Label string
	// Withdrawable is set for a consent given or pending.
	Withdrawable bool
}

// eventRow is an event of the history, with the text that was shown for
// the answers.
type eventRow struct {
	assent.ProofEvent
	Label, SourceLabel string
	// Answer is set for the events of a participation: what the form asked.
	Answer    bool
	Text      template.HTML
	Info      template.HTML
	Displayed string
}

// participationRow is a participation and its form.
type participationRow struct {
	assent.Participation
	CampaignName string
	SourceLabel  string
	Form         []formRow
}

// formRow is an opt-in of a participation's form and how it was answered.
type formRow struct {
	Position     int
	OptinID      string
	OptinName    string
	OptinVersion int
	Answer       string
}

// participantView is the data of the participant page.
type participantView struct {
	adminPage
	Participant    assent.Participant
	Consents       []consentRow
	Withdrawable   bool
	Events         []eventRow
	Participations []participationRow
	Confirmations  []assent.Confirmation
}

// Erased reports whether the participant was erased.
func (v participantView) Erased() bool { return v.Participant.ErasedAt != nil }

// Name is how the page names the participant.
func (v participantView) Name() string {
	if v.Erased() {
		return "Erased participant"
	}
	if n := strings.TrimSpace(v.Participant.FirstName + " " + v.Participant.LastName); n != "" {
		return n
	}
	return v.Participant.Email
}

func (s *Server) adminParticipantShow(w http.ResponseWriter, r *http.Request) error {
	v, err := s.participantView(r)
	if err != nil {
		return err
	}
	s.adminRender(w, r, http.StatusOK, "participant", v)
	return nil
}

func (s *Server) participantView(r *http.Request) (*participantView, error) {
	accountID := principal(r.Context()).AccountID
	id := r.PathValue("id")
	p, err := s.store.Participant(r.Context(), accountID, id)
	if err != nil {
		return nil, err
	}
	pr, err := s.store.Proof(r.Context(), accountID, id)
	if err != nil {
		return nil, err
	}
	v := &participantView{adminPage: adminPage{Section: "participants"}, Participant: p, Confirmations: pr.Confirmations}
	v.Title = v.Name()
	optinNames, campaignNames := map[string]string{}, map[string]string{}
	for _, c := range p.Consents {
		optinNames[c.OptinID] = c.OptinName
		row := consentRow{Consent: c, Label: stateLabel(c.State),
			Withdrawable: c.State == assent.StateGiven || c.State == assent.StatePending}
		v.Withdrawable = v.Withdrawable || row.Withdrawable
		v.Consents = append(v.Consents, row)
	}
	for _, e := range pr.Events {
		optinNames[e.OptinID] = e.OptinName
		if e.CampaignID != "" && e.CampaignName != "" {
			campaignNames[e.CampaignID] = e.CampaignName
		}
		row := eventRow{ProofEvent: e, Label: string(e.Type),
			SourceLabel: orSelf(sourceLabels, e.Source)}
		if l, ok := eventLabels[e.Type]; ok {
			row.Label = l
		}
		switch e.Type {
		case assent.EventGiven, assent.EventPending, assent.EventRefused, assent.EventUnanswered:
			row.Answer = e.ParticipationID != "" || e.Shown.Text != ""
		}
		if row.Answer {
			l := localeFor(e.Shown.Language)
			row.Text = richText(e.Shown.Text, l, false)
			if e.Shown.Info != "" {
				row.Info = richText(e.Shown.Info, l, true)
			}
			row.Displayed = "A checkbox"
			if e.Shown.Display == assent.DisplayRadio {
				row.Displayed = "Yes / no buttons"
			}
		}
		v.Events = append(v.Events, row)
	}
	for _, pa := range pr.Participations {
		row := participationRow{Participation: pa, CampaignName: orSelf(campaignNames, pa.CampaignID),
			SourceLabel: orSelf(sourceLabels, pa.Source)}
		for _, f := range pa.Form {
			answer := "Not answered"
			if f.Response != nil {
				answer = map[bool]string{true: "Yes", false: "No"}[*f.Response]
			}
			row.Form = append(row.Form, formRow{Position: f.Position, OptinID: f.OptinID, OptinName: orSelf(optinNames, f.OptinID),
				OptinVersion: f.OptinVersion, Answer: answer})
		}
		v.Participations = append(v.Participations, row)
	}
	return v, nil
}

// adminParticipantProof answers the proof as JSON, the same as the API's,
// as a download.
func (s *Server) adminParticipantProof(w http.ResponseWriter, r *http.Request) error {
	pr, err := s.store.Proof(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", `attachment; filename="proof-`+safeName(pr.Participant.ID)+`.json"`)
	writeJSON(w, http.StatusOK, pr)
	return nil
}

// safeName keeps the characters of an id that may go in a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return -1
	}, s)
}

// adminParticipantWithdraw withdraws one consent (optin_id) or all of
// them (all=1) on the participant's behalf.
func (s *Server) adminParticipantWithdraw(w http.ResponseWriter, r *http.Request) error {
	form, err := parseAdminForm(w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	to := "/admin/participants/" + url.PathEscape(id)
	optinID, all := form.Get("optin_id"), form.Get("all") != ""
	if (optinID == "") == !all {
		s.setFlash(w, "error", "Choose one consent to withdraw, or withdraw them all.")
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil
	}
	var ids []string
	if optinID != "" {
		ids = []string{optinID}
	}
	_, err = s.store.Withdraw(r.Context(), principal(r.Context()).AccountID, id, ids, all, assent.SourceAdmin)
	if code := assent.ErrorCode(err); code == assent.EINVALID || code == assent.ECONFLICT {
		s.setFlash(w, "error", "Nothing was withdrawn: that opt-in is not one of this account's.")
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	if all {
		return s.redirect(w, r, to, "Every consent was withdrawn.")
	}
	return s.redirect(w, r, to, "The consent was withdrawn.")
}

// eraseView is the data of the erasure's confirmation page.
type eraseView struct {
	adminPage
	Participant assent.Participant
}

func (s *Server) adminParticipantEraseConfirm(w http.ResponseWriter, r *http.Request) error {
	p, err := s.store.Participant(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.adminRender(w, r, http.StatusOK, "participant_erase", &eraseView{adminPage: adminPage{Title: "Erase participant",
		Section: "participants", Form: newForm(nil, eraseLabels)}, Participant: p})
	return nil
}

// adminParticipantErase erases a participant once the form says the user
// understands; without it, the confirmation page shows again.
func (s *Server) adminParticipantErase(w http.ResponseWriter, r *http.Request) error {
	form, err := parseAdminForm(w, r)
	if err != nil {
		return err
	}
	accountID, id := principal(r.Context()).AccountID, r.PathValue("id")
	if form.Get("confirm") != "yes" {
		p, err := s.store.Participant(r.Context(), accountID, id)
		if err != nil {
			return err
		}
		f := newForm(form, eraseLabels)
		f.Errors["confirm"] = "Tick the box to confirm that you understand the erasure cannot be undone"
		s.adminRender(w, r, http.StatusUnprocessableEntity, "participant_erase", &eraseView{adminPage: adminPage{
			Title: "Erase participant", Section: "participants", Form: f}, Participant: p})
		return nil
	}
	if err := s.store.Erase(r.Context(), accountID, id); err != nil {
		return err
	}
	return s.redirect(w, r, "/admin/participants/"+url.PathEscape(id),
		"The participant was erased. Their consent history stays, anonymous.")
}

// audienceView is the data of an opt-in's audience page.
type audienceView struct {
	adminPage
	Optin   assent.Optin
	State   assent.ConsentState
	States  []choice
	Members []store.AudienceMember
	// Next and First link to the next page and back to the first one.
	Next, First string
	CSV         string
}

// StateLabel says the filtered state in words.
func (v audienceView) StateLabel() string { return stateLabel(v.State) }

func (s *Server) adminOptinAudience(w http.ResponseWriter, r *http.Request) error {
	accountID := principal(r.Context()).AccountID
	q := r.URL.Query()
	state := assent.ConsentState(q.Get("state"))
	if _, ok := stateLabels[state]; !ok {
		state = assent.StateGiven
	}
	id := r.PathValue("id")
	if wantsCSV(r) {
		return s.writeAudienceCSV(w, r, accountID, id, state)
	}
	o, err := s.store.Optin(r.Context(), accountID, id)
	if err != nil {
		return err
	}
	members, next, err := s.store.Audience(r.Context(), accountID, id, state,
		store.Page{Cursor: q.Get("cursor"), Limit: adminPageSize}, nil)
	if assent.ErrorCode(err) == assent.EINVALID { // a cursor from elsewhere: start over
		members, next, err = s.store.Audience(r.Context(), accountID, id, state, store.Page{Limit: adminPageSize}, nil)
	}
	if err != nil {
		return err
	}
	base := "/admin/optins/" + url.PathEscape(o.ID) + "/audience"
	v := &audienceView{adminPage: adminPage{Title: "Audience of " + o.Name, Section: "optins"}, Optin: o, State: state,
		Members: members, CSV: base + "?" + url.Values{"state": {string(state)}, "format": {"csv"}}.Encode()}
	for _, st := range assent.ConsentStates {
		v.States = append(v.States, choice{Value: string(st), Label: stateLabel(st)})
	}
	if next != "" {
		v.Next = base + "?" + url.Values{"state": {string(state)}, "cursor": {next}}.Encode()
	}
	if q.Get("cursor") != "" {
		v.First = base + "?" + url.Values{"state": {string(state)}}.Encode()
	}
	s.adminRender(w, r, http.StatusOK, "audience", v)
	return nil
}
