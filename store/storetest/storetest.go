// Package storetest hands each test a fresh, migrated, real database:
// a temporary SQLite file, or a schema of its own on the PostgreSQL server
// named by ASSENT_TEST_POSTGRES when that variable is set.
package storetest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
)

// PostgresEnv names the variable holding the PostgreSQL URL for tests.
const PostgresEnv = "ASSENT_TEST_POSTGRES"

// DSN returns a data source name for a fresh, empty database that lives as
// long as the test: a SQLite file in t.TempDir(), or a new schema on the
// PostgreSQL server of ASSENT_TEST_POSTGRES, dropped at cleanup. A
// configured server that cannot be reached fails the test.
func DSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		return "sqlite:" + filepath.Join(t.TempDir(), "assent.db")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("storetest: %s=%q: %v", PostgresEnv, base, err)
	}
	defer admin.Close()
	schema := "assent_test_" + strings.ToLower(assent.RandomToken(10))
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("storetest: PostgreSQL at %s=%q is configured but not usable: %v", PostgresEnv, base, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: %s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// New returns a migrated store on a fresh database (see DSN), closed at the
// end of the test.
func New(t testing.TB) *store.Store {
	t.Helper()
	return Open(t, DSN(t))
}

// Open returns a store on the database dsn (from DSN), migrated and with its
// statistics loaded, as a process does at start; it is closed at the end of
// the test. Opening a second store on one dsn is how a test restarts the
// service on the same data.
func Open(t testing.TB, dsn string) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("storetest: open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("storetest: migrate: %v", err)
	}
	if err := s.LoadStats(ctx); err != nil {
		t.Fatalf("storetest: load stats: %v", err)
	}
	return s
}

// RawDB opens the database dsn (from DSN) with database/sql alone, for
// tests that read the stored rows behind the store's back; it is closed at
// the end of the test.
func RawDB(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	driver, source := "pgx", dsn
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		driver, source = "sqlite", "file:"+path+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, source)
	if err != nil {
		t.Fatalf("storetest: raw %s: %v", driver, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Account creates an account named name (UTC) in s and returns it.
func Account(t testing.TB, s *store.Store, name string) assent.Account {
	t.Helper()
	a, err := s.CreateAccount(context.Background(), name, "UTC")
	if err != nil {
		t.Fatalf("storetest: create account %s: %v", name, err)
	}
	return a
}

// Count returns the number of rows of a table, for tests that check that
// a refused write stored nothing.
func Count(t testing.TB, s *store.Store, table string) int {
	t.Helper()
	n, err := s.CountRows(context.Background(), table)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
