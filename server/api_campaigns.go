package server

import (
	"net/http"
	"time"

	"github.com/assentdev/assent"
)

// campaignJSON adds the form link to a campaign.
func (s *Server) campaignJSON(c assent.Campaign) assent.Campaign {
	c.FormURL = s.baseURL + "/f/" + c.ID
	return c
}

func (s *Server) apiCampaignList(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	campaigns, next, err := s.store.Campaigns(r.Context(), principal(r.Context()).AccountID, page)
	if err != nil {
		return err
	}
	for i := range campaigns {
		campaigns[i] = s.campaignJSON(campaigns[i])
	}
	writeJSON(w, http.StatusOK, newList(campaigns, next))
	return nil
}

func (s *Server) apiCampaignGet(w http.ResponseWriter, r *http.Request) error {
	c, err := s.store.Campaign(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.campaignJSON(c))
	return nil
}

// formFieldsRequest is the "fields" object of a campaign request.
type formFieldsRequest struct {
	FirstName *string `json:"first_name"`
	LastName  *string `json:"last_name"`
}

// campaignRequest is the body of both POST and PATCH: absent fields keep
// their value (or default), and starts_at or ends_at set to null clear it.
type campaignRequest struct {
	Name     *string            `json:"name"`
	Language *string            `json:"language"`
	Type     *string            `json:"type"`
	StartsAt nullable[string]   `json:"starts_at"`
	EndsAt   nullable[string]   `json:"ends_at"`
	Fields   *formFieldsRequest `json:"fields"`
	Optins   *[]string          `json:"optins"`
	Status   *string            `json:"status"`
}

// apply sets the fields of the request on c, or returns EINVALID when a
// time is not RFC 3339.
func (req *campaignRequest) apply(c *assent.Campaign) error {
	p := assent.Problems{}
	setIf(&c.Name, req.Name)
	setIf(&c.Language, req.Language)
	setIf(&c.Type, req.Type)
	setIf(&c.Optins, req.Optins)
	setIf(&c.Status, req.Status)
	if req.Fields != nil {
		setIf(&c.Fields.FirstName, req.Fields.FirstName)
		setIf(&c.Fields.LastName, req.Fields.LastName)
	}
	for _, t := range []struct {
		name string
		in   nullable[string]
		out  **time.Time
	}{{"starts_at", req.StartsAt, &c.StartsAt}, {"ends_at", req.EndsAt, &c.EndsAt}} {
		switch {
		case !t.in.Set:
		case t.in.Null:
			*t.out = nil
		default:
			v, err := time.Parse(time.RFC3339, t.in.Value)
			if err != nil {
				p.Add(t.name, "must be an RFC 3339 time such as 2026-12-01T09:00:00Z")
				continue
			}
			v = v.UTC()
			*t.out = &v
		}
	}
	return p.Err()
}

func (s *Server) apiCampaignCreate(w http.ResponseWriter, r *http.Request) error {
	var req campaignRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	var c assent.Campaign
	if err := req.apply(&c); err != nil {
		return err
	}
	if req.Status != nil {
		return &assent.Error{Code: assent.EINVALID, Message: "some fields are invalid",
			Fields: map[string]string{"status": "a new campaign is active; archive it with PATCH"}}
	}
	c, err := s.store.CreateCampaign(r.Context(), principal(r.Context()).AccountID, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.campaignJSON(c))
	return nil
}

func (s *Server) apiCampaignUpdate(w http.ResponseWriter, r *http.Request) error {
	var req campaignRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c, err := s.store.UpdateCampaign(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"), req.apply)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.campaignJSON(c))
	return nil
}
