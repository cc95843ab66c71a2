package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/assentdev/assent/stats"
)

// LoadStats counts every stored participation into s.Stats. The statistics
// are derived state: the database is their source of truth, and this is
// how they come back at start. Days are taken in each account's current
// time zone.
func (s *Store) LoadStats(ctx context.Context) error {
	accounts, err := s.Accounts(ctx)
	if err != nil {
		return err
	}
	for _, a := range accounts {
		if err := s.ReloadStats(ctx, a.ID); err != nil {
			return err
		}
	}
	return nil
}

// ReloadStats counts the account's participations again, for instance
// after its time zone changed. It runs between two write batches, so that
// no participation is counted twice or missed.
func (s *Store) ReloadStats(ctx context.Context, accountID string) error {
	var err error
	s.writer.between(func() {
		fresh := stats.NewEngine()
		if err = s.countParticipations(ctx, accountID, fresh); err == nil {
			s.Stats.Adopt(accountID, fresh)
		}
	})
	return err
}

func (s *Store) countParticipations(ctx context.Context, accountID string, into *stats.Engine) error {
	acct, err := s.accountInfo(ctx, s.db, accountID)
	if err != nil {
		return wrap("load stats", err)
	}
	// A LEFT JOIN: a participation in a form without opt-ins has no answer
	// rows, and counts all the same.
	rows, err := s.db.QueryContext(ctx, `SELECT p.id, p.campaign_id, p.participant_seq, p.new_participant, p.created_at,
		a.optin_id, a.response, a.confirmed
		FROM participations p LEFT JOIN participation_answers a ON a.participation_id = p.id
		WHERE p.account_id = $1 ORDER BY p.id, a.position`, accountID)
	if err != nil {
		return wrap("load stats", err)
	}
	defer rows.Close()
	var cur stats.Participation
	var curID string
	var curAt time.Time
	for rows.Next() {
		var id, campaign string
		var optin sql.NullString
		var seq, created int64
		var isNew bool
		var response, confirmed sql.NullBool
		if err := rows.Scan(&id, &campaign, &seq, &isNew, &created, &optin, &response, &confirmed); err != nil {
			return wrap("load stats", err)
		}
		if id != curID {
			if curID != "" {
				into.Add(accountID, cur, curAt)
			}
			curID, curAt = id, fromMicros(created)
			cur = stats.Participation{Campaign: campaign, Day: stats.DayOf(curAt, acct.location), Seq: uint32(seq), New: isNew}
		}
		if !optin.Valid {
			continue // no answers
		}
		i := len(cur.Form)
		if i >= stats.MaxFormSize {
			return fmt.Errorf("store: load stats: participation %s shows more than %d opt-ins", id, stats.MaxFormSize)
		}
		cur.Form = append(cur.Form, optin.String)
		if response.Valid && response.Bool {
			cur.Accepted |= 1 << i
		}
		if confirmed.Bool {
			cur.Confirmed |= 1 << i
		}
	}
	if curID != "" {
		into.Add(accountID, cur, curAt)
	}
	return wrap("load stats", rows.Err())
}

// participationFact reads what the statistics counted for a participation.
func (s *Store) participationFact(ctx context.Context, q querier, participationID string) (string, stats.Participation, error) {
	var accountID string
	var created, seq int64
	var p stats.Participation
	if err := q.QueryRowContext(ctx, `SELECT account_id, campaign_id, participant_seq, new_participant, created_at
		FROM participations WHERE id = $1`, participationID).Scan(&accountID, &p.Campaign, &seq, &p.New, &created); err != nil {
		return "", p, err
	}
	acct, err := s.accountInfo(ctx, q, accountID)
	if err != nil {
		return "", p, err
	}
	p.Seq, p.Day = uint32(seq), stats.DayOf(fromMicros(created), acct.location)
	rows, err := q.QueryContext(ctx, `SELECT optin_id, response, confirmed FROM participation_answers
		WHERE participation_id = $1 ORDER BY position`, participationID)
	if err != nil {
		return "", p, err
	}
	defer rows.Close()
	for i := 0; rows.Next(); i++ {
		var optin string
		var response sql.NullBool
		var confirmed bool
		if err := rows.Scan(&optin, &response, &confirmed); err != nil {
			return "", p, err
		}
		p.Form = append(p.Form, optin)
		if response.Valid && response.Bool {
			p.Accepted |= 1 << i
		}
		if confirmed {
			p.Confirmed |= 1 << i
		}
	}
	return accountID, p, rows.Err()
}

// StatsMeta returns what reports name: every opt-in (archived ones too)
// with its current categorisation, the subcategories and the campaigns.
// It is kept in memory like the write path's forms (see metaTTL); callers
// must not change it.
func (s *Store) StatsMeta(ctx context.Context, accountID string) (stats.Meta, error) {
	c := &s.meta
	get := func() map[string]cached[stats.Meta] { return c.stats }
	m, ok, gen := lookupCached(c, get, accountID)
	if ok {
		return m, nil
	}
	at := time.Now()
	m, err := s.statsMeta(ctx, accountID)
	if err == nil {
		storeCached(c, get, func(mm map[string]cached[stats.Meta]) { c.stats = mm }, gen, accountID, m, at)
	}
	return m, err
}

func (s *Store) statsMeta(ctx context.Context, accountID string) (stats.Meta, error) {
	m := stats.Meta{Optins: map[string]stats.OptinMeta{}, Campaigns: map[string]stats.CampaignMeta{}}
	optins, err := s.queryOptins(ctx, s.rdb, `SELECT `+optinColumns+` FROM optins o WHERE o.account_id = $1`, accountID)
	if err != nil {
		return m, err
	}
	for _, o := range optins {
		m.Optins[o.ID] = stats.OptinMeta{Name: o.Name, Language: o.Language, DoubleOptin: o.DoubleOptin,
			Subcategories: o.Subcategories, Categories: o.Categories}
	}
	subs, err := s.Subcategories(ctx, accountID)
	if err != nil {
		return m, err
	}
	for _, sc := range subs {
		m.Subcategories = append(m.Subcategories, stats.SubcategoryMeta{Value: sc.Value, Name: sc.Name, Category: sc.Category})
	}
	campaigns, err := s.queryCampaigns(ctx, s.rdb, `SELECT `+campaignColumns+` FROM campaigns WHERE account_id = $1`, accountID)
	if err != nil {
		return m, err
	}
	for _, c := range campaigns {
		m.Campaigns[c.ID] = stats.CampaignMeta{Name: c.Name, Language: c.Language, Optins: c.Optins}
	}
	return m, nil
}

// Location returns the time zone of an account, through the store's cache
// (see metaTTL).
func (s *Store) Location(ctx context.Context, accountID string) (*time.Location, error) {
	a, err := s.cachedAccountInfo(ctx, accountID)
	return a.location, wrap("location", err)
}
