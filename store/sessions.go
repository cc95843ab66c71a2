package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"github.com/assentdev/assent"
)

// sessionTouchInterval is how stale a session's last_seen_at may get
// before a request writes it again: the idle timeout is kept to within
// that, at one write per session per interval rather than per request.
const sessionTouchInterval = time.Minute

// AuthenticateUser returns the user with the given email and password. It
// answers the same ENOTFOUND for an unknown email and a wrong password, and
// takes as long for both, so that nobody learns which addresses have users.
func (s *Store) AuthenticateUser(ctx context.Context, email, password string) (assent.User, error) {
	wrong := assent.Errorf(assent.ENOTFOUND, "wrong email or password")
	if !storable(email) {
		assent.CheckPassword(dummyHash(), password)
		return assent.User{}, wrong
	}
	var u assent.User
	var hash string
	var created int64
	err := s.rdb.QueryRowContext(ctx, `SELECT id, account_id, email, name, role, password_hash, created_at
		FROM users WHERE email = $1`, assent.NormalizeEmail(email)).
		Scan(&u.ID, &u.AccountID, &u.Email, &u.Name, &u.Role, &hash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		assent.CheckPassword(dummyHash(), password)
		return assent.User{}, wrong
	}
	if err != nil {
		return assent.User{}, wrap("authenticate user", err)
	}
	if !assent.CheckPassword(hash, password) {
		return assent.User{}, wrong
	}
	u.CreatedAt = fromMicros(created)
	return u, nil
}

// dummyHash is a hash of no one's password, checked against when the email
// is unknown so that the answer takes as long as for a wrong password.
var dummyHash = sync.OnceValue(func() string { return assent.HashPassword(assent.RandomToken(16)) })

// CreateSession signs u in: it stores a new session and returns it with the
// token for the browser, which is stored nowhere else. It also removes the
// sessions that have expired, so that the table stays small.
func (s *Store) CreateSession(ctx context.Context, u assent.User) (assent.Session, string, error) {
	now := s.now()
	token := assent.RandomToken(32)
	sess := assent.Session{ID: hashKey(token), UserID: u.ID, AccountID: u.AccountID, CreatedAt: now,
		ExpiresAt: now.Add(assent.SessionLifetime), LastSeenAt: now, User: u}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2`,
			micros(now), micros(now.Add(-assent.SessionIdleTimeout))); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, user_id, account_id, created_at, expires_at, last_seen_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, sess.ID, u.ID, u.AccountID, micros(now), micros(sess.ExpiresAt), micros(now))
		return err
	})
	if err != nil {
		return assent.Session{}, "", wrap("create session", err)
	}
	return sess, token, nil
}

// Session returns the live session of a token, with its user (and their
// current role) and account, and records that it was used. It returns
// ENOTFOUND for an unknown token and for an expired session, which it
// deletes.
func (s *Store) Session(ctx context.Context, token string) (assent.Session, error) {
	if token == "" || !storable(token) {
		return assent.Session{}, assent.NotFound("session")
	}
	id := hashKey(token)
	var sess assent.Session
	var created, expires, seen, userCreated, accountCreated int64
	err := s.rdb.QueryRowContext(ctx, `SELECT s.id, s.user_id, s.account_id, s.created_at, s.expires_at, s.last_seen_at,
			u.email, u.name, u.role, u.created_at, a.name, a.time_zone, a.created_at
		FROM sessions s JOIN users u ON u.id = s.user_id JOIN accounts a ON a.id = s.account_id
		WHERE s.id = $1`, id).
		Scan(&sess.ID, &sess.UserID, &sess.AccountID, &created, &expires, &seen,
			&sess.User.Email, &sess.User.Name, &sess.User.Role, &userCreated,
			&sess.Account.Name, &sess.Account.TimeZone, &accountCreated)
	if errors.Is(err, sql.ErrNoRows) {
		return assent.Session{}, assent.NotFound("session")
	}
	if err != nil {
		return assent.Session{}, wrap("session", err)
	}
	sess.CreatedAt, sess.ExpiresAt, sess.LastSeenAt = fromMicros(created), fromMicros(expires), fromMicros(seen)
	sess.User.ID, sess.User.AccountID, sess.User.CreatedAt = sess.UserID, sess.AccountID, fromMicros(userCreated)
	sess.Account.ID, sess.Account.CreatedAt = sess.AccountID, fromMicros(accountCreated)
	now := s.now()
	if !sess.Live(now) {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id = $1`, id); err != nil {
			return assent.Session{}, wrap("delete expired session", err)
		}
		return assent.Session{}, assent.NotFound("session")
	}
	if now.Sub(sess.LastSeenAt) >= sessionTouchInterval {
		if _, err := s.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2`, micros(now), id); err != nil {
			return assent.Session{}, wrap("touch session", err)
		}
		sess.LastSeenAt = now
	}
	return sess, nil
}

// DeleteSession signs out the session of a token; an unknown token is no
// error, since the result is the same.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	if !storable(token) {
		return nil
	}
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id = $1`, hashKey(token))
	return wrap("delete session", err)
}
