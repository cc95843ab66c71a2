package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/assentdev/assent"
)

// Withdraw withdraws a participant's given or pending consents to the
// opt-ins optinIDs, or to every opt-in when all is true, recording a
// withdrawn event for each; source says who did it (api, preferences).
// It returns the participant with the new states. An opt-in that is not the
// account's is EINVALID; one that is not given or pending is left as is.
// The withdrawals that happened are announced in one consent.withdrawn
// webhook event, written in the same transaction.
func (s *Store) Withdraw(ctx context.Context, accountID, participantID string, optinIDs []string, all bool, source string) (assent.Participant, error) {
	var ob *outbox
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.participant(ctx, tx, accountID, participantID); err != nil {
			return err
		}
		// A withdrawal is recorded against the version the consent was given
		// on: that of the participant's latest event for the opt-in.
		versions, err := latestVersions(ctx, tx, accountID, participantID)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT optin_id, state FROM consents WHERE participant_id = $1 ORDER BY optin_id`,
			participantID)
		if err != nil {
			return err
		}
		type row struct {
			state   assent.ConsentState
			version int
		}
		current := map[string]row{}
		var order []string
		for rows.Next() {
			var id, st string
			if err := rows.Scan(&id, &st); err != nil {
				rows.Close()
				return err
			}
			current[id] = row{assent.ConsentState(st), versions[id]}
			order = append(order, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		targets := order
		if !all {
			targets = nil
			for _, id := range optinIDs {
				if _, err := s.optin(ctx, tx, accountID, id); err != nil {
					return &assent.Error{Code: assent.EINVALID, Message: "some fields are invalid",
						Fields: map[string]string{"optin_id": "no opt-in has the id " + id}}
				}
				targets = append(targets, id)
			}
		}
		l := s.newLedger(tx)
		ob = s.newOutbox(tx)
		now := s.now()
		var events []*assent.ConsentEvent
		for _, id := range targets {
			c, ok := current[id]
			if !ok || (c.state != assent.StateGiven && c.state != assent.StatePending) {
				continue
			}
			e := &assent.ConsentEvent{AccountID: accountID, ParticipantID: participantID, OptinID: id,
				OptinVersion: c.version, Type: assent.EventWithdrawn, Source: source, CreatedAt: now}
			if _, err := l.setConsent(ctx, e, c.state); err != nil {
				return err
			}
			events = append(events, e)
		}
		if err := l.appendAll(ctx, events); err != nil { // one record
			return err
		}
		if err := ob.consentChanged(ctx, assent.WebhookConsentWithdrawn, accountID, participantID, events,
			assent.StateWithdrawn, source, "", now); err != nil {
			return err
		}
		return l.flush(ctx)
	})
	if err != nil {
		return assent.Participant{}, wrap("withdraw", err)
	}
	ob.notify()
	return s.Participant(ctx, accountID, participantID)
}

// ConfirmationInfo is what the confirmation page shows before and after
// the participant confirms.
type ConfirmationInfo struct {
	AccountID     string
	ParticipantID string
	Language      string // the campaign's
	// Optins are the texts of the opt-ins to confirm, as the participant
	// read them on the form (the version they accepted).
	Optins    []string
	Confirmed bool
	Expired   bool
}

// ConfirmationByToken returns the confirmation that token opens, without
// changing anything, or ENOTFOUND.
func (s *Store) ConfirmationByToken(ctx context.Context, token string) (ConfirmationInfo, error) {
	info, _, _, err := s.confirmation(ctx, s.rdb, token)
	return info, err
}

func (s *Store) confirmation(ctx context.Context, q querier, token string) (ConfirmationInfo, string, []string, error) {
	var info ConfirmationInfo
	var id, optins string
	var expires int64
	var confirmed, expired sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT cf.id, cf.account_id, cf.participant_id, cf.optin_ids, cf.expires_at,
		cf.confirmed_at, cf.expired_at, c.language
		FROM confirmations cf JOIN participations p ON p.id = cf.participation_id JOIN campaigns c ON c.id = p.campaign_id
		WHERE cf.token_hash = $1`, hashKey(token)).Scan(&id, &info.AccountID, &info.ParticipantID, &optins, &expires,
		&confirmed, &expired, &info.Language)
	if errors.Is(err, sql.ErrNoRows) {
		return info, "", nil, assent.Errorf(assent.ENOTFOUND, "this confirmation link is not valid")
	}
	if err != nil {
		return info, "", nil, wrap("confirmation", err)
	}
	ids := strings.Fields(optins)
	for _, oid := range ids {
		version, err := shownVersion(ctx, q, id, oid)
		if err != nil {
			return info, "", nil, wrap("confirmation", err)
		}
		var text string
		if err := q.QueryRowContext(ctx, `SELECT text FROM optin_versions WHERE optin_id = $1 AND version = $2`,
			oid, version).Scan(&text); err != nil {
			return info, "", nil, wrap("confirmation", err)
		}
		info.Optins = append(info.Optins, text)
	}
	info.Confirmed = confirmed.Valid
	info.Expired = expired.Valid || (!confirmed.Valid && !fromMicros(expires).After(s.now()))
	return info, id, ids, nil
}

