package store

import (
	"context"
	"database/sql"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/assentdev/assent"
)

// Delivery is a claimed webhook delivery: one event for one endpoint, with
// what the worker needs to send it.
type Delivery struct {
	ID         string
	AccountID  string
	EndpointID string
	EventID    string
	EventType  string
	Payload    []byte
	URL        string
	// Secrets sign the call: the endpoint's secret, then its previous one
	// while it is still honoured after a rotation.
	Secrets     []string
	HeaderName  string // "" when the endpoint has no custom header
	HeaderValue string
	// Attempts is how many attempts were made before this one.
	Attempts int
	// Lease identifies the claim; a result is recorded only under it.
	Lease string
}

// DeliveryResult is what became of a claimed delivery.
type DeliveryResult struct {
	DeliveryID string
	Lease      string
	// Released means no attempt was made (the worker is stopping): the
	// delivery is due again at once, and nothing is logged.
	Released bool
	// Attempt is the number of this attempt: the claim's Attempts + 1.
	Attempt      int
	EndpointID   string
	EventID      string
	At           time.Time // when the request started
	Duration     time.Duration
	StatusCode   int    // 0 when no answer came
	Error        string // why it failed, when it did
	ResponseBody string // the start of the answer's body
	Success      bool
	// RetryAt, for a failure, is when to try again; nil gives up: the
	// delivery is failed.
	RetryAt *time.Time
}

// signalWebhooks wakes one waiting delivery worker, without blocking.
func (s *Store) signalWebhooks() {
	select {
	case s.webhooksQueued <- struct{}{}:
	default:
	}
}

// WebhooksQueued receives a value when this process queued webhook
// deliveries, so that a worker can send them at once instead of at its
// next poll. Other processes' deliveries are found by polling.
func (s *Store) WebhooksQueued() <-chan struct{} { return s.webhooksQueued }

// ClaimDeliveries claims up to limit due deliveries of enabled endpoints
// for lease: until the lease ends, no other worker (in this process or
// another sharing the database) claims them. A worker that dies leaves
// them to be claimed again once the lease runs out: delivery is at least
// once, and normally once.
func (s *Store) ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]Delivery, error) {
	now := s.now()
	token := assent.RandomToken(16)
	// The pick is a materialized CTE: as a plain IN (subquery), PostgreSQL
	// may run the subquery again for each row and claim far more than
	// limit. The outer conditions repeat the inner ones, so that a row
	// another worker claimed meanwhile is re-checked and skipped.
	rows, err := s.db.QueryContext(ctx, `WITH picked AS MATERIALIZED (
			SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
			WHERE d.state = 'pending' AND d.next_at <= $3 AND e.enabled ORDER BY d.next_at LIMIT $4`+s.skipLocked("d")+`)
		UPDATE webhook_deliveries SET next_at = $1, lease = $2
		WHERE id IN (SELECT id FROM picked) AND state = 'pending' AND next_at <= $3
		RETURNING id`, micros(now.Add(lease)), token, micros(now), limit)
	if err != nil {
		return nil, wrap("claim deliveries", err)
	}
	var ids []any
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, wrap("claim deliveries", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return nil, wrap("claim deliveries", err)
	}
	rows, err = s.db.QueryContext(ctx, `SELECT d.id, d.account_id, d.endpoint_id, d.event_id, d.attempts, ev.type, ev.payload,
		e.url, e.secret, e.previous_secret, e.previous_until, e.header_name, e.header_value
		FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id JOIN webhook_endpoints e ON e.id = d.endpoint_id
		WHERE d.id IN (`+placeholders(1, len(ids))+`) ORDER BY d.next_at, d.id`, ids...)
	if err != nil {
		return nil, wrap("claimed deliveries", err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d := Delivery{Lease: token}
		var payload, secret, previous string
		var previousUntil int64
		if err := rows.Scan(&d.ID, &d.AccountID, &d.EndpointID, &d.EventID, &d.Attempts, &d.EventType, &payload, &d.URL,
			&secret, &previous, &previousUntil, &d.HeaderName, &d.HeaderValue); err != nil {
			return nil, wrap("claimed deliveries", err)
		}
		d.Payload, d.Secrets = []byte(payload), []string{secret}
		if previous != "" && previousUntil > micros(now) {
			d.Secrets = append(d.Secrets, previous)
		}
		out = append(out, d)
	}
	return out, wrap("claimed deliveries", rows.Err())
}

// RecordDeliveries records what became of claimed deliveries, in one
// transaction: each attempt in the log, and each delivery delivered,
// failed, due again at its RetryAt, or released. A result whose claim was
// lost (its lease ran out and another worker took the delivery) is logged
// but changes nothing else; one whose endpoint was deleted is dropped.
func (s *Store) RecordDeliveries(ctx context.Context, results []DeliveryResult) error {
	if len(results) == 0 {
		return nil
	}
	now := s.now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, r := range results {
			if err := s.recordDelivery(ctx, tx, r, now); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("record deliveries", err)
}

func (s *Store) recordDelivery(ctx context.Context, tx *sql.Tx, r DeliveryResult, now time.Time) error {
	var res sql.Result
	var err error
	switch {
	case r.Released:
		_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET next_at = $1, lease = '' WHERE id = $2 AND lease = $3`,
			micros(now), r.DeliveryID, r.Lease)
		return err
	case r.Success:
		res, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'delivered', attempts = $1, next_at = $2,
			lease = '', updated_at = $3 WHERE id = $4 AND lease = $5`, r.Attempt, neverMicros, micros(now), r.DeliveryID, r.Lease)
	case r.RetryAt == nil:
		res, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'failed', attempts = $1, next_at = $2,
			lease = '', updated_at = $3 WHERE id = $4 AND lease = $5`, r.Attempt, neverMicros, micros(now), r.DeliveryID, r.Lease)
	default:
		// A delivery to an endpoint disabled meanwhile waits, paused, until
		// the endpoint is enabled again.
		res, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET attempts = $1,
			next_at = CASE WHEN (SELECT enabled FROM webhook_endpoints WHERE id = endpoint_id)
				THEN CAST($2 AS BIGINT) ELSE CAST($3 AS BIGINT) END,
			lease = '', updated_at = $4 WHERE id = $5 AND lease = $6`,
			r.Attempt, micros(*r.RetryAt), neverMicros, micros(now), r.DeliveryID, r.Lease)
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE id = $1`, r.DeliveryID).
			Scan(&exists); err != nil || exists == 0 {
			return err
		}
	}
	var status sql.NullInt64
	if r.StatusCode != 0 {
		status = sql.NullInt64{Int64: int64(r.StatusCode), Valid: true}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO webhook_attempts (id, delivery_id, endpoint_id, event_id, attempt, created_at,
		duration_us, status_code, error, response_body, success) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		assent.NewID("wat_"), r.DeliveryID, r.EndpointID, r.EventID, r.Attempt, micros(r.At), r.Duration.Microseconds(),
		status, storableText(r.Error, 1000), storableText(r.ResponseBody, 1024), r.Success)
	return err
}

// storableText cuts s to at most max bytes of valid UTF-8 without NUL, so
// that any answer of any receiver can be logged on both engines.
func storableText(s string, max int) string {
	if len(s) > max {
		s = s[:max]
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	for len(s) > max { // replacement characters can grow it back
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}
