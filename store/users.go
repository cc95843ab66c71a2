package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/assentdev/assent"
)

// CreateUser creates a user of the account with an argon2id hash of password.
// It returns EINVALID for bad fields and ECONFLICT when the email is taken.
func (s *Store) CreateUser(ctx context.Context, accountID, email, name string, role assent.Role, password string) (assent.User, error) {
	u := assent.User{ID: assent.NewID("usr_"), AccountID: accountID, Email: assent.NormalizeEmail(email),
		Name: strings.TrimSpace(name), Role: role, CreatedAt: s.now()}
	if err := assent.ValidateUser(u.Email, u.Name, u.Role, password); err != nil {
		return u, err
	}
	hash := assent.HashPassword(password)
	_, err := s.db.ExecContext(ctx, `INSERT INTO users (id, account_id, email, name, role, password_hash, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, u.ID, accountID, u.Email, u.Name, string(u.Role), hash, micros(u.CreatedAt))
	if isUniqueViolation(err) {
		return u, &assent.Error{Code: assent.ECONFLICT, Message: "a user with this email exists already",
			Fields: map[string]string{"email": "is taken"}}
	}
	return u, wrap("create user", err)
}

// Users lists the users of an account, one page at a time.
func (s *Store) Users(ctx context.Context, accountID string, page Page) ([]assent.User, string, error) {
	after, limit, err := page.after()
	if err != nil {
		return nil, "", err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, account_id, email, name, role, created_at FROM users
		WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3`, accountID, after, limit+1)
	if err != nil {
		return nil, "", wrap("users", err)
	}
	defer rows.Close()
	var out []assent.User
	for rows.Next() {
		var u assent.User
		var created int64
		if err := rows.Scan(&u.ID, &u.AccountID, &u.Email, &u.Name, &u.Role, &created); err != nil {
			return nil, "", wrap("users", err)
		}
		u.CreatedAt = fromMicros(created)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, "", wrap("users", err)
	}
	out, next := nextCursor(out, limit, func(u assent.User) string { return u.ID })
	return out, next, nil
}

// CreateAPIKey makes a new random key for the account. The returned key's
// Key field holds the secret: the only time it exists outside the caller.
func (s *Store) CreateAPIKey(ctx context.Context, accountID, name string, role assent.Role) (assent.APIKey, error) {
	name = strings.TrimSpace(name)
	if err := assent.ValidateAPIKey(name, role); err != nil {
		return assent.APIKey{}, err
	}
	secret := assent.APIKeyPrefix + assent.RandomToken(32)
	k := assent.APIKey{ID: assent.NewID("key_"), AccountID: accountID, Name: name, Role: role,
		Prefix: secret[:len(assent.APIKeyPrefix)+6], Key: secret, CreatedAt: s.now()}
	_, err := s.db.ExecContext(ctx, `INSERT INTO api_keys (id, account_id, name, role, prefix, hash, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, k.ID, accountID, k.Name, string(k.Role), k.Prefix, hashKey(secret), micros(k.CreatedAt))
	return k, wrap("create api key", err)
}

// APIKeys lists the keys of an account (never their secrets).
func (s *Store) APIKeys(ctx context.Context, accountID string, page Page) ([]assent.APIKey, string, error) {
	after, limit, err := page.after()
	if err != nil {
		return nil, "", err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, account_id, name, role, prefix, created_at FROM api_keys
		WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3`, accountID, after, limit+1)
	if err != nil {
		return nil, "", wrap("api keys", err)
	}
	defer rows.Close()
	var out []assent.APIKey
	for rows.Next() {
		var k assent.APIKey
		var created int64
		if err := rows.Scan(&k.ID, &k.AccountID, &k.Name, &k.Role, &k.Prefix, &created); err != nil {
			return nil, "", wrap("api keys", err)
		}
		k.CreatedAt = fromMicros(created)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, "", wrap("api keys", err)
	}
	out, next := nextCursor(out, limit, func(k assent.APIKey) string { return k.ID })
	return out, next, nil
}

