package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
)

// The webhook pages of the settings (SPEC §7): endpoints with how their
// deliveries go, their form, and each endpoint's page with its delivery
// log and actions. They do what the /api/v1/webhooks routes do, through
// the same store methods.

var webhookLabels = []fieldLabel{{"url", "URL"}, {"events", "Events"}, {"categories", "Categories"},
	{"header.name", "Header name"}, {"header.value", "Header value"}, {"enabled", "Enabled"}}

// webhookEventLabels say when each event type is sent, for people.
var webhookEventLabels = map[string]string{
	assent.WebhookParticipationCreated: "a participation is recorded",
	assent.WebhookConsentConfirmed:     "a participant confirms a double opt-in",
	assent.WebhookConsentExpired:       "a double opt-in expires unconfirmed",
	assent.WebhookConsentWithdrawn:     "a participant withdraws a consent",
	assent.WebhookTest:                 "a test sent from this page",
}

// deliveryStateLabels name the states of a delivery for people.
var deliveryStateLabels = map[string]string{
	assent.DeliveryPending:   "Pending",
	assent.DeliveryDelivered: "Delivered",
	assent.DeliveryFailed:    "Failed",
	assent.DeliveryCancelled: "Cancelled",
}

func webhookEventChoices() []choice {
	out := make([]choice, len(assent.WebhookEventTypes))
	for i, t := range assent.WebhookEventTypes {
		out[i] = choice{Value: t, Label: webhookEventLabels[t]}
	}
	return out
}

// webhookHealth says how an endpoint's deliveries go: ok, failing, idle
// (never called) or disabled, with a sentence for people.
type webhookHealth struct{ Key, Label, Detail string }

func healthOf(e assent.WebhookEndpoint) webhookHealth {
	switch {
	case !e.Enabled:
		return webhookHealth{"disabled", "Disabled", "Nothing is sent; its deliveries wait until it is enabled again."}
	case e.LastAttemptAt == nil:
		return webhookHealth{"idle", "No calls yet", "Send a test event to check that it answers."}
	case e.ConsecutiveFailures > 0:
		return webhookHealth{"failing", "Failing", fmt.Sprintf("%d failed attempt%s since the last success; Assent keeps retrying.",
			e.ConsecutiveFailures, plural(e.ConsecutiveFailures))}
	}
	return webhookHealth{"ok", "Healthy", "The last call succeeded."}
}

// webhookRow is an endpoint with its health.
type webhookRow struct {
	assent.WebhookEndpoint
	Health webhookHealth
}

// webhooksView is the data of the webhooks tab.
type webhooksView struct {
	adminPage
	Endpoints []webhookRow
	Max       int
}

func (s *Server) adminWebhookList(w http.ResponseWriter, r *http.Request) error {
	list, err := listAll(func(cursor string) ([]assent.WebhookEndpoint, string, error) {
		return s.store.Webhooks(r.Context(), principal(r.Context()).AccountID, store.Page{Cursor: cursor, Limit: store.MaxLimit})
	})
	if err != nil {
		return err
	}
	v := &webhooksView{adminPage: adminPage{Title: "Webhooks", Section: "settings", Tab: "webhooks"},
		Max: assent.MaxWebhookEndpoints}
	for _, e := range list {
		v.Endpoints = append(v.Endpoints, webhookRow{WebhookEndpoint: e, Health: healthOf(e)})
	}
	s.adminRender(w, r, http.StatusOK, "settings_webhooks", v)
	return nil
}

// webhookFormView is the data of the form that registers or changes an
// endpoint.
type webhookFormView struct {
	adminPage
	Endpoint   *assent.WebhookEndpoint // nil for a new one
	Events     []choice
	Categories []choice
}

func newWebhookForm(e *assent.WebhookEndpoint, form formView) *webhookFormView {
	title := "New webhook endpoint"
	if e != nil {
		title = "Edit webhook endpoint"
	}
	return &webhookFormView{adminPage: adminPage{Title: title, Section: "settings", Tab: "webhooks", Form: form},
		Endpoint: e, Events: webhookEventChoices(), Categories: categoryChoices()}
}

// webhookValues are the form values showing an endpoint.
func webhookValues(e assent.WebhookEndpoint) url.Values {
	v := url.Values{"url": {e.URL}, "events": e.Events, "categories": e.Categories}
	if e.Header != nil {
		v.Set("header.name", e.Header.Name)
		v.Set("header.value", e.Header.Value)
	}
	if e.Enabled {
		v.Set("enabled", "on")
	}
	return v
}

