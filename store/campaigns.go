package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/assentdev/assent"
)

const campaignColumns = `id, account_id, name, language, type, starts_at, ends_at, first_name_field, last_name_field,
	status, created_at, updated_at`

func scanCampaign(row interface{ Scan(...any) error }) (assent.Campaign, error) {
	var c assent.Campaign
	var starts, ends sql.NullInt64
	var created, updated int64
	err := row.Scan(&c.ID, &c.AccountID, &c.Name, &c.Language, &c.Type, &starts, &ends, &c.Fields.FirstName,
		&c.Fields.LastName, &c.Status, &created, &updated)
	c.StartsAt, c.EndsAt = fromNullMicros(starts), fromNullMicros(ends)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, err
}

// Campaigns lists the campaigns of an account, oldest first.
func (s *Store) Campaigns(ctx context.Context, accountID string, page Page) ([]assent.Campaign, string, error) {
	after, limit, err := page.after()
	if err != nil {
		return nil, "", err
	}
	out, err := s.queryCampaigns(ctx, s.rdb, `SELECT `+campaignColumns+` FROM campaigns
		WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3`, accountID, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	out, next := nextCursor(out, limit, func(c assent.Campaign) string { return c.ID })
	return out, next, nil
}

// Campaign returns one campaign of the account with its opt-ins in form
// order, or ENOTFOUND.
func (s *Store) Campaign(ctx context.Context, accountID, id string) (assent.Campaign, error) {
	return s.campaign(ctx, s.rdb, accountID, id)
}

// CampaignByID returns the campaign with the given id, whatever its
// account, with its opt-ins in form order, or ENOTFOUND. It serves the
// public form, whose link carries nothing but the campaign id; everything
// done on behalf of an account goes through Campaign, which keeps accounts
// apart.
func (s *Store) CampaignByID(ctx context.Context, id string) (assent.Campaign, error) {
	out, err := s.queryCampaigns(ctx, s.rdb, `SELECT `+campaignColumns+` FROM campaigns WHERE id = $1`, id)
	if err != nil {
		return assent.Campaign{}, err
	}
	if len(out) == 0 {
		return assent.Campaign{}, assent.NotFound("campaign")
	}
	return out[0], nil
}

func (s *Store) campaign(ctx context.Context, q querier, accountID, id string) (assent.Campaign, error) {
	if !storable(id) {
		return assent.Campaign{}, assent.NotFound("campaign")
	}
	out, err := s.queryCampaigns(ctx, q, `SELECT `+campaignColumns+` FROM campaigns WHERE account_id = $1 AND id = $2`,
		accountID, id)
	if err != nil {
		return assent.Campaign{}, err
	}
	if len(out) == 0 {
		return assent.Campaign{}, assent.NotFound("campaign")
	}
	return out[0], nil
}

func (s *Store) queryCampaigns(ctx context.Context, q querier, query string, args ...any) ([]assent.Campaign, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap("campaigns", err)
	}
	var out []assent.Campaign
	index := map[string]int{}
	for rows.Next() {
		c, err := scanCampaign(rows)
		if err != nil {
			rows.Close()
			return nil, wrap("campaigns", err)
		}
		c.Optins = []string{}
		index[c.ID] = len(out)
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, wrap("campaigns", err)
	}
	ids := make([]any, len(out))
	for i, c := range out {
		ids[i] = c.ID
	}
	rows, err = q.QueryContext(ctx, `SELECT campaign_id, optin_id FROM campaign_optins
		WHERE campaign_id IN (`+placeholders(1, len(ids))+`) ORDER BY campaign_id, position`, ids...)
	if err != nil {
		return nil, wrap("campaign optins", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cid, oid string
		if err := rows.Scan(&cid, &oid); err != nil {
			return nil, wrap("campaign optins", err)
		}
		c := &out[index[cid]]
		c.Optins = append(c.Optins, oid)
	}
	return out, wrap("campaign optins", rows.Err())
}

// CreateCampaign creates a campaign and its form. Missing settings take
// their defaults: type "other", both name fields optional. It returns
// EINVALID for bad fields, naming each opt-in that cannot be placed.
func (s *Store) CreateCampaign(ctx context.Context, accountID string, c assent.Campaign) (assent.Campaign, error) {
	defer s.forget() // once committed: the write path and reports read these through a cache
	now := s.now()
	c.ID, c.AccountID, c.CreatedAt, c.UpdatedAt = assent.NewID("cmp_"), accountID, now, now
	if c.Status == "" {
		c.Status = assent.StatusActive
	}
	if c.Type == "" {
		c.Type = "other"
	}
	if c.Fields.FirstName == "" {
		c.Fields.FirstName = assent.FieldOptional
	}
	if c.Fields.LastName == "" {
		c.Fields.LastName = assent.FieldOptional
	}
	if c.Optins == nil {
		c.Optins = []string{}
	}
	c.StartsAt, c.EndsAt = atMicros(c.StartsAt), atMicros(c.EndsAt)
	c.Normalize()
	if err := c.Validate(); err != nil {
		return c, err
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkForm(ctx, tx, &c, nil); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO campaigns (id, account_id, name, language, type, starts_at, ends_at,
			first_name_field, last_name_field, status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			c.ID, accountID, c.Name, c.Language, c.Type, nullMicros(c.StartsAt), nullMicros(c.EndsAt),
			c.Fields.FirstName, c.Fields.LastName, c.Status, micros(now), micros(now)); err != nil {
			return err
		}
		return placeOptins(ctx, tx, c.ID, c.Optins)
	})
	return c, wrap("create campaign", err)
}