// Confirm confirms the double opt-ins that token was sent for: each one
// still pending becomes given, with a confirmed event. A token works once;
// using it again changes nothing and reports Confirmed. An expired token is
// ECONFLICT, an unknown one ENOTFOUND.
func (s *Store) Confirm(ctx context.Context, token string) (ConfirmationInfo, error) {
	var info ConfirmationInfo
	var recount func()
	var ob *outbox
	var l *ledger
	var err error
	// The commit and the move of the confirmed count run in the writer,
	// between two batches: no reload of the statistics can fall between
	// them and count the confirmation twice.
	s.writer.between(func() {
		err = s.tx(ctx, func(tx *sql.Tx) error {
			var id string
			var optinIDs []string
			var err error
			if info, id, optinIDs, err = s.confirmation(ctx, tx, token); err != nil {
				return err
			}
			switch {
			case info.Confirmed:
				return nil
			case info.Expired:
				return assent.Errorf(assent.ECONFLICT, "this confirmation link has expired")
			}
			now := s.now()
			ob = s.newOutbox(tx)
			l = s.newLedger(tx)
			changed, err := s.appendConfirmationEvents(ctx, tx, l, ob, info.AccountID, info.ParticipantID, id, optinIDs,
				assent.EventConfirmed, assent.SourceConfirmation, now)
			if err != nil {
				return err
			}
			info.Confirmed = true
			if _, err = tx.ExecContext(ctx, `UPDATE confirmations SET confirmed_at = $1 WHERE id = $2`, micros(now), id); err != nil {
				return err
			}
			recount, err = s.confirmAnswers(ctx, tx, id, changed)
			return err
		})
		if err == nil && l != nil {
			s.follow.committed(nil, l.spans()) // counted here, by recount
		}
		if err == nil && recount != nil {
			recount()
		}
	})
	if err == nil {
		ob.notify()
	}
	return info, wrap("confirm", err)
}