// webhookOf applies the form's fields to an endpoint. A custom header is
// set when either of its fields is filled in.
func webhookOf(form url.Values, e *assent.WebhookEndpoint) {
	e.URL, e.Events, e.Categories = form.Get("url"), form["events"], form["categories"]
	e.Enabled = form.Get("enabled") == "on"
	e.Header = nil
	if name, value := form.Get("header.name"), form.Get("header.value"); strings.TrimSpace(name) != "" || value != "" {
		e.Header = &assent.WebhookHeader{Name: name, Value: value}
	}
}

func (s *Server) adminWebhookNew(w http.ResponseWriter, r *http.Request) error {
	form := newForm(url.Values{"events": {assent.WebhookParticipationCreated}, "enabled": {"on"}}, webhookLabels)
	s.adminRender(w, r, http.StatusOK, "webhook_form", newWebhookForm(nil, form))
	return nil
}

// adminWebhookCreate registers an endpoint and answers with its page
// showing the secret: like a new API key, it is in this answer only.
func (s *Server) adminWebhookCreate(w http.ResponseWriter, r *http.Request) error {
	form, err := parseAdminForm(w, r)
	if err != nil {
		return err
	}
	var e assent.WebhookEndpoint
	webhookOf(form, &e)
	e, err = s.store.CreateWebhook(r.Context(), principal(r.Context()).AccountID, e)
	if err != nil {
		return s.webhookFormFailed(w, r, nil, form, err)
	}
	return s.renderWebhook(w, r, http.StatusCreated, e.ID, e.Secret)
}

// webhookFormFailed shows the endpoint form again with the problems of
// err next to the fields and what was typed.
func (s *Server) webhookFormFailed(w http.ResponseWriter, r *http.Request, e *assent.WebhookEndpoint, form url.Values, err error) error {
	f := newForm(form, webhookLabels)
	if !f.withError(err) {
		return err
	}
	s.adminRender(w, r, formStatus(err), "webhook_form", newWebhookForm(e, f))
	return nil
}

func (s *Server) adminWebhookEdit(w http.ResponseWriter, r *http.Request) error {
	e, err := s.store.Webhook(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.adminRender(w, r, http.StatusOK, "webhook_form", newWebhookForm(&e, newForm(webhookValues(e), webhookLabels)))
	return nil
}

func (s *Server) adminWebhookUpdate(w http.ResponseWriter, r *http.Request) error {
	accountID, id := principal(r.Context()).AccountID, r.PathValue("id")
	e, err := s.store.Webhook(r.Context(), accountID, id)
	if err != nil {
		return err
	}
	form, err := parseAdminForm(w, r)
	if err != nil {
		return err
	}
	_, err = s.store.UpdateWebhook(r.Context(), accountID, id, func(e *assent.WebhookEndpoint) { webhookOf(form, e) })
	if err != nil {
		return s.webhookFormFailed(w, r, &e, form, err)
	}
	return s.redirect(w, r, webhookPath(id), "Endpoint saved.")
}

// adminWebhookEnabled returns the handler that enables (on) or disables an
// endpoint. Disabled, its deliveries wait; enabled again, they go at once.
func (s *Server) adminWebhookEnabled(on bool) adminFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := r.PathValue("id")
		_, err := s.store.UpdateWebhook(r.Context(), principal(r.Context()).AccountID, id,
			func(e *assent.WebhookEndpoint) { e.Enabled = on })
		if err != nil {
			return err
		}
		if on {
			return s.redirect(w, r, webhookPath(id), "Endpoint enabled: waiting deliveries go out now.")
		}
		return s.redirect(w, r, webhookPath(id), "Endpoint disabled: its deliveries wait until you enable it again.")
	}
}

