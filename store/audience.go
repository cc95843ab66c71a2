package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/assentdev/assent"
)

// AudienceMember is one participant of an opt-in's audience.
type AudienceMember struct {
	ParticipantID string              `json:"participant_id"`
	Email         string              `json:"email"`
	FirstName     string              `json:"first_name"`
	LastName      string              `json:"last_name"`
	State         assent.ConsentState `json:"state"`
	// AddedAt is the time of the event that brought the state: for given,
	// when they opted in.
	AddedAt time.Time `json:"added_at"`
}

// Audience lists the participants whose current state for an opt-in is
// state, newest first, one page at a time; erased participants are left
// out. A page of Limit 0 and no cursor with each set streams every member
// to each instead, in constant memory, for CSV exports.
func (s *Store) Audience(ctx context.Context, accountID, optinID string, state assent.ConsentState, page Page,
	each func(AudienceMember) error) ([]AudienceMember, string, error) {
	if _, err := s.Optin(ctx, accountID, optinID); err != nil {
		return nil, "", err
	}
	q := `SELECT c.participant_id, p.email, COALESCE(p.first_name, ''), COALESCE(p.last_name, ''), c.state, c.added_at
		FROM consents c JOIN participants p ON p.id = c.participant_id
		WHERE c.optin_id = $1 AND c.state = $2 AND p.email IS NOT NULL`
	args := []any{optinID, string(state)}
	limit := 0
	if each == nil {
		var err error
		var after string
		if after, limit, err = page.after(); err != nil {
			return nil, "", err
		}
		if after != "" {
			at, id, ok := strings.Cut(after, " ")
			micros, err := strconv.ParseInt(at, 10, 64)
			if !ok || err != nil || !storable(id) {
				return nil, "", invalidCursor()
			}
			args = append(args, micros, id)
			q += ` AND (c.added_at < $3 OR (c.added_at = $3 AND c.participant_id < $4))`
		}
		args = append(args, limit+1)
		q += fmt.Sprintf(` ORDER BY c.added_at DESC, c.participant_id DESC LIMIT $%d`, len(args))
	} else {
		q += ` ORDER BY c.added_at DESC, c.participant_id DESC`
	}
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", wrap("audience", err)
	}
	defer rows.Close()
	var out []AudienceMember
	for rows.Next() {
		var m AudienceMember
		var added int64
		var email sql.NullString
		if err := rows.Scan(&m.ParticipantID, &email, &m.FirstName, &m.LastName, &m.State, &added); err != nil {
			return nil, "", wrap("audience", err)
		}
		m.Email, m.AddedAt = email.String, fromMicros(added)
		if each != nil {
			if err := each(m); err != nil {
				return nil, "", err
			}
			continue
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", wrap("audience", err)
	}
	if each != nil {
		return nil, "", nil
	}
	if len(out) <= limit {
		return out, "", nil
	}
	out = out[:limit]
	last := out[limit-1]
	next := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(last.AddedAt.UnixMicro(), 10) + " " + last.ParticipantID))
	return out, next, nil
}

func invalidCursor() error {
	return &assent.Error{Code: assent.EINVALID, Message: "invalid page",
		Fields: map[string]string{"cursor": "is not a cursor this API returned"}}
}

// ParticipationRow is one participation in a campaign's list, with the
// participant's current identity (empty once erased) and the answers.
type ParticipationRow struct {
	assent.Participation
	Email     string           `json:"email"`
	FirstName string           `json:"first_name"`
	LastName  string           `json:"last_name"`
	Answers   map[string]*bool `json:"answers"`
}

// CampaignParticipations lists a campaign's participations, newest first,
// one page at a time; with each set, it streams them all to each instead,
// in constant memory.
func (s *Store) CampaignParticipations(ctx context.Context, accountID, campaignID string, page Page,
	each func(ParticipationRow) error) ([]ParticipationRow, string, error) {
	if _, err := s.Campaign(ctx, accountID, campaignID); err != nil {
		return nil, "", err
	}
	// A LEFT JOIN: a participation in a form without opt-ins has no answers.
	q := `SELECT p.id, p.participant_id, p.new_participant, p.created_at, p.ip_hash, COALESCE(p.user_agent, ''),
		p.utm_source, p.utm_medium, p.utm_campaign, p.utm_term, p.utm_content, p.source,
		COALESCE(t.email, ''), COALESCE(t.first_name, ''), COALESCE(t.last_name, ''), a.optin_id, a.response
		FROM participations p JOIN participants t ON t.id = p.participant_id
		LEFT JOIN participation_answers a ON a.participation_id = p.id
		WHERE p.campaign_id = $1`
	args := []any{campaignID}
	limit := 0
	if each == nil {
		var after string
		var err error
		if after, limit, err = page.after(); err != nil {
			return nil, "", err
		}
		if after != "" {
			args = append(args, after)
			q += ` AND p.id < $2`
		}
		// A page is limit participations, each with several answer rows:
		// select the ids first.
		args = append(args, limit+1)
		q += fmt.Sprintf(` AND p.id IN (SELECT id FROM participations WHERE campaign_id = $1%s ORDER BY id DESC LIMIT $%d)`,
			map[bool]string{true: " AND id < $2", false: ""}[after != ""], len(args))
	}
	q += ` ORDER BY p.id DESC, a.position`
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", wrap("campaign participations", err)
	}
	defer rows.Close()
	var out []ParticipationRow
	var cur *ParticipationRow
	flush := func() error {
		if cur == nil {
			return nil
		}
		if each != nil {
			return each(*cur)
		}
		out = append(out, *cur)
		return nil
	}
	for rows.Next() {
		var r ParticipationRow
		var created int64
		var optin sql.NullString
		var response sql.NullBool
		if err := rows.Scan(&r.ID, &r.ParticipantID, &r.NewParticipant, &created, &r.IPHash, &r.UserAgent,
			&r.UTM.Source, &r.UTM.Medium, &r.UTM.Campaign, &r.UTM.Term, &r.UTM.Content, &r.Source,
			&r.Email, &r.FirstName, &r.LastName, &optin, &response); err != nil {
			return nil, "", wrap("campaign participations", err)
		}
		if cur == nil || cur.ID != r.ID {
			if err := flush(); err != nil {
				return nil, "", err
			}
			r.CampaignID, r.CreatedAt, r.Answers = campaignID, fromMicros(created), map[string]*bool{}
			cur = &r
		}
		if !optin.Valid {
			continue // no answers
		}
		var answer *bool
		if response.Valid {
			answer = &response.Bool
		}
		cur.Answers[optin.String] = answer
	}
	if err := rows.Err(); err != nil {
		return nil, "", wrap("campaign participations", err)
	}
	if err := flush(); err != nil {
		return nil, "", err
	}
	if each != nil || len(out) <= limit {
		return out, "", nil
	}
	out = out[:limit]
	return out, base64.RawURLEncoding.EncodeToString([]byte(out[limit-1].ID)), nil
}
