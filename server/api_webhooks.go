package server

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/assentdev/assent"
)

// headerField is the "header" of a webhook body: absent, null (no custom
// header) or {"name", "value"}, decoded as strictly as the rest of the body.
type headerField struct {
	Set   bool
	Value *assent.WebhookHeader
}

// UnmarshalJSON records that the field was present, and refuses anything
// but null or an object of name and value.
func (h *headerField) UnmarshalJSON(b []byte) error {
	h.Set = true
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	h.Value = &assent.WebhookHeader{}
	if err := dec.Decode(h.Value); err != nil {
		return &fieldError{name: "header", problem: `must be null or an object {"name": "…", "value": "…"} of strings`}
	}
	return nil
}

func (s *Server) apiWebhookList(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	list, next, err := s.store.Webhooks(r.Context(), principal(r.Context()).AccountID, page)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(list, next))
	return nil
}

// apiWebhookCreate registers an endpoint and answers it with its secret,
// the only time the secret is shown.
func (s *Server) apiWebhookCreate(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		URL        string      `json:"url"`
		Events     []string    `json:"events"`
		Categories []string    `json:"categories"`
		Header     headerField `json:"header"`
		Enabled    *bool       `json:"enabled"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	e := assent.WebhookEndpoint{URL: req.URL, Events: req.Events, Categories: req.Categories, Header: req.Header.Value,
		Enabled: true}
	setIf(&e.Enabled, req.Enabled)
	e, err := s.store.CreateWebhook(r.Context(), principal(r.Context()).AccountID, e)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, e)
	return nil
}

func (s *Server) apiWebhookGet(w http.ResponseWriter, r *http.Request) error {
	e, err := s.store.Webhook(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

// apiWebhookUpdate changes the fields sent; "header": null removes the
// custom header, "categories": [] the category filter.
func (s *Server) apiWebhookUpdate(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		URL        *string     `json:"url"`
		Events     *[]string   `json:"events"`
		Categories *[]string   `json:"categories"`
		Header     headerField `json:"header"`
		Enabled    *bool       `json:"enabled"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	e, err := s.store.UpdateWebhook(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"),
		func(e *assent.WebhookEndpoint) {
			setIf(&e.URL, req.URL)
			setIf(&e.Events, req.Events)
			setIf(&e.Categories, req.Categories)
			setIf(&e.Enabled, req.Enabled)
			if req.Header.Set {
				e.Header = req.Header.Value
			}
		})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (s *Server) apiWebhookDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteWebhook(r.Context(), principal(r.Context()).AccountID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// apiWebhookRotateSecret answers the endpoint with a new secret, shown this
// once; the previous one keeps signing too for a day.
func (s *Server) apiWebhookRotateSecret(w http.ResponseWriter, r *http.Request) error {
	if err := decodeOptional(w, r, &struct{}{}); err != nil {
		return err
	}
	e, err := s.store.RotateWebhookSecret(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

// apiWebhookDeliveries lists the delivery log of an endpoint, one attempt
// per item, newest first.
func (s *Server) apiWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	list, next, err := s.store.WebhookAttempts(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"), page)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(list, next))
	return nil
}

// apiWebhookTest queues a webhook.test event for the endpoint. It answers
// 202: the call goes out like any other, and its result is in the log.
func (s *Server) apiWebhookTest(w http.ResponseWriter, r *http.Request) error {
	if err := decodeOptional(w, r, &struct{}{}); err != nil {
		return err
	}
	d, err := s.store.SendTestEvent(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, d)
	return nil
}

// apiEventReplay queues an event again, unchanged, for one endpoint
// ({"endpoint_id"}) or for every enabled endpoint it was queued for (no
// body, or {}). It answers 202 with the new deliveries.
func (s *Server) apiEventReplay(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		EndpointID string `json:"endpoint_id"`
	}
	if err := decodeOptional(w, r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	ds, err := s.store.ReplayEvent(r.Context(), principal(r.Context()).AccountID, id, req.EndpointID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"event_id": id, "deliveries": ds})
	return nil
}
