package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/assentdev/assent"
)

const accountColumns = `id, name, time_zone, created_at`

func scanAccount(row interface{ Scan(...any) error }) (assent.Account, error) {
	var a assent.Account
	var created int64
	err := row.Scan(&a.ID, &a.Name, &a.TimeZone, &created)
	a.CreatedAt = fromMicros(created)
	return a, err
}

// CreateAccount creates an account with its four built-in subcategories.
// It returns EINVALID for a bad name or time zone, ECONFLICT for a name taken.
func (s *Store) CreateAccount(ctx context.Context, name, timeZone string) (assent.Account, error) {
	defer s.forget() // once committed: the write path and reports read these through a cache
	name = strings.TrimSpace(name)
	if timeZone == "" {
		timeZone = "UTC"
	}
	if err := assent.ValidateAccount(name, timeZone); err != nil {
		return assent.Account{}, err
	}
	a := assent.Account{ID: assent.NewID("acc_"), Name: name, TimeZone: timeZone, CreatedAt: s.now()}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, name, time_zone, secret, created_at) VALUES ($1, $2, $3, $4, $5)`,
			a.ID, a.Name, a.TimeZone, assent.RandomToken(32), micros(a.CreatedAt))
		if isUniqueViolation(err) {
			return assent.Errorf(assent.ECONFLICT, "an account named %q exists already", name)
		}
		if err != nil {
			return err
		}
		for _, sub := range assent.BuiltinSubcategories() {
			if _, err := tx.ExecContext(ctx, `INSERT INTO subcategories (id, account_id, name, value, category, builtin, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				assent.NewID("sub_"), a.ID, sub.Name, sub.Value, sub.Category, true, micros(a.CreatedAt)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return assent.Account{}, wrap("create account", err)
	}
	return a, nil
}

// EnsureDefaultAccount creates the account "default" (UTC) when the
// database has no account at all, and reports whether it did.
func (s *Store) EnsureDefaultAccount(ctx context.Context) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts`).Scan(&n); err != nil {
		return false, wrap("count accounts", err)
	}
	if n > 0 {
		return false, nil
	}
	_, err := s.CreateAccount(ctx, assent.DefaultAccountName, "UTC")
	if assent.ErrorCode(err) == assent.ECONFLICT {
		return false, nil // another process was first
	}
	return err == nil, err
}

// Account returns the account with the given id, or ENOTFOUND.
func (s *Store) Account(ctx context.Context, id string) (assent.Account, error) {
	a, err := scanAccount(s.rdb.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, assent.NotFound("account")
	}
	return a, wrap("account", err)
}

// AccountByNameOrID returns the account with the given id or, failing that,
// the given name; ENOTFOUND if neither matches.
func (s *Store) AccountByNameOrID(ctx context.Context, nameOrID string) (assent.Account, error) {
	a, err := scanAccount(s.rdb.QueryRowContext(ctx,
		`SELECT `+accountColumns+` FROM accounts WHERE id = $1 OR name = $1 ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END LIMIT 1`, nameOrID))
	if errors.Is(err, sql.ErrNoRows) {
		return a, assent.Errorf(assent.ENOTFOUND, "no account has the name or id %q", nameOrID)
	}
	return a, wrap("account", err)
}

// Accounts lists every account, oldest first (for the command line).
func (s *Store) Accounts(ctx context.Context) ([]assent.Account, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts ORDER BY id`)
	if err != nil {
		return nil, wrap("accounts", err)
	}
	defer rows.Close()
	var out []assent.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, wrap("accounts", err)
		}
		out = append(out, a)
	}
	return out, wrap("accounts", rows.Err())
}

// UpdateAccount applies change to the account and stores the result after
// validating it. change may only alter Name and TimeZone. A new time zone
// moves the day boundaries of every report, so the statistics are counted
// again.
func (s *Store) UpdateAccount(ctx context.Context, id string, change func(*assent.Account)) (assent.Account, error) {
	defer s.forget() // once committed: the write path reads these through its cache
	var a assent.Account
	var oldZone string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return assent.NotFound("account")
		}
		if err != nil {
			return err
		}
		oldZone = a.TimeZone
		change(&a)
		a.Name = strings.TrimSpace(a.Name)
		if err := assent.ValidateAccount(a.Name, a.TimeZone); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE accounts SET name = $1, time_zone = $2 WHERE id = $3`, a.Name, a.TimeZone, id)
		if isUniqueViolation(err) {
			return assent.Errorf(assent.ECONFLICT, "an account named %q exists already", a.Name)
		}
		return err
	})
	if err == nil && a.TimeZone != oldZone {
		err = s.ReloadStats(ctx, id)
	}
	return a, wrap("update account", err)
}

// wrap adds the operation to internal errors and leaves *assent.Error as is,
// so that user-facing messages stay clean.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *assent.Error
	if errors.As(err, &e) {
		return e
	}
	return fmt.Errorf("store: %s: %w", op, err)
}
