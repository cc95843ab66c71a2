package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/stats"
)

// batch records a group of participations in one transaction with a fixed
// number of statements per kind of row, whatever the size of the group:
// the participants are looked up with one query per account, their consent
// states with one more, and every kind of row is inserted with multi-row
// statements. Participations of the group are recorded in order, as if one
// after the other: a participant met twice is new only the first time, and
// the second participation sees the states the first one left.
type batch struct {
	s  *Store
	tx *sql.Tx
	l  *ledger
	ob *outbox

	people map[personKey]*person

	participants   [][]any
	participations [][]any
	events         []*assent.ConsentEvent
	consents       [][]any
	consentAt      map[consentKey]int // index in consents of the latest row of a key
	confirmations  [][]any
	mails          [][]any
	idempotency    [][]any
	answered       map[string]bool
	renamed        map[*person]bool
	keys           map[personKey]int // the write that first used an Idempotency-Key in the batch, per account
	// pendingBy is the confirmation that an opt-in of a participant waits
	// for, set by the batch's latest pending event of it.
	pendingBy map[consentKey]string
	lapsed    []lapsed
	// numbered is, per account, the participations' numbers before the
	// batch (from) and the last one it gave (to). Until flush takes them
	// from the account, from is 0 and the rows hold numbers relative to it.
	numbered map[string]span
}

// lapsed is an imported confirmation whose time ran out before the import:
// its opt-ins still pending expire in the batch that records it, at the
// time they expired, so that no backlog of expiries is left behind.
type lapsed struct {
	account, id string
	p           *person
	optins      []*assent.Optin
	at          time.Time
}

type personKey struct{ account, email string }

type consentKey struct{ participant, optin string }

// person is a participant as the batch knows it: as stored, then as the
// batch's earlier participations left it.
type person struct {
	id                  string
	seq                 int64
	firstName, lastName string
	isNew               bool // created by this batch
	states              map[string]assent.ConsentState
}

func (s *Store) newBatch(tx *sql.Tx) *batch {
	return &batch{s: s, tx: tx, l: s.newLedger(tx), ob: s.newOutbox(tx), people: map[personKey]*person{},
		consentAt: map[consentKey]int{}, answered: map[string]bool{}, renamed: map[*person]bool{},
		keys: map[personKey]int{}, pendingBy: map[consentKey]string{}, numbered: map[string]span{}}
}

