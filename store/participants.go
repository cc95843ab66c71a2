package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/assentdev/assent"
)

func (s *Store) participant(ctx context.Context, q querier, accountID, id string) (assent.Participant, error) {
	var p assent.Participant
	if !storable(id) {
		return p, assent.NotFound("participant")
	}
	var email, first, last sql.NullString
	var created int64
	var erased sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT id, account_id, email, first_name, last_name, created_at, erased_at
		FROM participants WHERE account_id = $1 AND id = $2`, accountID, id).
		Scan(&p.ID, &p.AccountID, &email, &first, &last, &created, &erased)
	if errors.Is(err, sql.ErrNoRows) {
		return p, assent.NotFound("participant")
	}
	p.Email, p.FirstName, p.LastName = email.String, first.String, last.String
	p.CreatedAt, p.ErasedAt = fromMicros(created), fromNullMicros(erased)
	p.Consents = []assent.Consent{}
	return p, wrap("participant", err)
}

// Participant returns a participant of the account with the current state
// of each of their consents, or ENOTFOUND.
func (s *Store) Participant(ctx context.Context, accountID, id string) (assent.Participant, error) {
	p, err := s.participant(ctx, s.rdb, accountID, id)
	if err != nil {
		return p, err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT c.optin_id, o.name, c.state, c.added_at FROM consents c
		JOIN optins o ON o.id = c.optin_id WHERE c.participant_id = $1 ORDER BY c.optin_id`, id)
	if err != nil {
		return p, wrap("participant consents", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c assent.Consent
		var since int64
		if err := rows.Scan(&c.OptinID, &c.OptinName, &c.State, &since); err != nil {
			return p, wrap("participant consents", err)
		}
		c.Since = fromMicros(since)
		p.Consents = append(p.Consents, c)
	}
	return p, wrap("participant consents", rows.Err())
}

// ParticipantByEmail finds a participant of the account by email address
// (normalised here), or ENOTFOUND; erased participants cannot be found.
func (s *Store) ParticipantByEmail(ctx context.Context, accountID, email string) (assent.Participant, error) {
	var id string
	if !storable(email) {
		return assent.Participant{}, assent.NotFound("participant")
	}
	err := s.rdb.QueryRowContext(ctx, `SELECT id FROM participants WHERE account_id = $1 AND email = $2`,
		accountID, assent.NormalizeEmail(email)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return assent.Participant{}, assent.NotFound("participant")
	}
	if err != nil {
		return assent.Participant{}, wrap("participant by email", err)
	}
	return s.Participant(ctx, accountID, id)
}

// Proof returns every consent event of a participant with the exact text
// each was given on, their participations and their double opt-in chain.
func (s *Store) Proof(ctx context.Context, accountID, id string) (assent.Proof, error) {
	var pr assent.Proof
	var err error
	if pr.Participant, err = s.Participant(ctx, accountID, id); err != nil {
		return pr, err
	}
	events, err := participantEvents(ctx, s.rdb, accountID, id)
	if err != nil {
		return pr, wrap("proof", err)
	}
	if pr.Events, err = s.proofEvents(ctx, accountID, events); err != nil {
		return pr, wrap("proof", err)
	}
	if pr.Participations, err = s.participationsOf(ctx, accountID, id); err != nil {
		return pr, err
	}
	pr.Confirmations, err = s.confirmationsOf(ctx, id)
	return pr, err
}