// adminWebhookRotateSecret gives an endpoint a new secret and shows it,
// this once, on the endpoint's page.
func (s *Server) adminWebhookRotateSecret(w http.ResponseWriter, r *http.Request) error {
	e, err := s.store.RotateWebhookSecret(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.renderWebhook(w, r, http.StatusOK, e.ID, e.Secret)
}

// adminWebhookTest queues a webhook.test event for the endpoint; the
// worker sends it like any other, and the log shows how it went.
func (s *Server) adminWebhookTest(w http.ResponseWriter, r *http.Request) error {
	_, err := s.store.SendTestEvent(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"))
	return s.backToWebhook(w, r, err, "Test event queued: the log below shows how it went once it is sent.")
}

// adminWebhookReplay queues an event (the form's "event") again for this
// endpoint, unchanged: same id, same body.
func (s *Server) adminWebhookReplay(w http.ResponseWriter, r *http.Request) error {
	form, err := parseAdminForm(w, r)
	if err != nil {
		return err
	}
	accountID, event := principal(r.Context()).AccountID, form.Get("event")
	// Another account's endpoint is not found, as on every page of it.
	if _, err := s.store.Webhook(r.Context(), accountID, r.PathValue("id")); err != nil {
		return err
	}
	_, err = s.store.ReplayEvent(r.Context(), accountID, event, r.PathValue("id"))
	return s.backToWebhook(w, r, err, "Event "+event+" queued again for this endpoint.")
}

// refusal returns what to tell the admin when err refuses an action for a
// reason they can act on (a disabled endpoint); it returns any other error
// as is.
func refusal(err error) (string, error) {
	var e *assent.Error
	if err == nil || !errors.As(err, &e) || (e.Code != assent.ECONFLICT && e.Code != assent.EINVALID) {
		return "", err
	}
	msg := e.Message
	for _, problem := range e.Fields {
		msg = problem
	}
	return upperFirst(msg) + ".", nil
}

// backToWebhook answers an action on an endpoint with its page: with an
// error flash when err refused it, else with message.
func (s *Server) backToWebhook(w http.ResponseWriter, r *http.Request, err error, message string) error {
	refused, err := refusal(err)
	if err != nil {
		return err
	}
	if refused != "" {
		s.setFlash(w, "error", refused)
		message = ""
	}
	return s.redirect(w, r, webhookPath(r.PathValue("id")), message)
}

func (s *Server) adminWebhookDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteWebhook(r.Context(), principal(r.Context()).AccountID, r.PathValue("id")); err != nil {
		return err
	}
	return s.redirect(w, r, "/admin/settings/webhooks", "Endpoint deleted, with its delivery log.")
}

// webhookPath is the address of an endpoint's page.
func webhookPath(id string) string { return "/admin/settings/webhooks/" + url.PathEscape(id) }

// deliveryRow is a delivery of the log, with its state for people.
type deliveryRow struct {
	store.DeliveryReport
	StateLabel string
	EventLabel string
}

// webhookView is the data of an endpoint's page.
type webhookView struct {
	adminPage
	Endpoint webhookRow
	// Secret is the endpoint's secret, shown only in the answer to its
	// creation or rotation.
	Secret      string
	Deliveries  []deliveryRow
	Next, First string
}

func (s *Server) adminWebhookShow(w http.ResponseWriter, r *http.Request) error {
	return s.renderWebhook(w, r, http.StatusOK, r.PathValue("id"), "")
}

// renderWebhook writes the page of the endpoint id with a page of its
// delivery log (the request's cursor), and secret when it is new.
func (s *Server) renderWebhook(w http.ResponseWriter, r *http.Request, status int, id, secret string) error {
	accountID := principal(r.Context()).AccountID
	e, err := s.store.Webhook(r.Context(), accountID, id)
	if err != nil {
		return err
	}
	cursor := r.URL.Query().Get("cursor")
	list, next, err := s.store.WebhookDeliveries(r.Context(), accountID, id, store.Page{Cursor: cursor, Limit: adminPageSize})
	if assent.ErrorCode(err) == assent.EINVALID { // a cursor from elsewhere: start over
		cursor = ""
		list, next, err = s.store.WebhookDeliveries(r.Context(), accountID, id, store.Page{Limit: adminPageSize})
	}
	if err != nil {
		return err
	}
	v := &webhookView{adminPage: adminPage{Title: hostOf(e.URL), Section: "settings", Tab: "webhooks"},
		Endpoint: webhookRow{WebhookEndpoint: e, Health: healthOf(e)}, Secret: secret}
	for _, d := range list {
		v.Deliveries = append(v.Deliveries, deliveryRow{DeliveryReport: d, StateLabel: deliveryStateLabels[d.State],
			EventLabel: webhookEventLabels[d.EventType]})
	}
	if next != "" {
		v.Next = webhookPath(id) + "?" + url.Values{"cursor": {next}}.Encode() + "#log"
	}
	if cursor != "" {
		v.First = webhookPath(id) + "#log"
	}
	s.adminRender(w, r, status, "webhook", v)
	return nil
}

// hostOf names an endpoint by the host of its URL.
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}