// record writes the participations ws, which must be sorted by account,
// and returns their results in the same order. Nothing is final before the
// transaction commits.
func (b *batch) record(ctx context.Context, ws []*participationWrite) ([]writeResult, error) {
	results := make([]writeResult, len(ws))
	live := make([]bool, len(ws))
	replayOf := map[int]int{} // a write whose Idempotency-Key an earlier one of the batch used
	for i := range ws {
		r, first, done, err := b.idempotent(ctx, ws, i)
		if err != nil {
			return nil, err
		}
		results[i], live[i] = r, !done
		if first >= 0 {
			replayOf[i] = first
		}
	}
	if err := b.resolvePeople(ctx, ws, live); err != nil {
		return nil, err
	}
	firstNames, lastNames, ipHashes := make([]string, len(ws)), make([]string, len(ws)), make([]string, len(ws))
	for i, w := range ws {
		if live[i] {
			results[i], ipHashes[i] = b.add(w)
			p := b.people[personKey{w.account.id, w.sub.Email}]
			firstNames[i], lastNames[i] = p.firstName, p.lastName
		}
	}
	b.expireLapsed()
	if err := b.flush(ctx); err != nil {
		return nil, err
	}
	for i, first := range replayOf {
		results[i].receipt = results[first].receipt
	}
	// Webhook events come last: they refer to the rows written above.
	for i, w := range ws {
		if !live[i] || w.imported {
			continue
		}
		r := &results[i]
		if err := b.ob.participationCreated(ctx, w, &r.receipt, ipHashes[i], firstNames[i], lastNames[i]); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// idempotent answers the write ws[i] when its Idempotency-Key was used
// before, in the database or by an earlier write of the batch (first, or
// -1), with done true. Checked here, in the writer, as well as before
// queuing: two retries may have raced past the first check.
func (b *batch) idempotent(ctx context.Context, ws []*participationWrite, i int) (r writeResult, first int, done bool,
	err error) {
	w := ws[i]
	if w.sub.IdempotencyKey == "" {
		return writeResult{}, -1, false, nil
	}
	k := personKey{w.account.id, w.sub.IdempotencyKey}
	if f, ok := b.keys[k]; ok {
		if ws[f].requestHash != w.requestHash {
			return writeResult{err: assent.Errorf(assent.ECONFLICT,
				"this Idempotency-Key was used for a different request within the last 24 hours")}, -1, true, nil
		}
		return writeResult{replayed: true}, f, true, nil
	}
	receipt, found, err := lookupIdempotent(ctx, b.tx, w.account.id, w.sub.IdempotencyKey, w.requestHash, w.at)
	if found || assent.ErrorCode(err) == assent.ECONFLICT {
		return writeResult{receipt: receipt, replayed: found, err: err}, -1, true, nil
	}
	if err != nil {
		return writeResult{}, -1, false, err
	}
	b.keys[k] = i
	return writeResult{}, -1, false, nil
}

// resolvePeople finds the participants of the live writes by email, with
// one query per account and one for their consent states, and numbers the
// new ones.
func (b *batch) resolvePeople(ctx context.Context, ws []*participationWrite, live []bool) error {
	byAccount := map[string][]string{}
	var accounts []string
	for i, w := range ws {
		if !live[i] {
			continue
		}
		k := personKey{w.account.id, w.sub.Email}
		if _, seen := b.people[k]; seen {
			continue
		}
		b.people[k] = nil
		if _, ok := byAccount[w.account.id]; !ok {
			accounts = append(accounts, w.account.id)
		}
		byAccount[w.account.id] = append(byAccount[w.account.id], w.sub.Email)
	}
	sort.Strings(accounts)
	var known []any
	for _, acct := range accounts {
		// The account is locked before anything of it is read: no other
		// process numbers participants or chains events of it meanwhile.
		if _, err := b.l.head(ctx, acct); err != nil {
			return err
		}
		emails := byAccount[acct]
		for start := 0; start < len(emails); start += 500 {
			chunk := emails[start:min(start+500, len(emails))]
			args := make([]any, 0, len(chunk)+1)
			args = append(args, acct)
			for _, e := range chunk {
				args = append(args, e)
			}
			rows, err := b.tx.QueryContext(ctx, `SELECT id, seq, email, first_name, last_name FROM participants
				WHERE account_id = `+b.s.params(1, 1)+` AND email IN (`+b.s.params(2, len(chunk))+`)`, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				p := &person{states: map[string]assent.ConsentState{}}
				var email string
				var first, last sql.NullString
				if err := rows.Scan(&p.id, &p.seq, &email, &first, &last); err != nil {
					rows.Close()
					return err
				}
				p.firstName, p.lastName = first.String, last.String
				b.people[personKey{acct, email}] = p
				known = append(known, p.id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		// The others are new: numbered in the order they come.
		var fresh []*person
		for _, e := range emails {
			k := personKey{acct, e}
			if b.people[k] == nil {
				p := &person{id: assent.NewID("ptc_"), isNew: true, states: map[string]assent.ConsentState{}}
				b.people[k] = p
				fresh = append(fresh, p)
			}
		}
		if len(fresh) > 0 {
			var last int64
			if err := b.tx.QueryRowContext(ctx, `UPDATE accounts SET participants_count = participants_count + $1
				WHERE id = $2 RETURNING participants_count`, len(fresh), acct).Scan(&last); err != nil {
				return err
			}
			for i, p := range fresh {
				p.seq = last - int64(len(fresh)) + int64(i) + 1
			}
		}
	}
	return b.loadStates(ctx, known)
}

// loadStates reads the consent states of participants that existed before
// the batch.
func (b *batch) loadStates(ctx context.Context, ids []any) error {
	if len(ids) == 0 {
		return nil
	}
	byID := map[string]*person{}
	for _, p := range b.people {
		if p != nil && !p.isNew {
			byID[p.id] = p
		}
	}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		rows, err := b.tx.QueryContext(ctx, `SELECT participant_id, optin_id, state FROM consents
			WHERE participant_id IN (`+b.s.params(1, len(chunk))+`)`, chunk...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var pid, oid, st string
			if err := rows.Scan(&pid, &oid, &st); err != nil {
				rows.Close()
				return err
			}
			byID[pid].states[oid] = assent.ConsentState(st)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// add records one participation in the batch's rows, and returns its
// result and the keyed hash of its IP address.
func (b *batch) add(w *participationWrite) (writeResult, string) {
	acct, sub := w.account, &w.sub
	p := b.people[personKey{acct.id, sub.Email}]
	r := assent.Receipt{ID: assent.NewID("par_"), CreatedAt: w.at, ParticipantID: p.id, Optins: []assent.ReceiptAnswer{}}
	if p.isNew {
		r.NewParticipant = true
		b.participants = append(b.participants, []any{p.id, acct.id, p.seq, sub.Email, sub.FirstName, sub.LastName,
			micros(w.at)})
		p.isNew = false // a second participation of the batch finds the participant
		p.firstName, p.lastName = sub.FirstName, sub.LastName
	} else if (sub.FirstName != "" && sub.FirstName != p.firstName) || (sub.LastName != "" && sub.LastName != p.lastName) {
		// The latest names given win; a form that does not ask keeps them.
		if sub.FirstName != "" {
			p.firstName = sub.FirstName
		}
		if sub.LastName != "" {
			p.lastName = sub.LastName
		}
		b.renamed[p] = true
	}

	ipHash := IPHash(acct.secret, sub.IP)
	n := b.numbered[acct.id]
	n.to++
	b.numbered[acct.id] = n
	fact := stats.Participation{Campaign: w.campaign.ID, Day: stats.DayOf(w.at, acct.location), Seq: uint32(p.seq),
		New: r.NewParticipant, Form: make([]string, len(w.form))}

	var pending []*assent.Optin
	var answers []byte
	for i := range w.form {
		o := &w.form[i]
		response := sub.Answers[o.ID]
		before := p.states[o.ID]
		typ := assent.AnswerEvent(o, response, before)
		if typ == assent.EventPending && w.confirmed[o.ID] {
			typ = assent.EventGiven // an import: confirmed in the system it comes from
		}
		e := &assent.ConsentEvent{AccountID: acct.id, ParticipantID: p.id, OptinID: o.ID, OptinVersion: o.Version,
			Type: typ, ParticipationID: r.ID, CampaignID: w.campaign.ID, Source: sub.Source, IPHash: ipHash, CreatedAt: w.at}
		b.events = append(b.events, e)
		state := before.Next(typ)
		if state != before {
			p.states[o.ID] = state
			b.setConsent(e, state)
		}
		fact.Form[i] = o.ID
		if !o.Answered {
			b.answered[o.ID] = true
		}
		confirmed := typ == assent.EventGiven
		if response != nil && *response {
			fact.Accepted |= 1 << i
		}
		if confirmed {
			fact.Confirmed |= 1 << i
		}
		if typ == assent.EventPending {
			pending = append(pending, o)
		}
		answers = appendAnswer(answers, answer{optin: o.ID, version: o.Version, blank: response == nil,
			accepted: response != nil && *response, confirmed: confirmed})
		r.Optins = append(r.Optins, assent.ReceiptAnswer{ID: o.ID, Response: response, State: state})
	}
	b.participations = append(b.participations, []any{r.ID, acct.id, n.to, w.campaign.ID, p.id, p.seq, r.NewParticipant,
		micros(w.at), localDay(w.at, acct.location), ipHash, sub.UserAgent, sub.UTM.Source, sub.UTM.Medium,
		sub.UTM.Campaign, sub.UTM.Term, sub.UTM.Content, sub.Source, string(answers)})
	if len(pending) > 0 {
		b.requestConfirmation(w, p, &r, pending)
	}
	if sub.IdempotencyKey != "" {
		body, _ := json.Marshal(r)
		b.idempotency = append(b.idempotency, []any{acct.id, sub.IdempotencyKey, w.requestHash, string(body), micros(w.at)})
	}
	return writeResult{receipt: r, fact: fact}, ipHash
}

// setConsent records the state a participant has now for an opt-in, after
// event e; a later change in the batch replaces the row.
func (b *batch) setConsent(e *assent.ConsentEvent, state assent.ConsentState) {
	at := micros(e.CreatedAt)
	row := []any{e.AccountID, e.ParticipantID, e.OptinID, string(state), at, at}
	k := consentKey{e.ParticipantID, e.OptinID}
	if i, ok := b.consentAt[k]; ok {
		b.consents[i] = row
		return
	}
	b.consentAt[k] = len(b.consents)
	b.consents = append(b.consents, row)
}

// requestConfirmation records a confirmation for the pending opt-ins of a
// participation and queues its email, except for an import: its emails are
// never sent, and its open confirmations simply expire (at once, in this
// batch, when their time ran out before the import). The token exists in
// clear only in the queued email, until it is sent.
func (b *batch) requestConfirmation(w *participationWrite, p *person, r *assent.Receipt, optins []*assent.Optin) {
	token := assent.RandomToken(32)
	id := assent.NewID("cnf_")
	ids := make([]string, len(optins))
	for i, o := range optins {
		ids[i] = o.ID
		if w.imported { // only an import expires confirmations in the batch
			b.pendingBy[consentKey{p.id, o.ID}] = id
		}
	}
	expires := w.at.Add(b.s.ConfirmationTTL)
	var expiredAt any // NULL: open
	if w.imported && !expires.After(b.s.now()) {
		expiredAt = micros(expires)
		b.lapsed = append(b.lapsed, lapsed{account: w.account.id, id: id, p: p, optins: optins, at: expires})
	}
	b.confirmations = append(b.confirmations, []any{id, w.account.id, r.ParticipantID, r.ID, hashKey(token),
		strings.Join(ids, " "), micros(w.at), micros(expires), expiredAt})
	if w.imported {
		return
	}
	b.mails = append(b.mails, []any{assent.NewID("mail_"), w.account.id, "confirmation", id, w.sub.Email,
		w.campaign.Language, token, micros(w.at), 0, micros(w.at), ""})
}

// expireLapsed records the expiry of the batch's lapsed confirmations: an
// expired event, at the time the confirmation expired, for each of their
// opt-ins still pending for them. An opt-in that a later participation of
// the batch made pending again waits for that one's confirmation instead.
func (b *batch) expireLapsed() {
	for _, c := range b.lapsed {
		for _, o := range c.optins {
			if c.p.states[o.ID] != assent.StatePending || b.pendingBy[consentKey{c.p.id, o.ID}] != c.id {
				continue
			}
			e := &assent.ConsentEvent{AccountID: c.account, ParticipantID: c.p.id, OptinID: o.ID, OptinVersion: o.Version,
				Type: assent.EventExpired, ConfirmationID: c.id, Source: assent.SourceExpiry, CreatedAt: c.at}
			b.events = append(b.events, e)
			c.p.states[o.ID] = assent.StateExpired
			b.setConsent(e, assent.StateExpired)
		}
	}
}

// flush writes the batch's rows, each kind with as few statements as the
// engine's limit on parameters allows.
func (b *batch) flush(ctx context.Context) error {
	tx := b.tx
	if err := b.s.insertRows(ctx, tx, `INSERT INTO participants (id, account_id, seq, email, first_name, last_name, created_at)`,
		b.participants, ""); err != nil {
		return err
	}
	for p := range b.renamed {
		if _, err := tx.ExecContext(ctx, `UPDATE participants SET first_name = $1, last_name = $2 WHERE id = $3`,
			p.firstName, p.lastName, p.id); err != nil {
			return err
		}
	}
	if err := b.number(ctx); err != nil {
		return err
	}
	if err := b.s.insertRows(ctx, tx, `INSERT INTO participations (id, account_id, seq, campaign_id, participant_id,
		participant_seq, new_participant, created_at, day, ip_hash, user_agent, utm_source, utm_medium, utm_campaign,
		utm_term, utm_content, source, answers)`, b.participations, ""); err != nil {
		return err
	}
	if err := b.l.appendAll(ctx, b.events); err != nil {
		return err
	}
	if err := b.s.insertRows(ctx, tx, insertConsents, b.consents, upsertConsents); err != nil {
		return err
	}
	if err := b.s.insertRows(ctx, tx, `INSERT INTO confirmations (id, account_id, participant_id, participation_id, token_hash,
		optin_ids, created_at, expires_at, expired_at)`, b.confirmations, ""); err != nil {
		return err
	}
	if err := b.s.insertRows(ctx, tx, `INSERT INTO mail_outbox (id, account_id, kind, confirmation_id, recipient, language,
		token, created_at, attempts, next_at, last_error)`, b.mails, ""); err != nil {
		return err
	}
	if err := b.s.insertRows(ctx, tx, `INSERT INTO idempotency_keys (account_id, key, request_hash, response, created_at)`,
		b.idempotency, ` ON CONFLICT (account_id, key) DO UPDATE
		SET request_hash = excluded.request_hash, response = excluded.response, created_at = excluded.created_at`); err != nil {
		return err
	}
	answered := make([]string, 0, len(b.answered))
	for id := range b.answered {
		answered = append(answered, id)
	}
	sort.Strings(answered)
	if err := markAnswered(ctx, tx, answered); err != nil {
		return err
	}
	return b.l.flush(ctx)
}

// number takes the batch's participation numbers from their accounts, one
// statement per account, and makes the rows' relative numbers absolute.
func (b *batch) number(ctx context.Context) error {
	for acct, n := range b.numbered {
		var last int64
		if err := b.tx.QueryRowContext(ctx, `UPDATE accounts SET participations_count = participations_count + $1
			WHERE id = $2 RETURNING participations_count`, n.to, acct).Scan(&last); err != nil {
			return err
		}
		b.numbered[acct] = span{last - n.to, last}
	}
	for _, row := range b.participations {
		row[2] = b.numbered[row[1].(string)].from + row[2].(int64)
	}
	return nil
}
