package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/stats"
)

// IdempotencyWindow is how long an Idempotency-Key is remembered.
const IdempotencyWindow = 24 * time.Hour

// DefaultConfirmationTTL is how long a double opt-in may wait for its
// confirmation before it expires.
const DefaultConfirmationTTL = 7 * 24 * time.Hour

// participationWrite is one validated participation waiting for the writer.
type participationWrite struct {
	account     accountInfo
	campaign    assent.Campaign
	form        []assent.Optin
	sub         assent.Submission
	requestHash string
	at          time.Time
}

// writeResult is what the writer answers for one participationWrite.
type writeResult struct {
	receipt  assent.Receipt
	replayed bool
	err      error
	// fact is what the statistics count, once the write is committed.
	fact stats.Participation
}

// accountInfo is what the write path needs of an account.
type accountInfo struct {
	id       string
	location *time.Location
	secret   string
}

func (s *Store) accountInfo(ctx context.Context, q querier, id string) (accountInfo, error) {
	var a accountInfo
	var tz string
	err := q.QueryRowContext(ctx, `SELECT id, time_zone, secret FROM accounts WHERE id = $1`, id).Scan(&a.id, &tz, &a.secret)
	if errors.Is(err, sql.ErrNoRows) {
		return a, assent.NotFound("account")
	}
	if err != nil {
		return a, err
	}
	a.location, err = time.LoadLocation(tz)
	return a, err
}

// Participate validates a submission to a campaign of the account and
// records it: the participant, the participation, one consent event per
// opt-in of the form, the new consent states, and a confirmation email for
// double opt-ins. It returns only once all of it is committed to disk.
//
// A submission with an IdempotencyKey seen within IdempotencyWindow stores
// nothing and returns the first receipt again, with replayed true; the same
// key with a different submission is ECONFLICT. A refused submission is
// EINVALID naming each problem, and stores nothing.
func (s *Store) Participate(ctx context.Context, accountID, campaignID string, sub assent.Submission) (assent.Receipt, bool, error) {
	acct, err := s.accountInfo(ctx, s.rdb, accountID)
	if err != nil {
		return assent.Receipt{}, false, wrap("participate", err)
	}
	now := s.now()
	sub.Normalize()
	if sub.Source == "" {
		sub.Source = assent.SourceAPI
	}
	var requestHash string
	if sub.IdempotencyKey != "" {
		// A retry answers the first receipt even if the campaign has closed
		// or its form changed since: it is the same submission.
		requestHash = submissionHash(campaignID, &sub)
		if r, found, err := lookupIdempotent(ctx, s.rdb, accountID, sub.IdempotencyKey, requestHash, now); found || err != nil {
			return r, found, wrap("participate", err)
		}
	}
	c, err := s.Campaign(ctx, accountID, campaignID)
	if err != nil {
		return assent.Receipt{}, false, err
	}
	form, err := s.FormOptins(ctx, accountID, c.Optins)
	if err != nil {
		return assent.Receipt{}, false, err
	}
	if err := assent.ValidateSubmission(&c, form, &sub, now); err != nil {
		return assent.Receipt{}, false, err
	}
	w := &participationWrite{account: acct, campaign: c, form: form, sub: sub, at: now, requestHash: requestHash}
	r := s.writer.submit(ctx, w)
	return r.receipt, r.replayed, wrap("participate", r.err)
}

// FormOptins returns the opt-ins with the given ids, in that order.
func (s *Store) FormOptins(ctx context.Context, accountID string, ids []string) ([]assent.Optin, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := []any{accountID}
	for _, id := range ids {
		args = append(args, id)
	}
	list, err := s.queryOptins(ctx, s.rdb, `SELECT `+optinColumns+` FROM optins o WHERE o.account_id = $1 AND o.id IN (`+
		placeholders(2, len(ids))+`)`, args...)
	if err != nil {
		return nil, err
	}
	byID := map[string]assent.Optin{}
	for _, o := range list {
		byID[o.ID] = o
	}
	out := make([]assent.Optin, 0, len(ids))
	for _, id := range ids {
		o, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("store: form opt-in %s is missing", id)
		}
		out = append(out, o)
	}
	return out, nil
}

