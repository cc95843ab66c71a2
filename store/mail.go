package store

import (
	"context"
	"database/sql"
	"sort"
	"time"
)

// Mail is an email waiting in the outbox.
type Mail struct {
	ID             string
	AccountID      string
	Kind           string // "confirmation"
	ConfirmationID string
	Recipient      string
	Language       string
	Token          string // the confirmation token, in clear until sent
	Attempts       int
}

const mailColumns = `id, account_id, kind, COALESCE(confirmation_id, ''), recipient, language, token, attempts`

// DueMails lists up to limit emails due now, without claiming them.
func (s *Store) DueMails(ctx context.Context, limit int) ([]Mail, error) {
	return s.queryMails(ctx, s.rdb, "mails", `SELECT `+mailColumns+` FROM mail_outbox WHERE sent_at IS NULL AND next_at <= $1
		ORDER BY next_at, id LIMIT $2`, micros(s.now()), limit)
}

// ClaimMails claims up to limit due emails for lease: other processes will
// not take them until the lease ends, so an email is sent once unless a
// sender dies mid-way, in which case it is retried. The claim is one
// statement and one commit, where it was one of each per email.
func (s *Store) ClaimMails(ctx context.Context, limit int, lease time.Duration) ([]Mail, error) {
	now := s.now()
	// As for deliveries: the pick is materialized, so that PostgreSQL runs
	// it once, and the outer conditions re-check a row that another sender
	// claimed meanwhile.
	mails, err := s.queryMails(ctx, s.db, "claim mail", `WITH picked AS MATERIALIZED (
			SELECT id FROM mail_outbox WHERE sent_at IS NULL AND next_at <= $2
			ORDER BY next_at, id LIMIT $3`+s.skipLocked("mail_outbox")+`)
		UPDATE mail_outbox SET next_at = $1, attempts = attempts + 1
		WHERE id IN (SELECT id FROM picked) AND sent_at IS NULL AND next_at <= $2
		RETURNING `+mailColumns, micros(now.Add(lease)), micros(now), limit)
	if err != nil {
		return nil, err
	}
	// In the order they were queued (ids grow with time).
	sort.Slice(mails, func(i, j int) bool { return mails[i].ID < mails[j].ID })
	return mails, nil
}

// queryMails runs q, which returns mailColumns, on db; what names it in
// errors.
func (s *Store) queryMails(ctx context.Context, db *sql.DB, what, q string, args ...any) ([]Mail, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap(what, err)
	}
	defer rows.Close()
	var out []Mail
	for rows.Next() {
		var m Mail
		if err := rows.Scan(&m.ID, &m.AccountID, &m.Kind, &m.ConfirmationID, &m.Recipient, &m.Language, &m.Token,
			&m.Attempts); err != nil {
			return nil, wrap(what, err)
		}
		out = append(out, m)
	}
	return out, wrap(what, rows.Err())
}

// MailSent records that an email was handed to the relay, and wipes the
// token it carried.
func (s *Store) MailSent(ctx context.Context, id string) error {
	return s.MailsSent(ctx, []string{id})
}

// MailsSent records that emails were handed to the relay, with one
// statement: on SQLite every commit is a sync to disk on the one writer
// connection, which a commit per email took from the participations.
func (s *Store) MailsSent(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{micros(s.now()), neverMicros}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := s.db.ExecContext(ctx, `UPDATE mail_outbox SET sent_at = $1, token = '', next_at = $2, last_error = ''
		WHERE id IN (`+placeholders(3, len(ids))+`)`, args...)
	return wrap("mail sent", err)
}

// MailFailed records a failed attempt; the email is tried again at retryAt.
func (s *Store) MailFailed(ctx context.Context, id string, cause error, retryAt time.Time) error {
	msg := cause.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	_, err := s.db.ExecContext(ctx, `UPDATE mail_outbox SET next_at = $1, last_error = $2 WHERE id = $3`,
		micros(retryAt), msg, id)
	return wrap("mail failed", err)
}

// neverMicros is a next_at that never comes.
const neverMicros = int64(1<<63 - 1)
