// Package store keeps Assent's data in SQLite (embedded, the default) or
// PostgreSQL. All SQL lives here, written once for both engines; where they
// differ, both strings stand side by side in dialect.go.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/assentdev/assent/stats"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Engine names a database engine.
type Engine string

// The supported engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// Store is a handle on one Assent database. It is safe for concurrent use.
type Store struct {
	engine Engine
	// db takes the writes. On SQLite it holds one connection, so that writes
	// queue in Go instead of failing on the database lock.
	db *sql.DB
	// rdb takes the reads; on SQLite it is a pool of its own (WAL lets
	// readers run beside the writer), on PostgreSQL it is db.
	rdb *sql.DB
	// Now is the clock; tests replace it.
	Now func() time.Time
	// ConfirmationTTL is how long a double opt-in waits for confirmation.
	ConfirmationTTL time.Duration
	// BaseURL is the public address of the service, without a trailing
	// slash: webhook payloads carry links under it (preferences_url).
	BaseURL string

	// Stats holds the statistics, kept by every write; LoadStats fills it.
	Stats *stats.Engine

	writer *writer
	// webhooksQueued wakes a delivery worker when deliveries were queued.
	webhooksQueued chan struct{}
}

// Open connects to the database named by dsn: "sqlite:PATH" (or a bare path)
// or a "postgres://" URL. It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string) (*Store, error) {
	s := &Store{Now: time.Now, ConfirmationTTL: DefaultConfirmationTTL, Stats: stats.NewEngine(),
		webhooksQueued: make(chan struct{}, 1)}
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
		db.SetConnMaxIdleTime(5 * time.Minute)
		s.engine, s.db, s.rdb = Postgres, db, db
	default:
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return nil, errors.New("store: empty SQLite path")
		}
		w, err := openSQLite(path, true)
		if err != nil {
			return nil, err
		}
		r, err := openSQLite(path, false)
		if err != nil {
			w.Close()
			return nil, err
		}
		s.engine, s.db, s.rdb = SQLite, w, r
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.closeDB()
		return nil, fmt.Errorf("store: connect to %s: %w", s.engine, err)
	}
	s.writer = newWriter(s)
	return s, nil
}

// openSQLite opens path with the pragmas every connection needs: WAL, full
// fsync on commit (an acknowledged write survives a power cut), foreign keys,
// and a busy timeout. The writer starts its transactions IMMEDIATE so that
// a transaction that reads then writes never fails to upgrade its lock.
func openSQLite(path string, writer bool) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)", "busy_timeout(10000)"} {
		q.Add("_pragma", p)
	}
	if writer {
		q.Set("_txlock", "immediate")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	if writer {
		db.SetMaxOpenConns(1)
	} else {
		db.SetMaxOpenConns(8)
	}
	db.SetMaxIdleConns(8)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// Engine reports which engine s runs on.
func (s *Store) Engine() Engine { return s.engine }

// Close stops the participation writer, answering any still queued with
// an error, and releases the connections.
func (s *Store) Close() error {
	s.writer.close()
	return s.closeDB()
}

func (s *Store) closeDB() error {
	err := s.db.Close()
	if s.rdb != s.db {
		err = errors.Join(err, s.rdb.Close())
	}
	return err
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.rdb.PingContext(ctx)
}

// tx runs fn in a write transaction, committing when fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// micros and fromMicros convert times to and from the stored form.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

// atMicros truncates t to the precision the database keeps, so that what a
// write answers is what later reads return.
func atMicros(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC().Truncate(time.Microsecond)
	return &v
}

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// placeholders returns "$from, $from+1, …" for n arguments.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

// now reads the clock at the precision the database keeps.
func (s *Store) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// CountRows returns the number of rows of a table; for tests and checks.
func (s *Store) CountRows(ctx context.Context, table string) (int, error) {
	for _, c := range table {
		if !(c >= 'a' && c <= 'z' || c == '_') {
			return 0, fmt.Errorf("store: bad table name %q", table)
		}
	}
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n)
	return n, err
}

// maxParams is the most parameters insertRows puts in one statement.
const maxParams = 30000

// insertRows runs insert (an "INSERT INTO t (columns)" clause) with one
// VALUES tuple per row, then suffix (an ON CONFLICT clause, say): one
// statement, one round trip, for many rows. Rows must all have the same
// width. No rows is a no-op. Rows beyond maxParams parameters go in
// further statements.

func insertRows(ctx context.Context, q querier, insert string, rows [][]any, suffix string) error {
	if len(rows) == 0 {
		return nil
	}
	width := len(rows[0])
	// Both engines cap the parameters of a statement (SQLite at 32,766).
	if per := maxParams / width; len(rows) > per {
		if err := insertRows(ctx, q, insert, rows[:per], suffix); err != nil {
			return err
		}
		return insertRows(ctx, q, insert, rows[per:], suffix)
	}
	var b strings.Builder
	b.WriteString(insert)
	b.WriteString(" VALUES ")
	args := make([]any, 0, width*len(rows))
	for i, row := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		b.WriteString(placeholders(len(args)+1, width))
		b.WriteString(")")
		args = append(args, row...)
	}
	b.WriteString(suffix)
	_, err := q.ExecContext(ctx, b.String(), args...)
	return err
}

// RelaxDurability stops SQLite from syncing each commit to disk (WAL with
// synchronous NORMAL): a power cut may lose the latest commits, though the
// database stays consistent. It is for throwaway databases only, such as
// the one "assent demo" fills, where it makes writes many times faster. It
// does nothing on PostgreSQL.
func (s *Store) RelaxDurability(ctx context.Context) error {
	if s.engine != SQLite {
		return nil
	}
	// The writer pool holds one connection that lives as long as the store,
	// so the setting stays.
	_, err := s.db.ExecContext(ctx, `PRAGMA synchronous = NORMAL`)
	return err
}
