package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/assentdev/assent"
)

// VerifyLedger walks an account's consent events in order and checks each
// link of the chain: numbers follow each other (a deleted event leaves a
// gap), each event names the hash of the one before, and each hash matches
// the event's content (an edit changes it). It reports the first break.
func (s *Store) VerifyLedger(ctx context.Context, accountID string) (assent.LedgerCheck, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+recordColumns+` FROM ledger_records WHERE account_id = $1 ORDER BY seq`,
		accountID)
	if err != nil {
		return assent.LedgerCheck{}, wrap("verify ledger", err)
	}
	defer rows.Close()
	var head chainHead
	if err := s.rdb.QueryRowContext(ctx, `SELECT ledger_seq, ledger_hash FROM accounts WHERE id = $1`, accountID).
		Scan(&head.seq, &head.hash); err != nil {
		return assent.LedgerCheck{}, wrap("verify ledger", err)
	}
	check := assent.LedgerCheck{OK: true}
	prev := assent.ConsentEvent{Hash: assent.GenesisHash}
	var events []assent.ConsentEvent
	for rows.Next() {
		var err error
		if events, err = scanRecord(rows, accountID, events[:0]); err != nil {
			if errors.Is(err, errMalformedRecord) {
				check.OK = false
				check.Broken = &assent.LedgerBreak{Seq: prev.Seq + 1, Problem: err.Error() + ": it was changed after it was written"}
				return check, nil
			}
			return check, wrap("verify ledger", err)
		}
		for _, e := range events {
			check.Events++
			var problem string
			switch {
			case e.Seq != prev.Seq+1:
				problem = fmt.Sprintf("event %d follows event %d: the events between are missing", e.Seq, prev.Seq)
			case e.PrevHash != prev.Hash:
				problem = "the previous hash it records does not match the event before it"
			case e.ComputeHash() != e.Hash:
				problem = "its content does not match its hash: it was changed after it was written"
			}
			if problem != "" {
				check.OK = false
				check.Broken = &assent.LedgerBreak{Seq: e.Seq, EventID: e.ID, Problem: problem}
				return check, nil
			}
			prev = e
		}
	}
	if err := rows.Err(); err != nil {
		return check, wrap("verify ledger", err)
	}
	if prev.Seq != head.seq || prev.Hash != head.hash {
		check.OK = false
		check.Broken = &assent.LedgerBreak{Seq: prev.Seq + 1, Problem: fmt.Sprintf(
			"the chain ends at event %d but the account records %d events: the newest ones are missing", prev.Seq, head.seq)}
	}
	return check, nil
}
