package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/assentdev/assent"
)

const optinColumns = `o.id, o.account_id, o.name, o.language, o.text, o.info, o.logo_url, o.display, o.mandatory,
	o.double_optin, o.variable, o.status, o.version, o.answered, o.created_at, o.updated_at`

func scanOptin(row interface{ Scan(...any) error }) (assent.Optin, error) {
	var o assent.Optin
	var variable sql.NullString
	var created, updated int64
	err := row.Scan(&o.ID, &o.AccountID, &o.Name, &o.Language, &o.Text, &o.Info, &o.LogoURL, &o.Display, &o.Mandatory,
		&o.DoubleOptin, &variable, &o.Status, &o.Version, &o.Answered, &created, &updated)
	o.Variable, o.CreatedAt, o.UpdatedAt = variable.String, fromMicros(created), fromMicros(updated)
	return o, err
}

// OptinFilter narrows a list of opt-ins; empty fields do not filter.
type OptinFilter struct {
	Status      string
	Language    string
	Category    string // a category key
	Subcategory string // a subcategory value
}

// Optins lists the opt-ins of an account matching f, oldest first.
func (s *Store) Optins(ctx context.Context, accountID string, f OptinFilter, page Page) ([]assent.Optin, string, error) {
	after, limit, err := page.after()
	if err != nil {
		return nil, "", err
	}
	q := `SELECT ` + optinColumns + ` FROM optins o WHERE o.account_id = $1 AND o.id > $2`
	args := []any{accountID, after}
	if f.Status != "" {
		args = append(args, f.Status)
		q += fmt.Sprintf(` AND o.status = $%d`, len(args))
	}
	if f.Language != "" {
		args = append(args, f.Language)
		q += fmt.Sprintf(` AND o.language = $%d`, len(args))
	}
	if f.Category != "" {
		args = append(args, f.Category)
		q += fmt.Sprintf(` AND EXISTS (SELECT 1 FROM optin_subcategories os JOIN subcategories sc ON sc.id = os.subcategory_id
			WHERE os.optin_id = o.id AND sc.category = $%d)`, len(args))
	}
	if f.Subcategory != "" {
		args = append(args, f.Subcategory)
		q += fmt.Sprintf(` AND EXISTS (SELECT 1 FROM optin_subcategories os JOIN subcategories sc ON sc.id = os.subcategory_id
			WHERE os.optin_id = o.id AND sc.value = $%d)`, len(args))
	}
	args = append(args, limit+1)
	q += fmt.Sprintf(` ORDER BY o.id LIMIT $%d`, len(args))
	out, err := s.queryOptins(ctx, s.rdb, q, args...)
	if err != nil {
		return nil, "", err
	}
	out, next := nextCursor(out, limit, func(o assent.Optin) string { return o.ID })
	return out, next, nil
}

