package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/assentdev/assent"
)

// PreviousSecretTTL is how long calls stay signed with an endpoint's
// previous secret too, after a rotation.
const PreviousSecretTTL = 24 * time.Hour

const webhookColumns = `id, account_id, url, events, categories, header_name, header_value, enabled, created_at, updated_at`

func scanWebhook(row interface{ Scan(...any) error }) (assent.WebhookEndpoint, error) {
	var e assent.WebhookEndpoint
	var events, categories, headerName, headerValue string
	var created, updated int64
	err := row.Scan(&e.ID, &e.AccountID, &e.URL, &events, &categories, &headerName, &headerValue, &e.Enabled,
		&created, &updated)
	e.Events, e.Categories = fieldsOf(events), fieldsOf(categories)
	if headerName != "" {
		e.Header = &assent.WebhookHeader{Name: headerName, Value: headerValue}
	}
	e.CreatedAt, e.UpdatedAt = fromMicros(created), fromMicros(updated)
	return e, err
}

// fieldsOf splits a space-separated column; never nil, so that JSON says [].
func fieldsOf(s string) []string {
	out := strings.Fields(s)
	if out == nil {
		out = []string{}
	}
	return out
}

// Webhooks lists the webhook endpoints of an account, oldest first, with
// how their deliveries go.
func (s *Store) Webhooks(ctx context.Context, accountID string, page Page) ([]assent.WebhookEndpoint, string, error) {
	after, limit, err := page.after()
	if err != nil {
		return nil, "", err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhook_endpoints
		WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3`, accountID, after, limit+1)
	if err != nil {
		return nil, "", wrap("webhooks", err)
	}
	var out []assent.WebhookEndpoint
	for rows.Next() {
		e, err := scanWebhook(rows)
		if err != nil {
			rows.Close()
			return nil, "", wrap("webhooks", err)
		}
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", wrap("webhooks", err)
	}
	out, next := nextCursor(out, limit, func(e assent.WebhookEndpoint) string { return e.ID })
	for i := range out {
		if err := s.webhookHealth(ctx, &out[i]); err != nil {
			return nil, "", err
		}
	}
	return out, next, nil
}

// Webhook returns one webhook endpoint of the account with how its
// deliveries go, or ENOTFOUND.
func (s *Store) Webhook(ctx context.Context, accountID, id string) (assent.WebhookEndpoint, error) {
	e, err := s.webhook(ctx, s.rdb, accountID, id)
	if err != nil {
		return e, err
	}
	return e, s.webhookHealth(ctx, &e)
}

func (s *Store) webhook(ctx context.Context, q querier, accountID, id string) (assent.WebhookEndpoint, error) {
	if !storable(id) {
		return assent.WebhookEndpoint{}, assent.NotFound("webhook endpoint")
	}
	e, err := scanWebhook(q.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhook_endpoints
		WHERE account_id = $1 AND id = $2`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, assent.NotFound("webhook endpoint")
	}
	return e, wrap("webhook", err)
}

// webhookHealth fills in the delivery report of an endpoint from its log:
// the last attempt, the last success, the failures since, and how many
// deliveries wait or were given up.
func (s *Store) webhookHealth(ctx context.Context, e *assent.WebhookEndpoint) error {
	var lastID string
	var at int64
	var status sql.NullInt64
	err := s.rdb.QueryRowContext(ctx, `SELECT id, created_at, status_code, error FROM webhook_attempts
		WHERE endpoint_id = $1 ORDER BY id DESC LIMIT 1`, e.ID).Scan(&lastID, &at, &status, &e.LastError)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return wrap("webhook health", err)
	default:
		t := fromMicros(at)
		e.LastAttemptAt = &t
		if status.Valid {
			code := int(status.Int64)
			e.LastStatusCode = &code
		}
	}
	var successID string
	err = s.rdb.QueryRowContext(ctx, `SELECT id, created_at FROM webhook_attempts
		WHERE endpoint_id = $1 AND success ORDER BY id DESC LIMIT 1`, e.ID).Scan(&successID, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return wrap("webhook health", err)
	default:
		t := fromMicros(at)
		e.LastSuccessAt = &t
	}
	if err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_attempts WHERE endpoint_id = $1 AND id > $2`,
		e.ID, successID).Scan(&e.ConsecutiveFailures); err != nil {
		return wrap("webhook health", err)
	}
	err = s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FILTER (WHERE state = 'pending'), COUNT(*) FILTER (WHERE state = 'failed')
		FROM webhook_deliveries WHERE endpoint_id = $1`, e.ID).Scan(&e.PendingDeliveries, &e.FailedDeliveries)
	return wrap("webhook health", err)
}

// canonicalOrder sorts values by their position in order, unknown ones last.
func canonicalOrder(values, order []string) {
	slices.SortStableFunc(values, func(a, b string) int {
		ia, ib := slices.Index(order, a), slices.Index(order, b)
		if ia < 0 {
			ia = len(order)
		}
		if ib < 0 {
			ib = len(order)
		}
		return ia - ib
	})
}

func categoryOrder() []string {
	keys := make([]string, len(assent.Categories))
	for i, c := range assent.Categories {
		keys[i] = c.Key
	}
	return keys
}

