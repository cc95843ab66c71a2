package server

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
)

func (s *Server) apiOptinAudience(w http.ResponseWriter, r *http.Request) error {
	if err := checkFormat(r); err != nil {
		return err
	}
	accountID := principal(r.Context()).AccountID
	state := assent.ConsentState(r.URL.Query().Get("state"))
	if state == "" {
		state = assent.StateGiven
	}
	valid := false
	for _, st := range assent.ConsentStates {
		valid = valid || st == state
	}
	if !valid {
		return invalidField("state", "must be given, pending, refused, withdrawn or expired")
	}
	id := r.PathValue("id")
	if wantsCSV(r) {
		return s.writeAudienceCSV(w, r, accountID, id, state)
	}
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	members, next, err := s.store.Audience(r.Context(), accountID, id, state, page, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(members, next))
	return nil
}

func (s *Server) apiCampaignParticipations(w http.ResponseWriter, r *http.Request) error {
	if err := checkFormat(r); err != nil {
		return err
	}
	accountID := principal(r.Context()).AccountID
	if wantsCSV(r) {
		c, err := s.store.Campaign(r.Context(), accountID, r.PathValue("id"))
		if err != nil {
			return err
		}
		form, err := s.store.FormOptins(r.Context(), accountID, c.Optins)
		if err != nil {
			return err
		}
		header := []string{"id", "created_at", "participant_id", "email", "first_name", "last_name", "new_participant",
			"source", "ip_hash", "user_agent", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"}
		for _, o := range form {
			header = append(header, "optin:"+o.ID+" "+o.Name)
		}
		header = append(header, "other_answers")
		out := newCSV(w, "campaign-"+c.ID+"-participations", header)
		_, _, err = s.store.CampaignParticipations(r.Context(), accountID, c.ID, store.Page{}, func(p store.ParticipationRow) error {
			return writeParticipation(out, form, &p)
		})
		if err != nil {
			return err
		}
		return out.close()
	}
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	rows, next, err := s.store.CampaignParticipations(r.Context(), accountID, r.PathValue("id"), page, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(rows, next))
	return nil
}

// writeParticipation writes the CSV row of p: its columns, one column per
// opt-in of the campaign's form, then as JSON the answers to opt-ins that
// are no longer on the form.
func writeParticipation(c *csvWriter, form []assent.Optin, p *store.ParticipationRow) error {
	c.text(p.ID)
	c.time(p.CreatedAt)
	for _, v := range [...]string{p.ParticipantID, p.Email, p.FirstName, p.LastName} {
		c.text(v)
	}
	c.bool(p.NewParticipant)
	for _, v := range [...]string{p.Source, p.IPHash, p.UserAgent, p.UTM.Source, p.UTM.Medium, p.UTM.Campaign, p.UTM.Term,
		p.UTM.Content} {
		c.text(v)
	}
	onForm := 0
	for _, o := range form {
		a, shown := p.Answers[o.ID]
		if shown {
			onForm++
		}
		if a == nil {
			c.text("") // not shown, or left blank
		} else {
			c.bool(*a)
		}
	}
	if onForm == len(p.Answers) {
		c.text("")
		return c.end()
	}
	other := map[string]*bool{}
	for k, v := range p.Answers {
		if !slices.ContainsFunc(form, func(o assent.Optin) bool { return o.ID == k }) {
			other[k] = v
		}
	}
	b, _ := json.Marshal(other)
	c.text(string(b))
	return c.end()
}

// writeAudienceCSV streams an opt-in's audience in state as CSV: the
// API's export, which the admin audience page links to as well.
func (s *Server) writeAudienceCSV(w http.ResponseWriter, r *http.Request, accountID, optinID string, state assent.ConsentState) error {
	if _, err := s.store.Optin(r.Context(), accountID, optinID); err != nil {
		return err
	}
	c := newCSV(w, "audience-"+optinID+"-"+string(state), []string{"participant_id", "email", "first_name", "last_name",
		"state", "added_at"})
	_, _, err := s.store.Audience(r.Context(), accountID, optinID, state, store.Page{}, func(m store.AudienceMember) error {
		for _, v := range [...]string{m.ParticipantID, m.Email, m.FirstName, m.LastName, string(m.State)} {
			c.text(v)
		}
		c.time(m.AddedAt)
		return c.end()
	})
	if err != nil {
		return err
	}
	return c.close()
}