// OptinLanguages lists the languages of the account's opt-ins, sorted:
// the choices of a language filter.
func (s *Store) OptinLanguages(ctx context.Context, accountID string) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT DISTINCT language FROM optins WHERE account_id = $1 ORDER BY language`, accountID)
	if err != nil {
		return nil, wrap("optin languages", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return nil, wrap("optin languages", err)
		}
		out = append(out, l)
	}
	return out, wrap("optin languages", rows.Err())
}

// Optin returns one opt-in of the account, or ENOTFOUND.
func (s *Store) Optin(ctx context.Context, accountID, id string) (assent.Optin, error) {
	return s.optin(ctx, s.rdb, accountID, id)
}

func (s *Store) optin(ctx context.Context, q querier, accountID, id string) (assent.Optin, error) {
	if !storable(id) {
		return assent.Optin{}, assent.NotFound("opt-in")
	}
	out, err := s.queryOptins(ctx, q, `SELECT `+optinColumns+` FROM optins o WHERE o.account_id = $1 AND o.id = $2`, accountID, id)
	if err != nil {
		return assent.Optin{}, err
	}
	if len(out) == 0 {
		return assent.Optin{}, assent.NotFound("opt-in")
	}
	return out[0], nil
}

// queryOptins runs a query over optins o and fills in each opt-in's
// subcategories and categories with one more query.
func (s *Store) queryOptins(ctx context.Context, q querier, query string, args ...any) ([]assent.Optin, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap("optins", err)
	}
	var out []assent.Optin
	for rows.Next() {
		o, err := scanOptin(rows)
		if err != nil {
			rows.Close()
			return nil, wrap("optins", err)
		}
		out = append(out, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, wrap("optins", err)
	}
	ids := make([]any, len(out))
	index := map[string]int{}
	for i, o := range out {
		ids[i], index[o.ID] = o.ID, i
	}
	rows, err = q.QueryContext(ctx, `SELECT os.optin_id, sc.value, sc.category FROM optin_subcategories os
		JOIN subcategories sc ON sc.id = os.subcategory_id
		WHERE os.optin_id IN (`+placeholders(1, len(ids))+`) ORDER BY sc.value`, ids...)
	if err != nil {
		return nil, wrap("optin subcategories", err)
	}
	defer rows.Close()
	cats := make([]map[string]bool, len(out))
	for rows.Next() {
		var id, value, category string
		if err := rows.Scan(&id, &value, &category); err != nil {
			return nil, wrap("optin subcategories", err)
		}
		i := index[id]
		out[i].Subcategories = append(out[i].Subcategories, value)
		if cats[i] == nil {
			cats[i] = map[string]bool{}
		}
		cats[i][category] = true
	}
	for i := range out {
		out[i].Categories = categoryKeys(cats[i])
	}
	return out, wrap("optin subcategories", rows.Err())
}

// categoryKeys returns the keys set in m in the fixed category order.
func categoryKeys(m map[string]bool) []string {
	keys := []string{}
	for _, c := range assent.Categories {
		if m[c.Key] {
			keys = append(keys, c.Key)
		}
	}
	return keys
}

// CreateOptin creates an opt-in at version 1. It returns EINVALID for bad
// fields or unknown subcategories, ECONFLICT for a variable taken.
func (s *Store) CreateOptin(ctx context.Context, accountID string, o assent.Optin) (assent.Optin, error) {
	defer s.forget() // once committed: the write path and reports read these through a cache
	now := s.now()
	o.ID, o.AccountID, o.Version, o.Answered, o.CreatedAt, o.UpdatedAt = assent.NewID("opt_"), accountID, 1, false, now, now
	if o.Status == "" {
		o.Status = assent.StatusActive
	}
	o.Normalize()
	if err := o.Validate(); err != nil {
		return o, err
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		subIDs, err := s.checkOptin(ctx, tx, &o)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO optins (id, account_id, name, language, text, info, logo_url, display,
			mandatory, double_optin, variable, status, version, answered, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			o.ID, accountID, o.Name, o.Language, o.Text, o.Info, o.LogoURL, o.Display, o.Mandatory, o.DoubleOptin,
			nullString(o.Variable), o.Status, o.Version, false, micros(now), micros(now)); err != nil {
			return err
		}
		if err := insertVersion(ctx, tx, o.ID, o.VersionOf(), now); err != nil {
			return err
		}
		return linkSubcategories(ctx, tx, o.ID, subIDs)
	})
	return o, wrap("create optin", conflictOnUnique(err, "variable", "is used by another opt-in"))
}

// UpdateOptin applies change to an opt-in and stores it. A change of a
// versioned field (text, info, language, display, mandatory) makes a new
// version. It returns EINVALID for bad fields, ECONFLICT for a variable
// taken or a language that no longer matches a campaign the opt-in is on.
func (s *Store) UpdateOptin(ctx context.Context, accountID, id string, change func(*assent.Optin)) (assent.Optin, error) {
	defer s.forget() // once committed: the write path reads these through its cache
	var o assent.Optin
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if o, err = s.optin(ctx, tx, accountID, id); err != nil {
			return err
		}
		before := o.VersionOf()
		change(&o)
		o.ID, o.AccountID = id, accountID
		o.Normalize()
		if err := o.Validate(); err != nil {
			return err
		}
		subIDs, err := s.checkOptin(ctx, tx, &o)
		if err != nil {
			return err
		}
		if o.Language != before.Language {
			if err := s.checkOptinLanguage(ctx, tx, id, o.Language); err != nil {
				return err
			}
		}
		now := s.now()
		o.UpdatedAt = now
		if o.VersionOf().Changed(before) {
			o.Version++
			if err := insertVersion(ctx, tx, id, o.VersionOf(), now); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE optins SET name = $1, language = $2, text = $3, info = $4, logo_url = $5,
			display = $6, mandatory = $7, double_optin = $8, variable = $9, status = $10, version = $11, updated_at = $12
			WHERE id = $13`, o.Name, o.Language, o.Text, o.Info, o.LogoURL, o.Display, o.Mandatory, o.DoubleOptin,
			nullString(o.Variable), o.Status, o.Version, micros(now), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM optin_subcategories WHERE optin_id = $1`, id); err != nil {
			return err
		}
		return linkSubcategories(ctx, tx, id, subIDs)
	})
	if err != nil {
		return o, wrap("update optin", conflictOnUnique(err, "variable", "is used by another opt-in"))
	}
	return s.optin(ctx, s.db, accountID, id) // read back for the derived categories
}

// DeleteOptin deletes an opt-in that was never answered and is on no
// campaign form. Otherwise it archives it, since what participants saw must
// stay provable, and returns the archived opt-in with deleted false.
func (s *Store) DeleteOptin(ctx context.Context, accountID, id string) (o assent.Optin, deleted bool, err error) {
	defer s.forget() // once committed: the write path reads these through its cache
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if o, err = s.optin(ctx, tx, accountID, id); err != nil {
			return err
		}
		var placed int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM campaign_optins WHERE optin_id = $1`, id).Scan(&placed); err != nil {
			return err
		}
		if o.Answered || placed > 0 {
			o.Status, o.UpdatedAt = assent.StatusArchived, s.now()
			_, err := tx.ExecContext(ctx, `UPDATE optins SET status = $1, updated_at = $2 WHERE id = $3`,
				o.Status, micros(o.UpdatedAt), id)
			return err
		}
		deleted = true
		_, err := tx.ExecContext(ctx, `DELETE FROM optins WHERE id = $1`, id)
		return err
	})
	return o, deleted, wrap("delete optin", err)
}