// UpdateCampaign applies change to a campaign and stores it, form included;
// an error from change aborts the update and is returned as is.
// Opt-ins already on the form may stay even if archived since; any opt-in
// added must be active, and all must share the campaign's language.
func (s *Store) UpdateCampaign(ctx context.Context, accountID, id string, change func(*assent.Campaign) error) (assent.Campaign, error) {
	defer s.forget() // once committed: the write path reads these through its cache
	var c assent.Campaign
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if c, err = s.campaign(ctx, tx, accountID, id); err != nil {
			return err
		}
		placed := map[string]bool{}
		for _, oid := range c.Optins {
			placed[oid] = true
		}
		if err := change(&c); err != nil {
			return err
		}
		c.ID, c.AccountID = id, accountID
		if c.Optins == nil {
			c.Optins = []string{}
		}
		c.StartsAt, c.EndsAt = atMicros(c.StartsAt), atMicros(c.EndsAt)
		c.Normalize()
		if err := c.Validate(); err != nil {
			return err
		}
		if err := s.checkForm(ctx, tx, &c, placed); err != nil {
			return err
		}
		c.UpdatedAt = s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET name = $1, language = $2, type = $3, starts_at = $4, ends_at = $5,
			first_name_field = $6, last_name_field = $7, status = $8, updated_at = $9 WHERE id = $10`,
			c.Name, c.Language, c.Type, nullMicros(c.StartsAt), nullMicros(c.EndsAt), c.Fields.FirstName, c.Fields.LastName,
			c.Status, micros(c.UpdatedAt), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM campaign_optins WHERE campaign_id = $1`, id); err != nil {
			return err
		}
		return placeOptins(ctx, tx, id, c.Optins)
	})
	return c, wrap("update campaign", err)
}

// checkForm checks every opt-in of c's form: it belongs to the account, is
// active (unless it is in alreadyPlaced) and has the campaign's language.
// Each problem is reported under "optins[i]".
func (s *Store) checkForm(ctx context.Context, tx *sql.Tx, c *assent.Campaign, alreadyPlaced map[string]bool) error {
	if len(c.Optins) == 0 {
		return nil
	}
	args := []any{c.AccountID}
	for _, id := range c.Optins {
		if !storable(id) {
			id = "" // matches no row, so it is reported as unknown below
		}
		args = append(args, id)
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, name, language, status FROM optins
		WHERE account_id = $1 AND id IN (`+placeholders(2, len(c.Optins))+`)`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	type info struct{ name, language, status string }
	found := map[string]info{}
	for rows.Next() {
		var id string
		var i info
		if err := rows.Scan(&id, &i.name, &i.language, &i.status); err != nil {
			return err
		}
		found[id] = i
	}
	if err := rows.Err(); err != nil {
		return err
	}
	p := assent.Problems{}
	for n, id := range c.Optins {
		field := fmt.Sprintf("optins[%d]", n)
		i, ok := found[id]
		switch {
		case !ok:
			p.Add(field, "no opt-in has the id %q", id)
		case i.status != assent.StatusActive && !alreadyPlaced[id]:
			p.Add(field, "opt-in %q is archived and cannot be placed on a form", i.name)
		case i.language != c.Language:
			p.Add(field, "opt-in %q is in language %s but the campaign is in %s", i.name, i.language, c.Language)
		}
	}
	return p.Err()
}

func placeOptins(ctx context.Context, tx *sql.Tx, campaignID string, optinIDs []string) error {
	for i, oid := range optinIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO campaign_optins (campaign_id, optin_id, position) VALUES ($1, $2, $3)`,
			campaignID, oid, i); err != nil {
			return err
		}
	}
	return nil
}