// confirmAnswers marks the answers of a confirmation's participation that
// its opt-ins confirmed, and returns the change to apply to the statistics
// once the transaction commits.
func (s *Store) confirmAnswers(ctx context.Context, tx *sql.Tx, confirmationID string, optinIDs []string) (func(), error) {
	if len(optinIDs) == 0 {
		return nil, nil
	}
	var participationID string
	if err := tx.QueryRowContext(ctx, `SELECT participation_id FROM confirmations WHERE id = $1`, confirmationID).
		Scan(&participationID); err != nil {
		return nil, err
	}
	accountID, before, answers, err := s.participationFact(ctx, tx, participationID)
	if err != nil {
		return nil, err
	}
	confirmed := before.Confirmed
	for _, oid := range optinIDs {
		for i := range answers {
			if answers[i].optin == oid && answers[i].accepted {
				answers[i].confirmed = true
				confirmed |= 1 << i
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE participations SET answers = $1 WHERE id = $2`, encodeAnswers(answers),
		participationID); err != nil {
		return nil, err
	}
	return func() { s.Stats.SetConfirmed(accountID, before, confirmed) }, nil
}

// shownVersion returns the version of an opt-in's text that the
// participation of a confirmation showed.
func shownVersion(ctx context.Context, q querier, confirmationID, optinID string) (int, error) {
	var list string
	if err := q.QueryRowContext(ctx, `SELECT p.answers FROM confirmations cf JOIN participations p ON p.id = cf.participation_id
		WHERE cf.id = $1`, confirmationID).Scan(&list); err != nil {
		return 0, err
	}
	answers, err := parseAnswers(nil, list)
	if err != nil {
		return 0, err
	}
	for _, a := range answers {
		if a.optin == optinID {
			return a.version, nil
		}
	}
	return 0, fmt.Errorf("the participation of confirmation %s did not show the opt-in %s", confirmationID, optinID)
}

// appendConfirmationEvents records an event of type t (confirmed or
// expired) for each of the opt-ins that is still pending for the
// participant, announces them in one webhook event in ob, and returns them.
func (s *Store) appendConfirmationEvents(ctx context.Context, tx *sql.Tx, l *ledger, ob *outbox, accountID, participantID, confirmationID string,
	optinIDs []string, t assent.EventType, source string, now time.Time) ([]string, error) {
	var waiting map[string]bool
	if t == assent.EventExpired {
		var err error
		if waiting, err = stillAwaited(ctx, tx, participantID, confirmationID, now); err != nil {
			return nil, err
		}
	}
	var changed []string
	var events []*assent.ConsentEvent
	for _, oid := range optinIDs {
		current, err := consentState(ctx, tx, participantID, oid)
		if err != nil {
			return nil, err
		}
		if current != assent.StatePending || waiting[oid] {
			// Withdrawn meanwhile, given by a later participation, or
			// pending again for a later confirmation that is still open.
			continue
		}
		// The event is about the text the participant accepted: the version
		// their participation showed, whatever the opt-in says today.
		version, err := shownVersion(ctx, tx, confirmationID, oid)
		if err != nil {
			return nil, err
		}
		e := &assent.ConsentEvent{AccountID: accountID, ParticipantID: participantID, OptinID: oid, OptinVersion: version,
			Type: t, ConfirmationID: confirmationID, Source: source, CreatedAt: now}
		if _, err := l.setConsent(ctx, e, current); err != nil {
			return nil, err
		}
		events = append(events, e)
		changed = append(changed, oid)
	}
	if err := l.appendAll(ctx, events); err != nil { // one record
		return nil, err
	}
	typ, state := assent.WebhookConsentConfirmed, assent.StateGiven
	if t == assent.EventExpired {
		typ, state = assent.WebhookConsentExpired, assent.StateExpired
	}
	if err := ob.consentChanged(ctx, typ, accountID, participantID, events, state, source, confirmationID, now); err != nil {
		return nil, err
	}
	return changed, l.flush(ctx)
}

// stillAwaited returns the opt-ins of a participant that a confirmation
// other than confirmationID still awaits after the time at: a later
// participation accepted them again, and its link must still work.
func stillAwaited(ctx context.Context, tx *sql.Tx, participantID, confirmationID string, at time.Time) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT optin_ids FROM confirmations
		WHERE participation_id IN (SELECT id FROM participations WHERE participant_id = $1) AND id <> $2
		AND confirmed_at IS NULL AND expired_at IS NULL AND expires_at > $3`, participantID, confirmationID, micros(at))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	awaited := map[string]bool{}
	for rows.Next() {
		var ids string
		if err := rows.Scan(&ids); err != nil {
			return nil, err
		}
		for _, id := range strings.Fields(ids) {
			awaited[id] = true
		}
	}
	return awaited, rows.Err()
}

// expiryGroup is how many confirmations expire in one transaction.
const expiryGroup = 50

// ExpireConfirmations expires every confirmation whose time ran out by
// now: its opt-ins still pending become expired, with an expired event.
// It returns how many confirmations expired.
func (s *Store) ExpireConfirmations(ctx context.Context) (int, error) {
	total := 0
	for {
		now := s.now()
		n := 0
		var ob *outbox
		var l *ledger
		var err error
		// A small group at a time, between two batches of the participation
		// writer: a backlog (say, after importing a year of unconfirmed
		// double opt-ins) then never holds the account's ledger, or SQLite's
		// one writer connection, for long while participations wait.
		s.writer.between(func() {
			err = s.tx(ctx, func(tx *sql.Tx) error {
				ob, l = s.newOutbox(tx), s.newLedger(tx)
				rows, err := tx.QueryContext(ctx, `SELECT id, account_id, participant_id, optin_ids, expires_at FROM confirmations
				WHERE expires_at <= $1 AND confirmed_at IS NULL AND expired_at IS NULL ORDER BY account_id, id LIMIT `+strconv.Itoa(expiryGroup), micros(now))
				if err != nil {
					return err
				}
				type due struct {
					id, account, participant, optins string
					expires                          int64
				}
				var list []due
				for rows.Next() {
					var d due
					if err := rows.Scan(&d.id, &d.account, &d.participant, &d.optins, &d.expires); err != nil {
						rows.Close()
						return err
					}
					list = append(list, d)
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					return err
				}
				for _, d := range list {
					// Dated when the time ran out, not when the job came by
					// (after a restart, say).
					at := fromMicros(d.expires)
					if _, err := s.appendConfirmationEvents(ctx, tx, l, ob, d.account, d.participant, d.id, strings.Fields(d.optins),
						assent.EventExpired, assent.SourceExpiry, at); err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctx, `UPDATE confirmations SET expired_at = $1 WHERE id = $2`, micros(at), d.id); err != nil {
						return err
					}
				}
				n = len(list)
				return nil
			})
			if err == nil {
				s.follow.committed(nil, l.spans()) // expiries move no statistic
			}
		})
		if err != nil {
			return total, wrap("expire confirmations", err)
		}
		ob.notify()
		total += n
		if n < expiryGroup {
			return total, nil
		}
	}
}