// proofEvents adds to events the name of their opt-in and campaign and
// the text of the version each was given on.
func (s *Store) proofEvents(ctx context.Context, accountID string, events []assent.ConsentEvent) ([]assent.ProofEvent, error) {
	out := make([]assent.ProofEvent, 0, len(events))
	type versionKey struct {
		optin   string
		version int
	}
	shown := map[versionKey]assent.OptinVersion{}
	names, campaigns := map[string]string{}, map[string]string{}
	optinIDs, campaignIDs := []any{accountID}, []any{accountID}
	for _, e := range events {
		if _, ok := names[e.OptinID]; !ok {
			names[e.OptinID] = ""
			optinIDs = append(optinIDs, e.OptinID)
		}
		if _, ok := campaigns[e.CampaignID]; !ok && e.CampaignID != "" {
			campaigns[e.CampaignID] = ""
			campaignIDs = append(campaignIDs, e.CampaignID)
		}
	}
	if len(optinIDs) > 1 {
		rows, err := s.rdb.QueryContext(ctx, `SELECT v.optin_id, v.version, o.name, v.language, v.text, v.info, v.display,
			v.mandatory, v.created_at FROM optin_versions v JOIN optins o ON o.id = v.optin_id
			WHERE o.account_id = `+s.params(1, 1)+` AND v.optin_id IN (`+s.params(2, len(optinIDs)-1)+`)`, optinIDs...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var k versionKey
			var v assent.OptinVersion
			var name string
			var created int64
			if err := rows.Scan(&k.optin, &k.version, &name, &v.Language, &v.Text, &v.Info, &v.Display, &v.Mandatory,
				&created); err != nil {
				return nil, err
			}
			v.Version, v.CreatedAt = k.version, fromMicros(created)
			shown[k], names[k.optin] = v, name
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if len(campaignIDs) > 1 {
		rows, err := s.rdb.QueryContext(ctx, `SELECT id, name FROM campaigns WHERE account_id = `+s.params(1, 1)+
			` AND id IN (`+s.params(2, len(campaignIDs)-1)+`)`, campaignIDs...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				return nil, err
			}
			campaigns[id] = name
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	for _, e := range events {
		v, ok := shown[versionKey{e.OptinID, e.OptinVersion}]
		if !ok {
			return nil, fmt.Errorf("event %d: version %d of opt-in %s is missing", e.Seq, e.OptinVersion, e.OptinID)
		}
		out = append(out, assent.ProofEvent{ConsentEvent: e, OptinName: names[e.OptinID],
			CampaignName: campaigns[e.CampaignID], Shown: v})
	}
	return out, nil
}

func (s *Store) participationsOf(ctx context.Context, accountID, participantID string) ([]assent.Participation, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, campaign_id, participant_id, new_participant, created_at, ip_hash,
		COALESCE(user_agent, ''), utm_source, utm_medium, utm_campaign, utm_term, utm_content, source, answers
		FROM participations WHERE account_id = $1 AND participant_id = $2 ORDER BY id`, accountID, participantID)
	if err != nil {
		return nil, wrap("participations", err)
	}
	defer rows.Close()
	out := []assent.Participation{}
	for rows.Next() {
		var p assent.Participation
		var created int64
		var answers string
		if err := rows.Scan(&p.ID, &p.CampaignID, &p.ParticipantID, &p.NewParticipant, &created, &p.IPHash, &p.UserAgent,
			&p.UTM.Source, &p.UTM.Medium, &p.UTM.Campaign, &p.UTM.Term, &p.UTM.Content, &p.Source, &answers); err != nil {
			return nil, wrap("participations", err)
		}
		p.CreatedAt = fromMicros(created)
		if p.Form, err = formAnswers(answers); err != nil {
			return nil, wrap("participations", err)
		}
		out = append(out, p)
	}
	return out, wrap("participations", rows.Err())
}

func (s *Store) confirmationsOf(ctx context.Context, participantID string) ([]assent.Confirmation, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT cf.id, cf.participation_id, cf.optin_ids, cf.created_at, cf.expires_at,
		cf.confirmed_at, cf.expired_at, m.sent_at
		FROM confirmations cf LEFT JOIN mail_outbox m ON m.confirmation_id = cf.id
		WHERE cf.participation_id IN (SELECT id FROM participations WHERE participant_id = $1) ORDER BY cf.id`,
		participantID)
	if err != nil {
		return nil, wrap("confirmations", err)
	}
	defer rows.Close()
	out := []assent.Confirmation{}
	for rows.Next() {
		var c assent.Confirmation
		var optins string
		var created, expires int64
		var confirmed, expired, sent sql.NullInt64
		if err := rows.Scan(&c.ID, &c.ParticipationID, &optins, &created, &expires, &confirmed, &expired, &sent); err != nil {
			return nil, wrap("confirmations", err)
		}
		c.OptinIDs, c.CreatedAt, c.ExpiresAt = strings.Fields(optins), fromMicros(created), fromMicros(expires)
		c.ConfirmedAt, c.ExpiredAt, c.SentAt = fromNullMicros(confirmed), fromNullMicros(expired), fromNullMicros(sent)
		out = append(out, c)
	}
	return out, wrap("confirmations", rows.Err())
}

// Erase makes a participant's personal data unreadable and unfindable:
// email, names and user agents are removed, unsent emails dropped, open
// confirmation links voided, and webhook events emptied of them (those
// not yet delivered are cancelled). The participant's id, participations and
// consent events stay, anonymous, so statistics and the proof that a
// consent existed do not change.
func (s *Store) Erase(ctx context.Context, accountID, id string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.participant(ctx, tx, accountID, id); err != nil {
			return err
		}
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`UPDATE participants SET email = NULL, first_name = NULL, last_name = NULL,
				erased_at = COALESCE(erased_at, $2) WHERE id = $1`, []any{id, micros(s.now())}},
			{`UPDATE participations SET user_agent = NULL WHERE participant_id = $1`, []any{id}},
			{`UPDATE confirmations SET token_hash = 'erased:' || id
				WHERE participation_id IN (SELECT id FROM participations WHERE participant_id = $1)`, []any{id}},
			// Every email to them loses its address; those not sent yet are
			// dropped.
			{`UPDATE mail_outbox SET recipient = '', token = '',
				next_at = CASE WHEN sent_at IS NULL THEN $2 ELSE next_at END,
				last_error = CASE WHEN sent_at IS NULL THEN 'participant erased' ELSE last_error END
				WHERE confirmation_id IN (SELECT id FROM confirmations
					WHERE participation_id IN (SELECT id FROM participations WHERE participant_id = $1))`,
				[]any{id, neverMicros}},
		} {
			if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
				return err
			}
		}
		return eraseWebhookData(ctx, tx, id, s.now())
	})
	return wrap("erase", err)
}

