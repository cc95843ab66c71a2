package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/assentdev/assent"
)

const subcategoryColumns = `id, account_id, name, value, category, builtin, created_at`

func scanSubcategory(row interface{ Scan(...any) error }) (assent.Subcategory, error) {
	var sc assent.Subcategory
	var created int64
	err := row.Scan(&sc.ID, &sc.AccountID, &sc.Name, &sc.Value, &sc.Category, &sc.Builtin, &created)
	sc.CreatedAt = fromMicros(created)
	return sc, err
}

// Subcategories lists every subcategory of the account: the built-in ones
// first in category order, then the custom ones by creation.
func (s *Store) Subcategories(ctx context.Context, accountID string) ([]assent.Subcategory, error) {
	return s.subcategories(ctx, s.rdb, accountID)
}

func (s *Store) subcategories(ctx context.Context, q querier, accountID string) ([]assent.Subcategory, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+subcategoryColumns+` FROM subcategories WHERE account_id = $1
		ORDER BY CASE WHEN builtin THEN 0 ELSE 1 END, id`, accountID)
	if err != nil {
		return nil, wrap("subcategories", err)
	}
	defer rows.Close()
	var out []assent.Subcategory
	for rows.Next() {
		sc, err := scanSubcategory(rows)
		if err != nil {
			return nil, wrap("subcategories", err)
		}
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("subcategories", err)
	}
	// Built-in ones in the fixed category order; ids sort by creation, and
	// all four were created in the same millisecond.
	builtin := out[:0:0]
	for _, c := range assent.Categories {
		for _, sc := range out {
			if sc.Builtin && sc.Category == c.Key {
				builtin = append(builtin, sc)
			}
		}
	}
	return append(builtin, out[len(builtin):]...), nil
}

// Subcategory returns one subcategory of the account, or ENOTFOUND.
func (s *Store) Subcategory(ctx context.Context, accountID, id string) (assent.Subcategory, error) {
	return s.subcategory(ctx, s.rdb, accountID, id)
}

func (s *Store) subcategory(ctx context.Context, q querier, accountID, id string) (assent.Subcategory, error) {
	if !storable(id) {
		return assent.Subcategory{}, assent.NotFound("subcategory")
	}
	sc, err := scanSubcategory(q.QueryRowContext(ctx, `SELECT `+subcategoryColumns+` FROM subcategories
		WHERE account_id = $1 AND id = $2`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return sc, assent.NotFound("subcategory")
	}
	return sc, wrap("subcategory", err)
}

// SubcategoryUsage returns, per subcategory id of the account, how many
// opt-ins (archived ones too) use it; unused ones are absent.
func (s *Store) SubcategoryUsage(ctx context.Context, accountID string) (map[string]int, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT os.subcategory_id, COUNT(*) FROM optin_subcategories os
		JOIN subcategories sc ON sc.id = os.subcategory_id WHERE sc.account_id = $1 GROUP BY os.subcategory_id`, accountID)
	if err != nil {
		return nil, wrap("subcategory usage", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, wrap("subcategory usage", err)
		}
		out[id] = n
	}
	return out, wrap("subcategory usage", rows.Err())
}

// CreateSubcategory adds a custom subcategory. It returns EINVALID for bad
// fields and ECONFLICT for a value taken or when the account has
// MaxCustomSubcategories already.
func (s *Store) CreateSubcategory(ctx context.Context, accountID string, sc assent.Subcategory) (assent.Subcategory, error) {
	defer s.forget() // once committed: the write path and reports read these through a cache
	sc.ID, sc.AccountID, sc.Builtin, sc.CreatedAt = assent.NewID("sub_"), accountID, false, s.now()
	sc.Name = strings.TrimSpace(sc.Name)
	if err := sc.Validate(); err != nil {
		return sc, err
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockAccount(ctx, tx, accountID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM subcategories WHERE account_id = $1 AND NOT builtin`,
			accountID).Scan(&n); err != nil {
			return err
		}
		if n >= assent.MaxCustomSubcategories {
			return assent.Errorf(assent.ECONFLICT, "an account can have at most %d custom subcategories; delete one first",
				assent.MaxCustomSubcategories)
		}
		if err := valueFree(ctx, tx, accountID, sc.Value, ""); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO subcategories (id, account_id, name, value, category, builtin, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, sc.ID, accountID, sc.Name, sc.Value, sc.Category, false, micros(sc.CreatedAt))
		return err
	})
	return sc, wrap("create subcategory", conflictOnUnique(err, "value", "is taken by another subcategory"))
}

