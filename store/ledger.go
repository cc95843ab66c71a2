package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/assentdev/assent"
)

// ledger appends consent events within one write transaction, keeping each
// account's chain head so that a batch chains its events in order.
type ledger struct {
	s     *Store
	tx    *sql.Tx
	heads map[string]chainHead
	first map[string]int64 // each account's head before this transaction
	dirty map[string]bool  // accounts whose head moved
}

type chainHead struct {
	seq  int64
	hash string
}

func (s *Store) newLedger(tx *sql.Tx) *ledger {
	return &ledger{s: s, tx: tx, heads: map[string]chainHead{}, first: map[string]int64{}, dirty: map[string]bool{}}
}

// head returns the account's last event, locking the account first so that
// no other process appends to its chain before this transaction ends.
func (l *ledger) head(ctx context.Context, accountID string) (chainHead, error) {
	if h, ok := l.heads[accountID]; ok {
		return h, nil
	}
	if err := l.s.lockAccount(ctx, l.tx, accountID); err != nil {
		return chainHead{}, err
	}
	var h chainHead
	err := l.tx.QueryRowContext(ctx, `SELECT ledger_seq, ledger_hash FROM accounts WHERE id = $1`, accountID).Scan(&h.seq, &h.hash)
	if err != nil {
		return h, err
	}
	l.heads[accountID] = h
	l.first[accountID] = h.seq
	return h, nil
}

// appendAll chains events, in order, after their accounts' heads, setting
// each one's ID (when empty), Seq, PrevHash and Hash, and inserts them
// with one statement, as records (see records.go): each run of events that
// sameRecord joins is one row.
func (l *ledger) appendAll(ctx context.Context, events []*assent.ConsentEvent) error {
	var rows [][]any
	start := 0
	for i, e := range events {
		h, err := l.head(ctx, e.AccountID)
		if err != nil {
			return err
		}
		if e.ID == "" {
			e.ID = assent.NewID("evt_")
		}
		e.Seq, e.PrevHash = h.seq+1, h.hash
		e.Hash = e.ComputeHash()
		l.heads[e.AccountID] = chainHead{seq: e.Seq, hash: e.Hash}
		l.dirty[e.AccountID] = true
		if i > start && !sameRecord(events[i-1], e) {
			rows = append(rows, recordRow(events[start:i]))
			start = i
		}
	}
	if start < len(events) {
		rows = append(rows, recordRow(events[start:]))
	}
	return l.s.insertRows(ctx, l.tx, insertRecords, rows, "")
}

// flush records the new chain heads on their accounts. Every transaction
// that appends calls it before committing.
func (l *ledger) flush(ctx context.Context) error {
	for id := range l.dirty {
		h := l.heads[id]
		if _, err := l.tx.ExecContext(ctx, `UPDATE accounts SET ledger_seq = $1, ledger_hash = $2 WHERE id = $3`,
			h.seq, h.hash, id); err != nil {
			return err
		}
		delete(l.dirty, id)
	}
	return nil
}

// setConsent moves the participant's state for an opt-in after event e,
// from current (empty when none). It writes only when the state changes.
func (l *ledger) setConsent(ctx context.Context, e *assent.ConsentEvent, current assent.ConsentState) (assent.ConsentState, error) {
	next := current.Next(e.Type)
	if next == current {
		return next, nil
	}
	at := micros(e.CreatedAt)
	err := l.s.insertRows(ctx, l.tx, insertConsents, [][]any{{e.AccountID, e.ParticipantID, e.OptinID, string(next), at, at}},
		upsertConsents)
	return next, err
}

// insertConsents and upsertConsents write consent states: a new pair's,
// or the state a pair moved to.
const (
	insertConsents = `INSERT INTO consents (account_id, participant_id, optin_id, state, added_at, updated_at)`
	upsertConsents = ` ON CONFLICT (participant_id, optin_id) DO UPDATE
		SET state = excluded.state, added_at = excluded.added_at, updated_at = excluded.updated_at`
)

// consentState returns a participant's current state for an opt-in.
func consentState(ctx context.Context, q querier, participantID, optinID string) (assent.ConsentState, error) {
	var st string
	err := q.QueryRowContext(ctx, `SELECT state FROM consents WHERE participant_id = $1 AND optin_id = $2`,
		participantID, optinID).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return assent.ConsentState(st), err
}
