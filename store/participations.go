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
	// imported marks a past participation brought in by Import: it sends
	// no email and no webhook.
	imported bool
	// confirmed holds the double opt-ins an import says were confirmed.
	confirmed map[string]bool
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
	w, r, replayed, err := s.prepareParticipation(ctx, accountID, campaignID, sub)
	if w == nil || err != nil {
		return r, replayed, err
	}
	res := s.writer.submit(ctx, w)
	return res.receipt, res.replayed, wrap("participate", res.err)
}

// prepareParticipation validates a submission and returns the write that
// records it; or, for an idempotent retry, no write and the first receipt.
func (s *Store) prepareParticipation(ctx context.Context, accountID, campaignID string, sub assent.Submission) (
	*participationWrite, assent.Receipt, bool, error) {
	acct, err := s.cachedAccountInfo(ctx, accountID)
	if err != nil {
		return nil, assent.Receipt{}, false, wrap("participate", err)
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
			return nil, r, found, wrap("participate", err)
		}
	}
	c, form, err := s.cachedForm(ctx, accountID, campaignID)
	if err != nil {
		return nil, assent.Receipt{}, false, err
	}
	if err := assent.ValidateSubmission(&c, form, &sub, now); err != nil {
		return nil, assent.Receipt{}, false, err
	}
	return &participationWrite{account: acct, campaign: c, form: form, sub: sub, at: now, requestHash: requestHash},
		assent.Receipt{}, false, nil
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

// localDay returns t's date in loc as the number YYYYMMDD.
func localDay(t time.Time, loc *time.Location) int {
	y, m, d := t.In(loc).Date()
	return y*10000 + int(m)*100 + d
}