// UpdateSubcategory applies change (to Name, Value or Category) to a custom
// subcategory. Built-in subcategories cannot change (ECONFLICT).
func (s *Store) UpdateSubcategory(ctx context.Context, accountID, id string, change func(*assent.Subcategory)) (assent.Subcategory, error) {
	defer s.forget() // once committed: the write path reads these through its cache
	var sc assent.Subcategory
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if sc, err = s.subcategory(ctx, tx, accountID, id); err != nil {
			return err
		}
		if sc.Builtin {
			return assent.Errorf(assent.ECONFLICT, "the built-in subcategory %q cannot be changed", sc.Value)
		}
		old := sc
		change(&sc)
		sc.Name = strings.TrimSpace(sc.Name)
		if err := sc.Validate(); err != nil {
			return err
		}
		if sc.Value != old.Value {
			if err := valueFree(ctx, tx, accountID, sc.Value, id); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE subcategories SET name = $1, value = $2, category = $3 WHERE id = $4`,
			sc.Name, sc.Value, sc.Category, id)
		return err
	})
	return sc, wrap("update subcategory", conflictOnUnique(err, "value", "is taken by another subcategory"))
}

// DeleteSubcategory deletes a custom subcategory that no opt-in uses. It
// returns ECONFLICT for a built-in one, and ECONFLICT naming the opt-ins
// (archived ones too) that still use it.
func (s *Store) DeleteSubcategory(ctx context.Context, accountID, id string) error {
	defer s.forget() // once committed: the write path reads these through its cache
	err := s.tx(ctx, func(tx *sql.Tx) error {
		sc, err := s.subcategory(ctx, tx, accountID, id)
		if err != nil {
			return err
		}
		if sc.Builtin {
			return assent.Errorf(assent.ECONFLICT, "the built-in subcategory %q cannot be deleted", sc.Value)
		}
		rows, err := tx.QueryContext(ctx, `SELECT o.id, o.name FROM optin_subcategories os JOIN optins o ON o.id = os.optin_id
			WHERE os.subcategory_id = $1 ORDER BY o.id`, id)
		if err != nil {
			return err
		}
		var users []string
		for rows.Next() {
			var oid, name string
			if err := rows.Scan(&oid, &name); err != nil {
				rows.Close()
				return err
			}
			users = append(users, name+" ("+oid+")")
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(users) > 0 {
			return assent.Errorf(assent.ECONFLICT, "subcategory %q is used by %d opt-in(s): %s; change their subcategories first",
				sc.Value, len(users), strings.Join(users, ", "))
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM subcategories WHERE id = $1`, id)
		return err
	})
	return wrap("delete subcategory", err)
}

// valueFree returns ECONFLICT when another subcategory (than exceptID) of
// the account has value.
func valueFree(ctx context.Context, tx *sql.Tx, accountID, value, exceptID string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM subcategories WHERE account_id = $1 AND value = $2 AND id <> $3`,
		accountID, value, exceptID).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return &assent.Error{Code: assent.ECONFLICT, Message: "another subcategory has the value " + value,
			Fields: map[string]string{"value": "is taken by another subcategory"}}
	}
	return nil
}

// conflictOnUnique turns a unique-constraint failure that slipped past the
// checks (a race between two processes) into ECONFLICT on field.
func conflictOnUnique(err error, field, problem string) error {
	if isUniqueViolation(err) {
		return &assent.Error{Code: assent.ECONFLICT, Message: field + " " + problem, Fields: map[string]string{field: problem}}
	}
	return err
}
