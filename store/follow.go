package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/assentdev/assent"
)

// Several processes may serve one database (SPEC §11): each keeps its
// statistics in memory, counting its own writes as they commit, and the
// others' through CatchUp.
//
// Two things move a statistic: a participation, and the confirmation of a
// double opt-in, which appends a confirmed event to the consent ledger. An
// account numbers both 1, 2, 3… (participations.seq, consent_events.seq)
// under its lock, held until commit, so that they become visible in the
// order of their numbers: once a snapshot shows number n, it shows every
// number before n. A process therefore only remembers, per account and
// numbering, up to which number everything is counted (seen), and which
// numbers above it its own commits took (own): the rest, read in one
// snapshot, is what other processes wrote.

// follower remembers, per account, which participations and consent events
// the statistics in memory account for. Its methods are safe for
// concurrent use.
type follower struct {
	mu             sync.Mutex
	participations numbering
	events         numbering
	// zones: the time zone each account's statistics were counted in.
	zones map[string]string
}

// numbering is what a follower knows of one of an account's numberings.
type numbering struct {
	// seen: everything numbered up to seen is counted.
	seen map[string]int64
	// own: numbers above seen that this process committed, in order.
	own map[string][]span
}

// span is a run of numbers of one account: from+1 to to.
type span struct{ from, to int64 }

// accountHead is what a snapshot shows of an account: its last numbers and
// its time zone.
type accountHead struct {
	account                string
	participations, events int64
	zone                   string
}

func newFollower() *follower {
	return &follower{participations: newNumbering(), events: newNumbering(), zones: map[string]string{}}
}

func newNumbering() numbering {
	return numbering{seen: map[string]int64{}, own: map[string][]span{}}
}

// counted records that the statistics of h's account hold everything up to
// h's numbers, counted in h's zone.
func (f *follower) counted(h accountHead) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.zones[h.account] = h.zone
	f.participations.set(h.account, h.participations)
	f.events.set(h.account, h.events)
}

// committed records the numbers a commit of this process took, whose
// statistics it counts itself.
func (f *follower) committed(participations, events map[string]span) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for account, sp := range participations {
		f.participations.add(account, sp)
	}
	for account, sp := range events {
		f.events.add(account, sp)
	}
}

// behind reports whether h shows what the statistics lack: numbers another
// process took, or a time zone they were not counted in.
func (f *follower) behind(h accountHead) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if zone, ok := f.zones[h.account]; ok && zone != h.zone {
		return true
	}
	return len(f.participations.gaps(h.account, h.participations)) > 0 || len(f.events.gaps(h.account, h.events)) > 0
}

// gaps returns the runs of participations and of events up to h's numbers
// that neither are counted nor are this process's own.
func (f *follower) gaps(h accountHead) (participations, events []span) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.participations.gaps(h.account, h.participations), f.events.gaps(h.account, h.events)
}

// zone returns the time zone an account's statistics were counted in, and
// whether they were.
func (f *follower) zone(account string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	z, ok := f.zones[account]
	return z, ok
}

// set records that everything of account up to seq is counted.
func (n numbering) set(account string, seq int64) {
	n.seen[account] = seq
	n.absorb(account)
}

// add records an own span of account.
func (n numbering) add(account string, sp span) {
	if sp.to <= sp.from {
		return
	}
	own := append(n.own[account], sp)
	slices.SortFunc(own, func(a, b span) int { return cmp.Compare(a.from, b.from) })
	n.own[account] = own
	n.absorb(account)
}

// absorb moves seen past the own spans that follow it and forgets those
// below it.
func (n numbering) absorb(account string) {
	own, seen := n.own[account], n.seen[account]
	for len(own) > 0 && own[0].from <= seen {
		seen = max(seen, own[0].to)
		own = own[1:]
	}
	n.seen[account] = seen
	if len(own) == 0 {
		delete(n.own, account)
	} else {
		n.own[account] = own
	}
}

// gaps returns the runs of numbers of account up to seq that are neither
// counted nor own.
func (n numbering) gaps(account string, seq int64) []span {
	var out []span
	at := n.seen[account]
	for _, sp := range n.own[account] {
		if at >= seq {
			break
		}
		if sp.from > at {
			out = append(out, span{at, min(sp.from, seq)})
		}
		at = max(at, sp.to)
	}
	if at < seq {
		out = append(out, span{at, seq})
	}
	return out
}

// snapshot begins a read-only transaction whose reads all see the database
// as of one moment: on PostgreSQL at REPEATABLE READ; on SQLite (WAL) every
// read transaction does.
func (s *Store) snapshot(ctx context.Context) (*sql.Tx, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.engine == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	return s.rdb.BeginTx(ctx, opts)
}