// prepareWebhook normalises and validates an endpoint before it is stored.
func prepareWebhook(e *assent.WebhookEndpoint) error {
	e.Normalize()
	if e.Events == nil {
		e.Events = []string{}
	}
	if e.Categories == nil {
		e.Categories = []string{}
	}
	if err := e.Validate(); err != nil {
		return err
	}
	canonicalOrder(e.Events, assent.WebhookEventTypes)
	canonicalOrder(e.Categories, categoryOrder())
	return nil
}

// header returns the stored form of an endpoint's custom header.
func headerColumns(h *assent.WebhookHeader) (string, string) {
	if h == nil {
		return "", ""
	}
	return h.Name, h.Value
}

// CreateWebhook registers a webhook endpoint for the account. The answer
// holds its secret, which is never shown again. It returns EINVALID for bad
// fields and ECONFLICT once the account has MaxWebhookEndpoints.
func (s *Store) CreateWebhook(ctx context.Context, accountID string, e assent.WebhookEndpoint) (assent.WebhookEndpoint, error) {
	now := s.now()
	e.ID, e.AccountID, e.CreatedAt, e.UpdatedAt = assent.NewID("whk_"), accountID, now, now
	e.Secret = assent.NewWebhookSecret()
	if err := prepareWebhook(&e); err != nil {
		return e, err
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockAccount(ctx, tx, accountID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_endpoints WHERE account_id = $1`, accountID).
			Scan(&n); err != nil {
			return err
		}
		if n >= assent.MaxWebhookEndpoints {
			return assent.Errorf(assent.ECONFLICT, "an account can have at most %d webhook endpoints; delete one first",
				assent.MaxWebhookEndpoints)
		}
		name, value := headerColumns(e.Header)
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_endpoints (id, account_id, url, events, categories, header_name,
			header_value, secret, previous_secret, previous_until, enabled, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', 0, $9, $10, $10)`,
			e.ID, accountID, e.URL, strings.Join(e.Events, " "), strings.Join(e.Categories, " "), name, value, e.Secret,
			e.Enabled, micros(now))
		return err
	})
	return e, wrap("create webhook", err)
}

// UpdateWebhook applies change (to URL, Events, Categories, Header or
// Enabled) to an endpoint of the account. Disabling an endpoint pauses its
// pending deliveries; enabling it again makes them due at once. It returns
// ENOTFOUND or EINVALID.
func (s *Store) UpdateWebhook(ctx context.Context, accountID, id string, change func(*assent.WebhookEndpoint)) (assent.WebhookEndpoint, error) {
	var e assent.WebhookEndpoint
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if e, err = s.webhook(ctx, tx, accountID, id); err != nil {
			return err
		}
		wasEnabled := e.Enabled
		change(&e)
		e.ID, e.AccountID, e.Secret = id, accountID, ""
		if err := prepareWebhook(&e); err != nil {
			return err
		}
		now := s.now()
		e.UpdatedAt = now
		name, value := headerColumns(e.Header)
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET url = $1, events = $2, categories = $3,
			header_name = $4, header_value = $5, enabled = $6, updated_at = $7 WHERE id = $8`,
			e.URL, strings.Join(e.Events, " "), strings.Join(e.Categories, " "), name, value, e.Enabled, micros(now),
			id); err != nil {
			return err
		}
		switch {
		case wasEnabled && !e.Enabled:
			_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET next_at = $1
				WHERE endpoint_id = $2 AND state = 'pending'`, neverMicros, id)
		case !wasEnabled && e.Enabled:
			_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET next_at = $1
				WHERE endpoint_id = $2 AND state = 'pending' AND next_at = $3`, micros(now), id, neverMicros)
		}
		return err
	})
	if err != nil {
		return e, wrap("update webhook", err)
	}
	s.signalWebhooks()
	return e, s.webhookHealth(ctx, &e)
}

// DeleteWebhook deletes an endpoint of the account with its deliveries and
// their log; the events stay, for the other endpoints. ENOTFOUND if the
// account has no such endpoint.
func (s *Store) DeleteWebhook(ctx context.Context, accountID, id string) error {
	if !storable(id) {
		return assent.NotFound("webhook endpoint")
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE account_id = $1 AND id = $2`, accountID, id)
	if err != nil {
		return wrap("delete webhook", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return assent.NotFound("webhook endpoint")
	}
	return nil
}

// RotateWebhookSecret gives an endpoint a new secret and returns the
// endpoint with it, shown this once. For PreviousSecretTTL, calls carry a
// signature with the previous secret too, so that the receiver can switch
// to the new one without refusing any call.
func (s *Store) RotateWebhookSecret(ctx context.Context, accountID, id string) (assent.WebhookEndpoint, error) {
	var e assent.WebhookEndpoint
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if e, err = s.webhook(ctx, tx, accountID, id); err != nil {
			return err
		}
		now := s.now()
		e.Secret, e.UpdatedAt = assent.NewWebhookSecret(), now
		_, err = tx.ExecContext(ctx, `UPDATE webhook_endpoints SET previous_secret = secret, previous_until = $1,
			secret = $2, updated_at = $3 WHERE id = $4`, micros(now.Add(PreviousSecretTTL)), e.Secret, micros(now), id)
		return err
	})
	if err != nil {
		return e, wrap("rotate webhook secret", err)
	}
	return e, s.webhookHealth(ctx, &e)
}