// OptinVersions returns every version of an opt-in, oldest first.
func (s *Store) OptinVersions(ctx context.Context, accountID, id string) ([]assent.OptinVersion, error) {
	if _, err := s.Optin(ctx, accountID, id); err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT version, language, text, info, display, mandatory, created_at
		FROM optin_versions WHERE optin_id = $1 ORDER BY version`, id)
	if err != nil {
		return nil, wrap("optin versions", err)
	}
	defer rows.Close()
	var out []assent.OptinVersion
	for rows.Next() {
		var v assent.OptinVersion
		var created int64
		if err := rows.Scan(&v.Version, &v.Language, &v.Text, &v.Info, &v.Display, &v.Mandatory, &created); err != nil {
			return nil, wrap("optin versions", err)
		}
		v.CreatedAt = fromMicros(created)
		out = append(out, v)
	}
	return out, wrap("optin versions", rows.Err())
}

// markAnswered records that opt-ins were answered, so that they can no
// longer be deleted. The participation write calls it in its transaction.
func markAnswered(ctx context.Context, tx *sql.Tx, optinIDs []string) error {
	if len(optinIDs) == 0 {
		return nil
	}
	args := make([]any, len(optinIDs))
	for i, id := range optinIDs {
		args[i] = id
	}
	_, err := tx.ExecContext(ctx, `UPDATE optins SET answered = TRUE WHERE NOT answered AND id IN (`+
		placeholders(1, len(args))+`)`, args...)
	return err
}

// checkOptin resolves o's subcategory values to ids (setting o.Categories)
// and checks that its variable is free. It returns the subcategory ids.
func (s *Store) checkOptin(ctx context.Context, tx *sql.Tx, o *assent.Optin) ([]string, error) {
	subs, err := s.subcategories(ctx, tx, o.AccountID)
	if err != nil {
		return nil, err
	}
	byValue := map[string]assent.Subcategory{}
	for _, sc := range subs {
		byValue[sc.Value] = sc
	}
	var ids, unknown []string
	cats := map[string]bool{}
	for _, v := range o.Subcategories {
		sc, ok := byValue[v]
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%q", v))
			continue
		}
		ids = append(ids, sc.ID)
		cats[sc.Category] = true
	}
	if len(unknown) > 0 {
		return nil, &assent.Error{Code: assent.EINVALID, Message: "some fields are invalid",
			Fields: map[string]string{"subcategories": "no subcategory has the value " + strings.Join(unknown, ", ")}}
	}
	sort.Strings(o.Subcategories)
	o.Categories = categoryKeys(cats)
	if o.Variable != "" {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM optins WHERE account_id = $1 AND variable = $2 AND id <> $3`,
			o.AccountID, o.Variable, o.ID).Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			return nil, &assent.Error{Code: assent.ECONFLICT, Message: "another opt-in uses the variable " + o.Variable,
				Fields: map[string]string{"variable": "is used by another opt-in"}}
		}
	}
	return ids, nil
}

// checkOptinLanguage refuses a language change that would leave the opt-in
// on a campaign of another language.
func (s *Store) checkOptinLanguage(ctx context.Context, tx *sql.Tx, optinID, language string) error {
	rows, err := tx.QueryContext(ctx, `SELECT c.name, c.language FROM campaign_optins co JOIN campaigns c ON c.id = co.campaign_id
		WHERE co.optin_id = $1 AND c.language <> $2 ORDER BY c.id`, optinID, language)
	if err != nil {
		return err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name, lang string
		if err := rows.Scan(&name, &lang); err != nil {
			return err
		}
		names = append(names, fmt.Sprintf("%q (%s)", name, lang))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(names) > 0 {
		return &assent.Error{Code: assent.ECONFLICT, Message: "the opt-in is on campaigns of another language",
			Fields: map[string]string{"language": "the opt-in is on campaign(s) " + strings.Join(names, ", ") +
				"; remove it from them first"}}
	}
	return nil
}

func insertVersion(ctx context.Context, tx *sql.Tx, optinID string, v assent.OptinVersion, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO optin_versions (optin_id, version, language, text, info, display, mandatory, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, optinID, v.Version, v.Language, v.Text, v.Info, v.Display, v.Mandatory, micros(at))
	return err
}

func linkSubcategories(ctx context.Context, tx *sql.Tx, optinID string, subIDs []string) error {
	for _, sid := range subIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO optin_subcategories (optin_id, subcategory_id) VALUES ($1, $2)`,
			optinID, sid); err != nil {
			return err
		}
	}
	return nil
}

func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}