// lookupIdempotent returns the receipt first given for an Idempotency-Key
// within IdempotencyWindow, with found true; ECONFLICT when the key was
// used for a different request.
func lookupIdempotent(ctx context.Context, q querier, accountID, key, requestHash string, now time.Time) (assent.Receipt, bool, error) {
	var r assent.Receipt
	var hash, response string
	err := q.QueryRowContext(ctx, `SELECT request_hash, response FROM idempotency_keys
		WHERE account_id = $1 AND key = $2 AND created_at > $3`,
		accountID, key, micros(now.Add(-IdempotencyWindow))).Scan(&hash, &response)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return r, false, nil
	case err != nil:
		return r, false, err
	case hash != requestHash:
		return r, false, assent.Errorf(assent.ECONFLICT,
			"this Idempotency-Key was used for a different request within the last 24 hours")
	}
	if err := json.Unmarshal([]byte(response), &r); err != nil {
		return r, false, err
	}
	return r, true, nil
}

// submissionHash identifies a submission's content, to refuse an
// Idempotency-Key reused for another request.
func submissionHash(campaignID string, sub *assent.Submission) string {
	b, _ := json.Marshal([]any{campaignID, sub.Email, sub.FirstName, sub.LastName, sub.Answers, sub.UTM})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// IPHash returns the keyed hash under which an IP address is stored.
func IPHash(secret, ip string) string {
	if ip == "" {
		return ""
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("ip:" + ip))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// recordParticipation writes one participation in tx, with its
// participation.created webhook event in ob. Its receipt is final only
// once tx commits.
func (s *Store) recordParticipation(ctx context.Context, tx *sql.Tx, l *ledger, ob *outbox, w *participationWrite) (writeResult, error) {
	acct, sub := w.account, &w.sub
	if sub.IdempotencyKey != "" {
		// Checked again here, in the writer: two retries may have raced past
		// the check in Participate.
		r, found, err := lookupIdempotent(ctx, tx, acct.id, sub.IdempotencyKey, w.requestHash, w.at)
		if found || assent.ErrorCode(err) == assent.ECONFLICT {
			return writeResult{receipt: r, replayed: found, err: err}, nil
		}
		if err != nil {
			return writeResult{}, err
		}
	}

	// The participant: found by email, or created with the next number.
	r := assent.Receipt{ID: assent.NewID("par_"), CreatedAt: w.at, Optins: []assent.ReceiptAnswer{}}
	var seq int64
	var storedFirst, storedLast sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT id, seq, first_name, last_name FROM participants WHERE account_id = $1 AND email = $2`,
		acct.id, sub.Email).Scan(&r.ParticipantID, &seq, &storedFirst, &storedLast)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		r.ParticipantID, r.NewParticipant = assent.NewID("ptc_"), true
		if err := tx.QueryRowContext(ctx, `UPDATE accounts SET participants_count = participants_count + 1
			WHERE id = $1 RETURNING participants_count`, acct.id).Scan(&seq); err != nil {
			return writeResult{}, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO participants (id, account_id, seq, email, first_name, last_name, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, r.ParticipantID, acct.id, seq, sub.Email, sub.FirstName, sub.LastName,
			micros(w.at)); err != nil {
			return writeResult{}, err
		}
	case err != nil:
		return writeResult{}, err
	case sub.FirstName != "" || sub.LastName != "":
		// The latest names given win; a form that does not ask keeps them.
		if _, err := tx.ExecContext(ctx, `UPDATE participants SET
			first_name = CASE WHEN $1 = '' THEN first_name ELSE $1 END,
			last_name = CASE WHEN $2 = '' THEN last_name ELSE $2 END WHERE id = $3`,
			sub.FirstName, sub.LastName, r.ParticipantID); err != nil {
			return writeResult{}, err
		}
	}

	ipHash := IPHash(acct.secret, sub.IP)
	day := localDay(w.at, acct.location)
	if _, err := tx.ExecContext(ctx, `INSERT INTO participations (id, account_id, campaign_id, participant_id, participant_seq,
		new_participant, created_at, day, ip_hash, user_agent, utm_source, utm_medium, utm_campaign, utm_term, utm_content, source)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		r.ID, acct.id, w.campaign.ID, r.ParticipantID, seq, r.NewParticipant, micros(w.at), day, ipHash, sub.UserAgent,
		sub.UTM.Source, sub.UTM.Medium, sub.UTM.Campaign, sub.UTM.Term, sub.UTM.Content, sub.Source); err != nil {
		return writeResult{}, err
	}
	fact := stats.Participation{Campaign: w.campaign.ID, Day: stats.DayOf(w.at, acct.location), Seq: uint32(seq),
		New: r.NewParticipant, Form: make([]string, len(w.form))}

	// Every answer of the form: its event, the new consent state and the
	// answer row, each kind written with one statement.
	current := map[string]assent.ConsentState{}
	if !r.NewParticipant {
		if current, err = consentStates(ctx, tx, r.ParticipantID); err != nil {
			return writeResult{}, err
		}
	}
	events := make([]*assent.ConsentEvent, len(w.form))
	before := make([]assent.ConsentState, len(w.form))
	for i := range w.form {
		o := &w.form[i]
		fact.Form[i] = o.ID
		before[i] = current[o.ID]
		events[i] = &assent.ConsentEvent{AccountID: acct.id, ParticipantID: r.ParticipantID, OptinID: o.ID,
			OptinVersion: o.Version, Type: assent.AnswerEvent(o, sub.Answers[o.ID], before[i]), ParticipationID: r.ID,
			CampaignID: w.campaign.ID, Source: sub.Source, IPHash: ipHash, CreatedAt: w.at}
	}
	if err := l.appendAll(ctx, events); err != nil {
		return writeResult{}, err
	}
	states, err := l.setConsents(ctx, events, before)
	if err != nil {
		return writeResult{}, err
	}
	var pending, answered []string
	answers := make([][]any, len(w.form))
	for i := range w.form {
		o, answer, e := &w.form[i], sub.Answers[w.form[i].ID], events[i]
		if !o.Answered { // marked once; most forms' opt-ins are answered already
			answered = append(answered, o.ID)
		}
		confirmed := e.Type == assent.EventGiven
		if answer != nil && *answer {
			fact.Accepted |= 1 << i
		}
		if confirmed {
			fact.Confirmed |= 1 << i
		}
		answers[i] = []any{r.ID, o.ID, o.Version, i, nullBool(answer), confirmed}
		if e.Type == assent.EventPending {
			pending = append(pending, o.ID)
		}
		r.Optins = append(r.Optins, assent.ReceiptAnswer{ID: o.ID, Response: answer, State: states[i]})
	}
	if err := insertRows(ctx, tx, `INSERT INTO participation_answers (participation_id, optin_id, optin_version, position,
		response, confirmed)`, answers, ""); err != nil {
		return writeResult{}, err
	}
	if err := markAnswered(ctx, tx, answered); err != nil {
		return writeResult{}, err
	}
	if len(pending) > 0 {
		if err := s.requestConfirmation(ctx, tx, w, r, pending); err != nil {
			return writeResult{}, err
		}
	}
	// The names the participant has now: the latest given win.
	firstName, lastName := sub.FirstName, sub.LastName
	if firstName == "" {
		firstName = storedFirst.String
	}
	if lastName == "" {
		lastName = storedLast.String
	}
	if err := ob.participationCreated(ctx, w, &r, ipHash, firstName, lastName); err != nil {
		return writeResult{}, err
	}
	if sub.IdempotencyKey != "" {
		body, _ := json.Marshal(r)
		if _, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (account_id, key, request_hash, response, created_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (account_id, key) DO UPDATE SET request_hash = $3, response = $4, created_at = $5`,
			acct.id, sub.IdempotencyKey, w.requestHash, string(body), micros(w.at)); err != nil {
			return writeResult{}, err
		}
	}
	return writeResult{receipt: r, fact: fact}, nil
}

// requestConfirmation records a confirmation for the pending opt-ins of a
// participation and queues its email. The token exists in clear only in
// the queued email, until it is sent.
func (s *Store) requestConfirmation(ctx context.Context, tx *sql.Tx, w *participationWrite, r assent.Receipt, optinIDs []string) error {
	token := assent.RandomToken(32)
	id := assent.NewID("cnf_")
	if _, err := tx.ExecContext(ctx, `INSERT INTO confirmations (id, account_id, participant_id, participation_id, token_hash,
		optin_ids, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		id, w.account.id, r.ParticipantID, r.ID, hashKey(token), strings.Join(optinIDs, " "), micros(w.at),
		micros(w.at.Add(s.ConfirmationTTL))); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO mail_outbox (id, account_id, kind, confirmation_id, recipient, language, token,
		created_at, attempts, next_at, last_error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $8, '')`,
		assent.NewID("mail_"), w.account.id, "confirmation", id, w.sub.Email, w.campaign.Language, token, micros(w.at))
	return err
}

// localDay returns t's date in loc as the number YYYYMMDD.
func localDay(t time.Time, loc *time.Location) int {
	y, m, d := t.In(loc).Date()
	return y*10000 + int(m)*100 + d
}

func nullBool(b *bool) sql.NullBool {
	if b == nil {
		return sql.NullBool{}
	}
	return sql.NullBool{Bool: *b, Valid: true}
}
