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
// in constant memory: the row each is given, its map of answers included,
// is valid only until each returns.
func (s *Store) CampaignParticipations(ctx context.Context, accountID, campaignID string, page Page,
	each func(ParticipationRow) error) ([]ParticipationRow, string, error) {
	if _, err := s.Campaign(ctx, accountID, campaignID); err != nil {
		return nil, "", err
	}
	// One row per participation, with its answers (see answers.go).
	q := `SELECT p.id, p.participant_id, p.new_participant, p.created_at, p.ip_hash, COALESCE(p.user_agent, ''),
		p.utm_source, p.utm_medium, p.utm_campaign, p.utm_term, p.utm_content, p.source,
		COALESCE(t.email, ''), COALESCE(t.first_name, ''), COALESCE(t.last_name, ''),
		p.answers
		FROM participations p JOIN participants t ON t.id = p.participant_id
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
		args = append(args, limit+1)
		q += fmt.Sprintf(` ORDER BY p.id DESC LIMIT $%d`, len(args))
	} else {
		q += ` ORDER BY p.id DESC`
	}
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", wrap("campaign participations", err)
	}
	defer rows.Close()
	var out []ParticipationRow
	var reuse *rowAnswers
	if each != nil {
		reuse = &rowAnswers{answers: map[string]*bool{}}
	}
	for rows.Next() {
		r, err := scanParticipationRow(rows, campaignID, reuse)
		if err != nil {
			return nil, "", wrap("campaign participations", err)
		}
		if each == nil {
			out = append(out, r)
		} else if err := each(r); err != nil {
			return nil, "", err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, "", wrap("campaign participations", err)
	}
	if each != nil {
		return nil, "", nil
	}
	out, next := nextCursor(out, limit, func(r ParticipationRow) string { return r.ID })
	return out, next, nil
}

// rowAnswers is the room for a row's answers that a stream reuses from
// row to row: a map and its values for each row were most of an export's
// garbage.
type rowAnswers struct {
	answers   map[string]*bool
	responses [16]bool
}

// scanParticipationRow reads one row of CampaignParticipations' query,
// into reuse's room when it is not nil.
func scanParticipationRow(rows *sql.Rows, campaignID string, reuse *rowAnswers) (ParticipationRow, error) {
	var r ParticipationRow
	var created int64
	var list string
	if err := rows.Scan(&r.ID, &r.ParticipantID, &r.NewParticipant, &created, &r.IPHash, &r.UserAgent,
		&r.UTM.Source, &r.UTM.Medium, &r.UTM.Campaign, &r.UTM.Term, &r.UTM.Content, &r.Source,
		&r.Email, &r.FirstName, &r.LastName, &list); err != nil {
		return r, err
	}
	var buf [16]answer
	answers, err := parseAnswers(buf[:0], list)
	if err != nil {
		return r, err
	}
	r.CampaignID, r.CreatedAt = campaignID, fromMicros(created)
	var responses []bool
	if reuse != nil && len(answers) <= len(reuse.responses) {
		clear(reuse.answers)
		r.Answers, responses = reuse.answers, reuse.responses[:len(answers)]
	} else {
		r.Answers = make(map[string]*bool, len(answers))
		responses = make([]bool, len(answers)) // one allocation for the row's answers
	}
	for i, a := range answers {
		if responses[i] = a.accepted; a.blank {
			r.Answers[a.optin] = nil
		} else {
			r.Answers[a.optin] = &responses[i]
		}
	}
	return r, nil
}
