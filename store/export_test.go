package store

import (
	"context"
	"database/sql"
)

// ExecForTest runs a statement on the writer, for tests that must put the
// database in a state the API cannot reach.
func ExecForTest(s *Store, query string, args ...any) error {
	defer s.forget()
	_, err := s.db.ExecContext(context.Background(), query, args...)
	return err
}

// MarkAnsweredForTest marks opt-ins answered as a participation would.
func MarkAnsweredForTest(s *Store, optinIDs ...string) error {
	return s.tx(context.Background(), func(tx *sql.Tx) error { return markAnswered(context.Background(), tx, optinIDs) })
}

// ScalarForTest reads one value with a query, for tests that check what
// the API does not show (what erasure left behind, say).
func ScalarForTest(s *Store, query string, args ...any) (string, error) {
	var v sql.NullString
	err := s.db.QueryRowContext(context.Background(), query, args...).Scan(&v)
	return v.String, err
}

// ForgetForTest empties the one-second cache of keys, accounts, forms and
// report names, as a second passing would.
func ForgetForTest(s *Store) { s.forget() }

// MigrateToForTest brings the schema up to version only, so that a test
// can write the data of an older release and then migrate it.
func MigrateToForTest(s *Store, version int) error { return s.migrateTo(context.Background(), version) }

// StopCheckpointsForTest stops the SQLite checkpointer's own rounds, so
// that only CheckpointForTest's run.
func StopCheckpointsForTest(s *Store) { s.checkpoints.close() }

// CheckpointForTest runs one round of the SQLite checkpointer now, with
// the WAL started over past restart pages, and returns how many pages the
// WAL held.
func CheckpointForTest(s *Store, restart int) int {
	s.checkpoints.restart.Store(int64(restart))
	return s.checkpoints.round()
}

// CountEventsForTest counts the ledger's events of every account, as
// VerifyLedger reads them.
func CountEventsForTest(s *Store) (int, error) {
	rows, err := s.db.QueryContext(context.Background(), `SELECT id FROM accounts`)
	if err != nil {
		return 0, err
	}
	var accounts []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		accounts = append(accounts, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, id := range accounts {
		c, err := s.VerifyLedger(context.Background(), id)
		if err != nil {
			return 0, err
		}
		n += int(c.Events)
	}
	return n, nil
}
