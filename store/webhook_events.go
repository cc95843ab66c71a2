package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/assentdev/assent"
)

// outbox writes webhook events and their deliveries in the transaction of
// the change they announce, so that both commit together or not at all
// (SPEC §4.1: a 2xx means the outgoing messages are stored too). It reads
// each account's enabled endpoints once per transaction, so that a batch
// of participations pays one query per account, and nothing more when no
// endpoint wants the event. An event is stored only when some endpoint
// wants it, with its body marshalled once whatever the number of endpoints.
type outbox struct {
	s        *Store
	tx       *sql.Tx
	accounts map[string]*outboxAccount
	queued   bool // deliveries were written: wake the workers after commit
}

// outboxAccount is what the outbox knows of one account in a transaction.
type outboxAccount struct {
	endpoints []outboxEndpoint
	secret    string                        // loaded when first needed
	subs      map[string]assent.Subcategory // by value; loaded when first needed
}

type outboxEndpoint struct {
	id                 string
	events, categories []string
}

func (s *Store) newOutbox(tx *sql.Tx) *outbox {
	return &outbox{s: s, tx: tx, accounts: map[string]*outboxAccount{}}
}

// account returns the account's enabled endpoints, read once per transaction.
func (o *outbox) account(ctx context.Context, accountID string) (*outboxAccount, error) {
	if a, ok := o.accounts[accountID]; ok {
		return a, nil
	}
	rows, err := o.tx.QueryContext(ctx, `SELECT id, events, categories FROM webhook_endpoints
		WHERE account_id = $1 AND enabled ORDER BY id`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	a := &outboxAccount{}
	for rows.Next() {
		var e outboxEndpoint
		var events, categories string
		if err := rows.Scan(&e.id, &events, &categories); err != nil {
			return nil, err
		}
		e.events, e.categories = strings.Fields(events), strings.Fields(categories)
		a.endpoints = append(a.endpoints, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	o.accounts[accountID] = a
	return a, nil
}

// wants reports whether any endpoint subscribes to typ, whatever its
// category filter: the cheap test before anything is built.
func (a *outboxAccount) wants(typ string) bool {
	for _, e := range a.endpoints {
		for _, t := range e.events {
			if t == typ {
				return true
			}
		}
	}
	return false
}

// targets returns the endpoints that want an event of type typ about the
// categories in about.
func (a *outboxAccount) targets(typ string, about assent.CategoryFlags) []string {
	var out []string
	for _, e := range a.endpoints {
		if assent.WebhookWants(e.events, e.categories, typ, about) {
			out = append(out, e.id)
		}
	}
	return out
}

// subcategories returns the account's subcategories by value.
func (o *outbox) subcategories(ctx context.Context, accountID string, a *outboxAccount) (map[string]assent.Subcategory, error) {
	if a.subs != nil {
		return a.subs, nil
	}
	list, err := o.s.subcategories(ctx, o.tx, accountID)
	if err != nil {
		return nil, err
	}
	a.subs = make(map[string]assent.Subcategory, len(list))
	for _, sc := range list {
		a.subs[sc.Value] = sc
	}
	return a.subs, nil
}

// accountSecret returns the secret that signs the account's links.
func (o *outbox) accountSecret(ctx context.Context, accountID string, a *outboxAccount) (string, error) {
	if a.secret == "" {
		if err := o.tx.QueryRowContext(ctx, `SELECT secret FROM accounts WHERE id = $1`, accountID).Scan(&a.secret); err != nil {
			return "", err
		}
	}
	return a.secret, nil
}

// optinCategories returns an opt-in's subcategories with their parents:
// its "categories" in a payload.
func optinCategories(o *assent.Optin, subs map[string]assent.Subcategory) []assent.WebhookSubcategory {
	out := make([]assent.WebhookSubcategory, 0, len(o.Subcategories))
	for _, v := range o.Subcategories {
		sc := subs[v]
		parent, _ := assent.CategoryByKey(sc.Category)
		out = append(out, assent.WebhookSubcategory{Value: v, Name: sc.Name, Parent: parent})
	}
	return out
}

// participationCreated writes the participation.created event of a
// participation recorded in o's transaction, for the endpoints that want it.
func (o *outbox) participationCreated(ctx context.Context, w *participationWrite, r *assent.Receipt, ipHash, firstName,
	lastName string) error {
	a, err := o.account(ctx, w.account.id)
	if err != nil || !a.wants(assent.WebhookParticipationCreated) {
		return err
	}
	var accepted assent.CategoryFlags
	for i := range w.form {
		if answer := w.sub.Answers[w.form[i].ID]; answer != nil && *answer {
			for _, c := range w.form[i].Categories {
				accepted.Set(c)
			}
		}
	}
	targets := a.targets(assent.WebhookParticipationCreated, accepted)
	if len(targets) == 0 {
		return nil
	}
	subs, err := o.subcategories(ctx, w.account.id, a)
	if err != nil {
		return err
	}
	isNew := r.NewParticipant
	data := assent.ParticipationData{
		Participation: assent.WebhookParticipation{ID: r.ID, CreatedAt: w.at, IPHash: ipHash, UserAgent: w.sub.UserAgent,
			UTM: w.sub.UTM, Source: w.sub.Source},
		Campaign: assent.WebhookCampaign{ID: w.campaign.ID, Name: w.campaign.Name, Language: w.campaign.Language,
			Type: w.campaign.Type},
		Participant: assent.WebhookParticipant{ID: r.ParticipantID, Email: w.sub.Email, FirstName: firstName,
			LastName: lastName, New: &isNew, PreferencesURL: o.s.preferencesURL(w.account.secret, r.ParticipantID)},
		Optins:        make([]assent.ParticipationOptin, len(w.form)),
		Categories:    accepted,
		Subcategories: map[string]bool{},
	}
	for i := range w.form {
		opt := &w.form[i]
		answer := w.sub.Answers[opt.ID]
		data.Optins[i] = assent.ParticipationOptin{ID: opt.ID, Name: opt.Name, Variable: opt.Variable, Version: opt.Version,
			Text: opt.Text, Response: answer, State: r.Optins[i].State, Categories: optinCategories(opt, subs)}
		for _, v := range opt.Subcategories {
			data.Subcategories[v] = data.Subcategories[v] || (answer != nil && *answer)
		}
	}
	return o.write(ctx, w.account.id, r.ParticipantID, assent.WebhookParticipationCreated, w.at, data, targets)
}

// consentChanged writes a consent.* event for the ledger events just
// appended, whose opt-ins' consent moved to state, for the endpoints that
// want it. confirmationID, when set, names the double opt-in request
// behind the change.
func (o *outbox) consentChanged(ctx context.Context, typ, accountID, participantID string, events []*assent.ConsentEvent,
	state assent.ConsentState, source, confirmationID string, at time.Time) error {
	if len(events) == 0 {
		return nil
	}
	// The version is that of each opt-in's event: the text the participant
	// accepted, as in the ledger, not today's.
	optinIDs, versions := make([]string, len(events)), make(map[string]int, len(events))
	for i, e := range events {
		optinIDs[i], versions[e.OptinID] = e.OptinID, e.OptinVersion
	}
	a, err := o.account(ctx, accountID)
	if err != nil || !a.wants(typ) {
		return err
	}
	args := []any{accountID}
	for _, id := range optinIDs {
		args = append(args, id)
	}
	list, err := o.s.queryOptins(ctx, o.tx, `SELECT `+optinColumns+` FROM optins o WHERE o.account_id = $1 AND o.id IN (`+
		placeholders(2, len(optinIDs))+`)`, args...)
	if err != nil {
		return err
	}
	byID := map[string]*assent.Optin{}
	var about assent.CategoryFlags
	for i := range list {
		byID[list[i].ID] = &list[i]
		for _, c := range list[i].Categories {
			about.Set(c)
		}
	}
	targets := a.targets(typ, about)
	if len(targets) == 0 {
		return nil
	}
	subs, err := o.subcategories(ctx, accountID, a)
	if err != nil {
		return err
	}
	p, err := o.s.participant(ctx, o.tx, accountID, participantID)
	if err != nil {
		return err
	}
	data := assent.ConsentData{
		Participant:    assent.WebhookParticipant{ID: p.ID, Email: p.Email, FirstName: p.FirstName, LastName: p.LastName},
		State:          state,
		Source:         source,
		ConfirmationID: confirmationID,
		Optins:         []assent.ConsentOptin{},
		Subcategories:  map[string]bool{},
	}
	if p.ErasedAt == nil {
		secret, err := o.accountSecret(ctx, accountID, a)
		if err != nil {
			return err
		}
		data.Participant.PreferencesURL = o.s.preferencesURL(secret, p.ID)
	}
	if confirmationID != "" {
		var c assent.WebhookCampaign
		err := o.tx.QueryRowContext(ctx, `SELECT cf.participation_id, c.id, c.name, c.language, c.type FROM confirmations cf
			JOIN participations p ON p.id = cf.participation_id JOIN campaigns c ON c.id = p.campaign_id
			WHERE cf.id = $1`, confirmationID).Scan(&data.ParticipationID, &c.ID, &c.Name, &c.Language, &c.Type)
		if err != nil {
			return err
		}
		data.Campaign = &c
	}
	for _, id := range optinIDs {
		opt, ok := byID[id]
		if !ok {
			return fmt.Errorf("opt-in %s is missing", id)
		}
		version, text := opt.Version, opt.Text
		if v, ok := versions[id]; ok && v != version {
			version = v
			if err := o.tx.QueryRowContext(ctx, `SELECT text FROM optin_versions WHERE optin_id = $1 AND version = $2`,
				id, v).Scan(&text); err != nil {
				return err
			}
		}
		data.Optins = append(data.Optins, assent.ConsentOptin{ID: opt.ID, Name: opt.Name, Variable: opt.Variable,
			Version: version, Text: text, State: state, Categories: optinCategories(opt, subs)})
		for _, v := range opt.Subcategories {
			data.Subcategories[v] = true
		}
	}
	data.Categories = about
	return o.write(ctx, accountID, participantID, typ, at, data, targets)
}

// write stores an event and one due delivery of it per target endpoint.
func (o *outbox) write(ctx context.Context, accountID, participantID, typ string, at time.Time, data any, targets []string) error {
	id, err := insertEvent(ctx, o.tx, accountID, participantID, typ, at, data)
	if err != nil {
		return err
	}
	if _, err := insertDeliveries(ctx, o.tx, accountID, id, targets, at); err != nil {
		return err
	}
	o.queued = true
	return nil
}

// notify wakes the delivery workers once o's transaction has committed.
func (o *outbox) notify() {
	if o != nil && o.queued {
		o.s.signalWebhooks()
	}
}

// insertEvent stores a new event with its body and returns its id.
func insertEvent(ctx context.Context, tx *sql.Tx, accountID, participantID, typ string, at time.Time, data any) (string, error) {
	ev := assent.WebhookEvent{ID: assent.NewID("evt_"), Type: typ, CreatedAt: at, Data: data}
	body, err := json.Marshal(ev)
	if err != nil {
		return "", err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO webhook_events (id, account_id, type, participant_id, payload, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, ev.ID, accountID, typ, nullString(participantID), string(body), micros(at))
	return ev.ID, err
}

// insertDeliveries queues an event for each endpoint, due at once, in one
// statement.
func insertDeliveries(ctx context.Context, tx *sql.Tx, accountID, eventID string, endpointIDs []string, at time.Time) ([]assent.WebhookDelivery, error) {
	if len(endpointIDs) == 0 {
		return nil, nil
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO webhook_deliveries (id, account_id, endpoint_id, event_id, state, attempts, next_at, lease,
		created_at, updated_at) VALUES `)
	args := []any{accountID, eventID, micros(at)}
	out := make([]assent.WebhookDelivery, len(endpointIDs))
	for i, endpointID := range endpointIDs {
		out[i] = assent.WebhookDelivery{ID: assent.NewID("dlv_"), EndpointID: endpointID, EventID: eventID}
		if i > 0 {
			q.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&q, `($%d, $1, $%d, $2, 'pending', 0, $3, '', $3, $3)`, n+1, n+2)
		args = append(args, out[i].ID, endpointID)
	}
	_, err := tx.ExecContext(ctx, q.String(), args...)
	return out, err
}

// preferencesURL returns the signed link to a participant's preferences
// page, under BaseURL.
func (s *Store) preferencesURL(accountSecret, participantID string) string {
	return strings.TrimRight(s.BaseURL, "/") + "/preferences/" + preferencesToken(accountSecret, participantID)
}

// SendTestEvent queues a webhook.test event for one endpoint of the
// account and returns its delivery, which the workers send like any other
// and log. It returns ENOTFOUND, or ECONFLICT for a disabled endpoint
// (nothing is delivered to it until it is enabled).
func (s *Store) SendTestEvent(ctx context.Context, accountID, endpointID string) (assent.WebhookDelivery, error) {
	var d assent.WebhookDelivery
	err := s.tx(ctx, func(tx *sql.Tx) error {
		e, err := s.webhook(ctx, tx, accountID, endpointID)
		if err != nil {
			return err
		}
		if !e.Enabled {
			return assent.Errorf(assent.ECONFLICT, "the endpoint is disabled; enable it to send it events")
		}
		now := s.now()
		id, err := insertEvent(ctx, tx, accountID, "", assent.WebhookTest, now, assent.TestData{EndpointID: e.ID,
			Message: "This is a test event from Assent: the endpoint is reachable and can check signatures."})
		if err != nil {
			return err
		}
		ds, err := insertDeliveries(ctx, tx, accountID, id, []string{e.ID}, now)
		if err == nil {
			d = ds[0]
		}
		return err
	})
	if err != nil {
		return d, wrap("send test event", err)
	}
	s.signalWebhooks()
	return d, nil
}

// ReplayEvent queues an event of the account again, with its body and id
// unchanged: for the endpoint endpointID when set (whether or not it got
// the event before), otherwise for every enabled endpoint it was queued
// for. It returns ENOTFOUND for an unknown event, EINVALID for an unknown
// endpoint, and ECONFLICT for a disabled one or when there is none.
func (s *Store) ReplayEvent(ctx context.Context, accountID, eventID, endpointID string) ([]assent.WebhookDelivery, error) {
	var out []assent.WebhookDelivery
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if !storable(eventID) {
			return assent.NotFound("event")
		}
		var typ string
		err := tx.QueryRowContext(ctx, `SELECT type FROM webhook_events WHERE account_id = $1 AND id = $2`,
			accountID, eventID).Scan(&typ)
		if errors.Is(err, sql.ErrNoRows) {
			return assent.NotFound("event")
		}
		if err != nil {
			return err
		}
		var targets []string
		if endpointID != "" {
			e, err := s.webhook(ctx, tx, accountID, endpointID)
			if assent.ErrorCode(err) == assent.ENOTFOUND {
				return &assent.Error{Code: assent.EINVALID, Message: "some fields are invalid",
					Fields: map[string]string{"endpoint_id": "no webhook endpoint has the id " + endpointID}}
			}
			if err != nil {
				return err
			}
			if !e.Enabled {
				return assent.Errorf(assent.ECONFLICT, "the endpoint is disabled; enable it to send it events")
			}
			targets = []string{e.ID}
		} else {
			rows, err := tx.QueryContext(ctx, `SELECT DISTINCT e.id FROM webhook_deliveries d
				JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.event_id = $1 AND e.enabled ORDER BY e.id`, eventID)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				targets = append(targets, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if len(targets) == 0 {
				return assent.Errorf(assent.ECONFLICT, "no enabled endpoint received this event; name one with endpoint_id")
			}
		}
		out, err = insertDeliveries(ctx, tx, accountID, eventID, targets, s.now())
		return err
	})
	if err != nil {
		return nil, wrap("replay event", err)
	}
	s.signalWebhooks()
	return out, nil
}

// eraseWebhookData removes a participant's personal data from the bodies
// of their events, and cancels the deliveries of those that have not gone
// out: what was not sent yet is not sent after an erasure.
func eraseWebhookData(ctx context.Context, tx *sql.Tx, participantID string, now time.Time) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, payload FROM webhook_events WHERE participant_id = $1`, participantID)
	if err != nil {
		return err
	}
	type event struct{ id, payload string }
	var list []event
	for rows.Next() {
		var e event
		if err := rows.Scan(&e.id, &e.payload); err != nil {
			rows.Close()
			return err
		}
		list = append(list, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, e := range list {
		body, err := redactPayload(e.payload)
		if err != nil {
			return fmt.Errorf("redact event %s: %w", e.id, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_events SET payload = $1 WHERE id = $2`, body, e.id); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'cancelled', next_at = $1, lease = '', updated_at = $2
		WHERE state = 'pending' AND event_id IN (SELECT id FROM webhook_events WHERE participant_id = $3)`,
		neverMicros, micros(now), participantID)
	return err
}

// redactPayload empties the personal fields of an event body: the
// participant's email, names and preferences link, and the user agent.
func redactPayload(payload string) (string, error) {
	var ev map[string]any
	if err := json.Unmarshal([]byte(payload), &ev); err != nil {
		return "", err
	}
	data, _ := ev["data"].(map[string]any)
	if p, ok := data["participant"].(map[string]any); ok {
		for _, k := range []string{"email", "first_name", "last_name", "preferences_url"} {
			p[k] = ""
		}
	}
	if p, ok := data["participation"].(map[string]any); ok {
		p["user_agent"] = ""
	}
	body, err := json.Marshal(ev)
	return string(body), err
}
