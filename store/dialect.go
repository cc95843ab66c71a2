package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
)

// This file holds every place where SQLite and PostgreSQL need different SQL
// or different error handling. Grep here first.

// lockAccount serialises writers of one account for the rest of tx, so that
// checks like "at most 100 subcategories" cannot race. SQLite needs nothing:
// its writer transactions are IMMEDIATE and there is one writer.
func (s *Store) lockAccount(ctx context.Context, tx *sql.Tx, accountID string) error {
	if s.engine != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT id FROM accounts WHERE id = $1 FOR UPDATE`, accountID)
	return err
}

// skipLocked returns the clause that makes a claiming subquery lock the
// rows of table alias it picks and skip those other workers hold, so that
// workers sharing a PostgreSQL database claim different deliveries without
// waiting for each other. SQLite needs none: a write statement runs alone.
func (s *Store) skipLocked(alias string) string {
	if s.engine != Postgres {
		return ""
	}
	return " FOR UPDATE OF " + alias + " SKIP LOCKED"
}

// lockMigrations keeps two processes from migrating one database at once.
func (s *Store) lockMigrations(ctx context.Context, tx *sql.Tx) error {
	if s.engine != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7270411)`)
	return err
}

// isUniqueViolation reports whether err is a unique constraint failure.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// storable reports whether s can be a text parameter on both engines:
// PostgreSQL refuses NUL characters and invalid UTF-8 where SQLite takes
// them. Ids and cursors come from URLs and can hold anything, so lookups
// check them first and answer "not found" for what no row can hold.
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