// PreferencesToken returns the signed token of a participant's
// preferences link: the participant id and an HMAC of it under the
// account's secret.
func (s *Store) PreferencesToken(ctx context.Context, accountID, participantID string) (string, error) {
	acct, err := s.accountInfo(ctx, s.rdb, accountID)
	if err != nil {
		return "", wrap("preferences token", err)
	}
	return preferencesToken(acct.secret, participantID), nil
}

func preferencesToken(accountSecret, participantID string) string {
	return participantID + "." + preferencesMAC(accountSecret, participantID)
}

func preferencesMAC(secret, participantID string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("preferences:" + participantID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ParticipantByPreferencesToken returns the participant a preferences
// token was made for. A tampered, foreign or malformed token, or one of an
// erased participant, is ENOTFOUND.
func (s *Store) ParticipantByPreferencesToken(ctx context.Context, token string) (assent.Participant, error) {
	invalid := assent.Errorf(assent.ENOTFOUND, "this preferences link is not valid")
	id, mac, ok := strings.Cut(token, ".")
	if !ok || id == "" || !storable(id) {
		return assent.Participant{}, invalid
	}
	var accountID, secret string
	var erased sql.NullInt64
	err := s.rdb.QueryRowContext(ctx, `SELECT p.account_id, a.secret, p.erased_at FROM participants p
		JOIN accounts a ON a.id = p.account_id WHERE p.id = $1`, id).Scan(&accountID, &secret, &erased)
	if errors.Is(err, sql.ErrNoRows) {
		return assent.Participant{}, invalid
	}
	if err != nil {
		return assent.Participant{}, wrap("preferences", err)
	}
	if !hmac.Equal([]byte(mac), []byte(preferencesMAC(secret, id))) || erased.Valid {
		return assent.Participant{}, invalid
	}
	return s.Participant(ctx, accountID, id)
}
