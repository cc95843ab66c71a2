package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered schema step. A file NNNN_name.sql applies to
// both engines; NNNN_name.sqlite.sql or NNNN_name.postgres.sql to one only.
type migration struct {
	version int
	name    string
	sql     map[Engine]string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	byVersion := map[int]*migration{}
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("store: migration %s: name must start with a number", name)
		}
		body, err := migrationFiles.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		m := byVersion[v]
		if m == nil {
			m = &migration{version: v, name: strings.TrimSuffix(rest, ".sql"), sql: map[Engine]string{}}
			byVersion[v] = m
		}
		switch {
		case strings.HasSuffix(name, ".sqlite.sql"):
			m.sql[SQLite] = string(body)
		case strings.HasSuffix(name, ".postgres.sql"):
			m.sql[Postgres] = string(body)
		default:
			m.sql[SQLite], m.sql[Postgres] = string(body), string(body)
		}
	}
	var out []migration
	for _, m := range byVersion {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("store: migrations must be numbered 1, 2, 3…; found %d at position %d", m.version, i+1)
		}
	}
	return out, nil
}

// SchemaVersion is the schema version this binary brings its databases to.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		panic(err)
	}
	return len(ms)
}

// Migrate brings the schema up to date, every step in one transaction: a
// step that fails leaves the database as it was. It refuses a database
// whose schema is newer than this binary knows.
func (s *Store) Migrate(ctx context.Context) error {
	return s.migrateTo(ctx, SchemaVersion())
}

// migrateTo brings the schema up to version, which tests set below the
// newest to write the data of an older release.
func (s *Store) migrateTo(ctx context.Context, version int) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	// On SQLite, the steps run with foreign keys off, and every key is
	// checked before they commit: SQLite's way to rebuild a table that
	// others refer to (with keys on, dropping the old table deletes its
	// rows first, which the rows referring to them forbid). The setting
	// belongs to a connection and cannot change inside a transaction,
	// hence a connection of its own.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	if s.engine == SQLite {
		if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		defer conn.ExecContext(context.Background(), `PRAGMA foreign_keys = ON`)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate: begin: %w", err)
	}
	defer tx.Rollback()
	if err := s.lockMigrations(ctx, tx); err != nil {
		return fmt.Errorf("store: migrate: lock: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("store: migrate: read version: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("store: the database schema is at version %d but this assent binary knows only up to %d: run a newer assent", current, len(ms))
	}
	for _, m := range ms[current:max(current, version)] {
		if _, err := tx.ExecContext(ctx, m.sql[s.engine]); err != nil {
			return fmt.Errorf("store: migration %d (%s): %w", m.version, m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
			m.version, micros(s.now())); err != nil {
			return fmt.Errorf("store: migration %d: %w", m.version, err)
		}
	}
	if s.engine == SQLite && version > current {
		if err := foreignKeyCheck(ctx, tx); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrate: commit: %w", err)
	}
	return nil
}

// foreignKeyCheck returns an error naming the first row of a SQLite
// database whose foreign key names no row.
func foreignKeyCheck(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return err
		}
		return fmt.Errorf("a row of %s (rowid %d) refers to a missing row of %s", table, rowid.Int64, parent)
	}
	return rows.Err()
}