// DeleteAPIKey revokes a key of the account; ENOTFOUND if it has no such key.
func (s *Store) DeleteAPIKey(ctx context.Context, accountID, id string) error {
	defer s.forget() // once committed: the write path reads these through its cache
	if !storable(id) {
		return assent.NotFound("API key")
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM api_keys WHERE account_id = $1 AND id = $2`, accountID, id)
	if err != nil {
		return wrap("delete api key", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return assent.NotFound("API key")
	}
	return nil
}

// Authenticate returns the principal of an API key, or ENOTFOUND when no
// key matches.
func (s *Store) Authenticate(ctx context.Context, key string) (assent.Principal, error) {
	return s.cachedPrincipal(ctx, hashKey(key))
}

// principal reads the principal of an API key's hash.
func (s *Store) principal(ctx context.Context, hash string) (assent.Principal, error) {
	var p assent.Principal
	err := s.rdb.QueryRowContext(ctx, `SELECT id, account_id, role FROM api_keys WHERE hash = $1`, hash).
		Scan(&p.KeyID, &p.AccountID, &p.Role)
	if errors.Is(err, sql.ErrNoRows) {
		return p, assent.NotFound("API key")
	}
	return p, wrap("authenticate", err)
}

// hashKey returns the stored form of an API key. Keys carry 256 random bits,
// so a fast hash is enough: there is nothing to brute-force.
func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// UpdateUserRole gives a user of the account another role; their sessions
// follow at their next request, since a session reads the role anew. It
// returns EINVALID for a role a user cannot hold and ENOTFOUND.
func (s *Store) UpdateUserRole(ctx context.Context, accountID, id string, role assent.Role) (assent.User, error) {
	if !slices.Contains(assent.UserRoles, role) {
		return assent.User{}, &assent.Error{Code: assent.EINVALID, Message: "some fields are invalid",
			Fields: map[string]string{"role": "must be one of admin, marketer, editor, observer"}}
	}
	if !storable(id) {
		return assent.User{}, assent.NotFound("user")
	}
	var u assent.User
	var created int64
	err := s.db.QueryRowContext(ctx, `UPDATE users SET role = $1 WHERE account_id = $2 AND id = $3
		RETURNING id, account_id, email, name, role, created_at`, string(role), accountID, id).
		Scan(&u.ID, &u.AccountID, &u.Email, &u.Name, &u.Role, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return u, assent.NotFound("user")
	}
	u.CreatedAt = fromMicros(created)
	return u, wrap("update user role", err)
}

// DeleteUser removes a user of the account; their sessions end with them.
// ENOTFOUND if the account has no such user.
func (s *Store) DeleteUser(ctx context.Context, accountID, id string) error {
	if !storable(id) {
		return assent.NotFound("user")
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM users WHERE account_id = $1 AND id = $2`, accountID, id)
	if err != nil {
		return wrap("delete user", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return assent.NotFound("user")
	}
	return nil
}

// ChangePassword sets a new password for a user who gives their current
// one, and ends their other sessions: whoever else knew the old password
// is signed out. The session keepSessionID (the one asking) stays. It
// returns EINVALID, naming current_password when it is not right or
// password when the new one is too short, and ENOTFOUND.
func (s *Store) ChangePassword(ctx context.Context, accountID, userID, current, password, keepSessionID string) error {
	if !storable(userID) {
		return assent.NotFound("user")
	}
	var hash string
	err := s.db.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE account_id = $1 AND id = $2`,
		accountID, userID).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return assent.NotFound("user")
	}
	if err != nil {
		return wrap("change password", err)
	}
	p := assent.Problems{}
	if !assent.CheckPassword(hash, current) {
		p.Add("current_password", "is not your current password")
	}
	if utf8.RuneCountInString(password) < assent.MinPasswordLength {
		p.Add("password", "must be at least %d characters", assent.MinPasswordLength)
	}
	if err := p.Err(); err != nil {
		return err
	}
	hash = assent.HashPassword(password)
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, hash, userID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2`, userID, keepSessionID)
		return err
	})
	return wrap("change password", err)
}