// accountHeads returns what tx shows of every account, or only of
// account when it is not empty.
func accountHeads(ctx context.Context, q querier, account string) ([]accountHead, error) {
	query, args := `SELECT id, participations_count, ledger_seq, time_zone FROM accounts`, []any(nil)
	if account != "" {
		query, args = query+` WHERE id = $1`, []any{account}
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []accountHead
	for rows.Next() {
		var h accountHead
		if err := rows.Scan(&h.account, &h.participations, &h.events, &h.zone); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// CatchUpInterval is how often `assent serve` calls CatchUp: a report on
// one process includes what another acknowledged within about this long
// (SPEC §11 asks for one second).
const CatchUpInterval = 250 * time.Millisecond

// CatchUp counts into s.Stats what other processes committed to the
// database since s last looked: their participations and confirmations,
// and an account's statistics again when another process changed its time
// zone. A process alone on its database finds nothing to do after one
// short query.
func (s *Store) CatchUp(ctx context.Context) error {
	heads, err := accountHeads(ctx, s.rdb, "")
	if err != nil {
		return wrap("catch up", err)
	}
	if !slices.ContainsFunc(heads, s.follow.behind) {
		return nil
	}
	s.writer.between(func() { err = s.catchUp(ctx) })
	return wrap("catch up", err)
}

// catchUp does CatchUp's work between two write batches: every commit of
// this process has then told the follower what it numbered.
func (s *Store) catchUp(ctx context.Context) error {
	tx, err := s.snapshot(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	heads, err := accountHeads(ctx, tx, "")
	if err != nil {
		return err
	}
	for _, h := range heads {
		if zone, ok := s.follow.zone(h.account); ok && zone != h.zone {
			err = s.recount(ctx, tx, []accountHead{h})
		} else {
			err = s.countOthers(ctx, tx, h)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// countOthers counts the participations and confirmations of h's account
// that other processes committed, as tx shows them.
func (s *Store) countOthers(ctx context.Context, tx *sql.Tx, h accountHead) error {
	participations, events := s.follow.gaps(h)
	if len(participations) > 0 {
		loc, err := time.LoadLocation(h.zone)
		if err != nil {
			return err
		}
		loaders := map[string]*statsLoader{h.account: newStatsLoader(loc)}
		for _, g := range participations {
			rows, err := tx.QueryContext(ctx, participationFacts+` WHERE p.account_id = $1 AND p.seq > $2 AND p.seq <= $3`,
				h.account, g.from, g.to)
			if err != nil {
				return err
			}
			err = countRows(rows, loaders, s.Stats)
			rows.Close()
			if err != nil {
				return err
			}
		}
	}
	// The confirmations: each moves the confirmed count of its
	// participation, unless that participation was just counted, as it is
	// now, confirmed.
	var confirmations []string
	confirmed := map[string][]string{} // the opt-ins confirmed, by confirmation
	for _, g := range events {
		// A span is what one transaction appended: its records start at
		// its first number.
		rows, err := tx.QueryContext(ctx, `SELECT `+recordColumns+` FROM ledger_records
			WHERE account_id = $1 AND seq > $2 AND seq <= $3 AND confirmation_id IS NOT NULL ORDER BY seq`,
			h.account, g.from, g.to)
		if err != nil {
			return err
		}
		var buf []assent.ConsentEvent
		for rows.Next() {
			if buf, err = scanRecord(rows, h.account, buf[:0]); err != nil {
				rows.Close()
				return err
			}
			for _, e := range buf {
				if e.Type != assent.EventConfirmed {
					continue
				}
				if _, ok := confirmed[e.ConfirmationID]; !ok {
					confirmations = append(confirmations, e.ConfirmationID)
				}
				confirmed[e.ConfirmationID] = append(confirmed[e.ConfirmationID], e.OptinID)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for _, id := range confirmations {
		var participation string
		var seq int64
		if err := tx.QueryRowContext(ctx, `SELECT p.id, p.seq FROM confirmations c JOIN participations p ON p.id = c.participation_id
			WHERE c.id = $1`, id).Scan(&participation, &seq); err != nil {
			return fmt.Errorf("confirmation %s: %w", id, err)
		}
		if slices.ContainsFunc(participations, func(g span) bool { return seq > g.from && seq <= g.to }) {
			continue
		}
		_, now, _, err := s.participationFact(ctx, tx, participation)
		if err != nil {
			return err
		}
		before := now // before the confirmation, the opt-ins it confirmed were not
		for _, optin := range confirmed[id] {
			for i, f := range now.Form {
				if f == optin {
					before.Confirmed &^= 1 << i
				}
			}
		}
		s.Stats.SetConfirmed(h.account, before, now.Confirmed)
	}
	s.follow.counted(h)
	return nil
}

// spans returns, per account, the events the ledger appended.
func (l *ledger) spans() map[string]span {
	out := map[string]span{}
	for account, first := range l.first {
		if h := l.heads[account]; h.seq > first {
			out[account] = span{first, h.seq}
		}
	}
	return out
}
