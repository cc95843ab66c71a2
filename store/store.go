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
	"sync"
	"time"

	"github.com/assentdev/assent/stats"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" driver
	_ "modernc.org/sqlite"           // registers the "sqlite" driver
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
	// A process that never reports (assent import) sets it to nil before
	// it writes: a nil Engine counts nothing (its Add and SetConfirmed do
	// nothing), and such a process must not load or query it.
	Stats *stats.Engine

	writer *writer
	// checkpoints copies SQLite's WAL into the database file (SQLite only).
	checkpoints *checkpointer
	// follow tells which events of the ledger s.Stats counts (CatchUp).
	follow *follower
	// meta caches what the write path reads of keys, accounts and forms.
	meta metaCache
	// stmts holds the writer's prepared statements on SQLite, by their
	// text; unprepared, those to prepare.
	stmts, unprepared sync.Map
	// webhooksQueued wakes a delivery worker when deliveries were queued.
	webhooksQueued chan struct{}
}

// Open connects to the database named by dsn: "sqlite:PATH" (or a bare path)
// or a "postgres://" URL. It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string) (*Store, error) {
	s := &Store{Now: time.Now, ConfirmationTTL: DefaultConfirmationTTL, Stats: stats.NewEngine(),
		follow: newFollower(), webhooksQueued: make(chan struct{}, 1)}
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		// pgx prepares each statement once per connection, and after five
		// runs PostgreSQL may keep one generic plan for it. A plan made
		// while the tables were small scans them whole; once they are large,
		// looking participants up by email took seconds per batch. Planning
		// every run is cheap beside that.
		if _, set := cfg.RuntimeParams["plan_cache_mode"]; !set {
			cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
		}
		db := stdlib.OpenDB(*cfg)
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
	if s.engine == SQLite {
		s.checkpoints = newCheckpointer(s)
	}
	return s, nil
}

// openSQLite opens path with the pragmas every connection needs: WAL, full
// fsync on commit (an acknowledged write survives a power cut), foreign keys,
// a busy timeout, and statement journals in memory rather than in temporary
// files (a tenth of the write path's time went to writing them). The writer
// starts its transactions IMMEDIATE so that a transaction that reads then
// writes never fails to upgrade its lock, and has a larger page cache: it
// looks participants up by email and inserts into every index.
func openSQLite(path string, writer bool) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)", "busy_timeout(10000)",
		"temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	if writer {
		q.Set("_txlock", "immediate")
		q.Add("_pragma", "wal_autocheckpoint(0)") // see checkpointer
		// 64 MiB: SQLite walks its whole page cache at the end of every
		// transaction (pcache1TruncateUnsafe was 12% of the ingest's CPU
		// with 256 MiB, 3% with 32 MiB); the operating system caches the
		// rest of the file.
		q.Add("_pragma", "cache_size(-65536)")
	} else {
		q.Add("_pragma", "cache_size(-32768)") // 32 MiB for each of the readers
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

// SetWriterCache sets the page cache of the writing connection to mib
// MiB, on SQLite (PostgreSQL has none of its own). The default, 64 MiB,
// suits many small transactions: SQLite walks the whole cache at the end
// of each. A bulk import writes transactions of thousands of
// participations, each touching more index pages than 64 MiB holds: the
// pages it must let go mid-transaction are written to the WAL early and
// read back, and a larger cache spares that.
func (s *Store) SetWriterCache(ctx context.Context, mib int) error {
	if mib < 1 {
		return fmt.Errorf("store: writer cache of %d MiB: want at least 1", mib)
	}
	if s.engine != SQLite {
		return nil
	}
	_, err := s.db.ExecContext(ctx, fmt.Sprintf(`PRAGMA cache_size = -%d`, mib*1024))
	return wrap("writer cache", err)
}

// Close stops the participation writer, answering any still queued with
// an error, and releases the connections.
func (s *Store) Close() error {
	if s.checkpoints != nil {
		s.checkpoints.close() // before the writer, which it uses
	}
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

// params returns n parameters numbered from from, for statements with
// many: on SQLite anonymous ("?"), since SQLite finds a numbered one by
// its name, in a time that grows with the number of parameters, which
// makes a statement of thousands of them slow to prepare and to bind.
func (s *Store) params(from, n int) string {
	if s.engine != SQLite {
		return placeholders(from, n)
	}
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
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

// insertSizes are the numbers of rows insertRows puts in one statement:
// a batch is cut into statements of these sizes, largest first, so that
// the same few statements come back and are prepared once.
var insertSizes = []int{256, 64, 16, 4, 1}

// insertRows runs insert (an "INSERT INTO t (columns)" clause) with one
// VALUES tuple per row, then suffix (an ON CONFLICT clause, say): a few
// statements, a few round trips, for many rows. Rows must all have the
// same width. No rows is a no-op.
func (s *Store) insertRows(ctx context.Context, tx *sql.Tx, insert string, rows [][]any, suffix string) error {
	for _, size := range insertSizes {
		for len(rows) >= size {
			if err := s.insertChunk(ctx, tx, insert, rows[:size], suffix); err != nil {
				return err
			}
			rows = rows[size:]
		}
	}
	return nil
}

// insertChunk inserts rows with one statement.
func (s *Store) insertChunk(ctx context.Context, tx *sql.Tx, insert string, rows [][]any, suffix string) error {
	width := len(rows[0])
	var b strings.Builder
	b.WriteString(insert)
	b.WriteString(" VALUES ")
	args := make([]any, 0, width*len(rows))
	for i, row := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		b.WriteString(s.params(len(args)+1, width))
		b.WriteString(")")
		args = append(args, row...)
	}
	b.WriteString(suffix)
	query := b.String()
	if s.engine != SQLite {
		// pgx keeps each connection's prepared statements by their text.
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	}
	if st, ok := s.stmts.Load(query); ok {
		_, err := tx.StmtContext(ctx, st.(*sql.Stmt)).ExecContext(ctx, args...)
		return err
	}
	// Prepared after the transaction (prepareInserts): the one writer
	// connection is taken until then.
	s.unprepared.Store(query, true)
	_, err := tx.ExecContext(ctx, query, args...)
	return err
}

// prepareInserts prepares, on the SQLite writer, the statements insertRows
// ran without being prepared. insertRows' statements are long, and parsing
// them anew for every batch cost a fifth of the write path's time. Call it
// outside transactions. A statement that fails to prepare runs unprepared.
func (s *Store) prepareInserts(ctx context.Context) {
	s.unprepared.Range(func(k, _ any) bool {
		s.unprepared.Delete(k)
		if st, err := s.db.PrepareContext(ctx, k.(string)); err == nil {
			if _, loaded := s.stmts.LoadOrStore(k, st); loaded {
				st.Close()
			}
		}
		return true
	})
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