// WebhookAttempts lists the delivery log of an endpoint of the account,
// newest first, one page at a time. ENOTFOUND if there is no such endpoint.
func (s *Store) WebhookAttempts(ctx context.Context, accountID, endpointID string, page Page) ([]assent.WebhookAttempt, string, error) {
	if _, err := s.webhook(ctx, s.rdb, accountID, endpointID); err != nil {
		return nil, "", err
	}
	before, limit, err := page.after()
	if err != nil {
		return nil, "", err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT a.id, a.delivery_id, a.event_id, ev.type, a.attempt, a.created_at,
		a.duration_us, a.status_code, a.error, a.response_body, a.success, d.state
		FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id JOIN webhook_events ev ON ev.id = a.event_id
		WHERE a.endpoint_id = $1 AND ($2 = '' OR a.id < $2) ORDER BY a.id DESC LIMIT $3`, endpointID, before, limit+1)
	if err != nil {
		return nil, "", wrap("webhook attempts", err)
	}
	defer rows.Close()
	var out []assent.WebhookAttempt
	for rows.Next() {
		var a assent.WebhookAttempt
		var created, duration int64
		var status sql.NullInt64
		if err := rows.Scan(&a.ID, &a.DeliveryID, &a.EventID, &a.EventType, &a.Attempt, &created, &duration, &status,
			&a.Error, &a.ResponseBody, &a.Success, &a.DeliveryState); err != nil {
			return nil, "", wrap("webhook attempts", err)
		}
		a.CreatedAt, a.DurationMS = fromMicros(created), float64(duration)/1000
		if status.Valid {
			code := int(status.Int64)
			a.StatusCode = &code
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", wrap("webhook attempts", err)
	}
	out, next := nextCursor(out, limit, func(a assent.WebhookAttempt) string { return a.ID })
	return out, next, nil
}

// DeliveryReport is one delivery (an event for an endpoint) as an
// endpoint's log shows it: where it stands, how many attempts it took, the
// last answer and when it is tried next.
type DeliveryReport struct {
	ID        string
	EventID   string
	EventType string
	// State is pending, delivered, failed or cancelled.
	State     string
	Attempts  int
	CreatedAt time.Time
	// NextAt is when a pending delivery is tried next (or, while a worker
	// sends it, when its claim ends); nil when it is not pending, or paused
	// because the endpoint is disabled.
	NextAt *time.Time
	// LastAttemptAt, LastStatusCode and LastError tell of the last attempt;
	// LastAttemptAt is nil before the first, LastStatusCode when no answer
	// came.
	LastAttemptAt  *time.Time
	LastStatusCode *int
	LastError      string
}

// WebhookDeliveries lists the deliveries of an endpoint of the account,
// newest first, one page at a time, with what became of each: the log an
// admin reads, where a delivery shows as soon as it is queued. ENOTFOUND
// if there is no such endpoint.
func (s *Store) WebhookDeliveries(ctx context.Context, accountID, endpointID string, page Page) ([]DeliveryReport, string, error) {
	if _, err := s.webhook(ctx, s.rdb, accountID, endpointID); err != nil {
		return nil, "", err
	}
	before, limit, err := page.after()
	if err != nil {
		return nil, "", err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT d.id, d.event_id, ev.type, d.state, d.attempts, d.next_at, d.created_at,
		a.created_at, a.status_code, a.error
		FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id
		LEFT JOIN webhook_attempts a ON a.id = (SELECT MAX(x.id) FROM webhook_attempts x WHERE x.delivery_id = d.id)
		WHERE d.endpoint_id = $1 AND ($2 = '' OR d.id < $2) ORDER BY d.id DESC LIMIT $3`, endpointID, before, limit+1)
	if err != nil {
		return nil, "", wrap("webhook deliveries", err)
	}
	defer rows.Close()
	var out []DeliveryReport
	for rows.Next() {
		var d DeliveryReport
		var next, created int64
		var attemptAt, status sql.NullInt64
		var lastError sql.NullString
		if err := rows.Scan(&d.ID, &d.EventID, &d.EventType, &d.State, &d.Attempts, &next, &created, &attemptAt, &status,
			&lastError); err != nil {
			return nil, "", wrap("webhook deliveries", err)
		}
		d.CreatedAt, d.LastError = fromMicros(created), lastError.String
		if d.State == assent.DeliveryPending && next != neverMicros {
			t := fromMicros(next)
			d.NextAt = &t
		}
		if attemptAt.Valid {
			t := fromMicros(attemptAt.Int64)
			d.LastAttemptAt = &t
		}
		if status.Valid {
			code := int(status.Int64)
			d.LastStatusCode = &code
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, "", wrap("webhook deliveries", err)
	}
	out, next := nextCursor(out, limit, func(d DeliveryReport) string { return d.ID })
	return out, next, nil
}
