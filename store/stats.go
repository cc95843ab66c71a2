package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/stats"
)

// LoadStats counts every stored participation into s.Stats. The statistics
// are derived state: the database is their source of truth, and this is
// how they come back at start. Days are taken in each account's current
// time zone.
//
// It reads the participations of every account in one pass (there is no
// index by account: one pass per account would read the whole table as
// many times), between two write batches, in one snapshot that also tells
// CatchUp where to go on from.
func (s *Store) LoadStats(ctx context.Context) error {
	var err error
	s.writer.between(func() { err = s.recountFrom(ctx, "") })
	return wrap("load stats", err)
}

// ReloadStats counts the account's participations again, for instance
// after its time zone changed. It runs between two write batches, so that
// no participation is counted twice or missed.
func (s *Store) ReloadStats(ctx context.Context, accountID string) error {
	var err error
	s.writer.between(func() { err = s.recountFrom(ctx, accountID) })
	return wrap("load stats", err)
}

// recountFrom counts the participations of account (of every account when
// empty) again, from a snapshot.
func (s *Store) recountFrom(ctx context.Context, account string) error {
	tx, err := s.snapshot(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	heads, err := accountHeads(ctx, tx, account)
	if err != nil {
		return err
	}
	if account != "" && len(heads) == 0 {
		return assent.Errorf(assent.ENOTFOUND, "no account has the id %q", account)
	}
	return s.recount(ctx, tx, heads)
}

// recount counts the participations of the accounts of heads, as tx shows
// them, into a fresh engine whose accounts then replace those of s.Stats,
// and tells the follower where each account's count stands.
func (s *Store) recount(ctx context.Context, tx *sql.Tx, heads []accountHead) error {
	loaders := map[string]*statsLoader{}
	for _, h := range heads {
		loc, err := time.LoadLocation(h.zone)
		if err != nil {
			return err
		}
		loaders[h.account] = newStatsLoader(loc)
	}
	// One query: filtered by account when there is one, else over the
	// whole table.
	q, args := participationFacts, []any(nil)
	if len(heads) == 1 {
		q, args = q+` WHERE p.account_id = $1`, []any{heads[0].account}
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	fresh := stats.NewEngine()
	if err := countRows(rows, loaders, fresh); err != nil {
		return err
	}
	for _, h := range heads {
		s.Stats.Adopt(h.account, fresh)
		s.follow.counted(h)
	}
	return nil
}

// participationFacts reads what the statistics count of participations,
// in no particular order: the counts do not depend on it.
const participationFacts = `SELECT p.account_id, p.campaign_id, p.participant_seq, p.new_participant, p.created_at, p.answers
	FROM participations p`

// countRows counts the rows of a participationFacts query into into,
// skipping those of accounts without a loader.
func countRows(rows *sql.Rows, loaders map[string]*statsLoader, into *stats.Engine) error {
	for n := 1; rows.Next(); n++ {
		if n%settleEvery == 0 {
			into.Settle() // SQLite reads participations in campaign order
		}
		var accountID, list string
		var p stats.Participation
		var seq, created int64
		if err := rows.Scan(&accountID, &p.Campaign, &seq, &p.New, &created, &list); err != nil {
			return err
		}
		l := loaders[accountID]
		if l == nil {
			continue // not asked for (or created since the list was read)
		}
		f, err := l.form(list)
		if err != nil {
			return err
		}
		at := fromMicros(created)
		p.Day, p.Seq, p.Form, p.Accepted, p.Confirmed = l.day(created, at), uint32(seq), f.ids, f.accepted, f.confirmed
		into.Add(accountID, p, at)
	}
	return rows.Err()
}

// settleEvery is how many participations a load counts between two
// Settles: often enough that the cells of the campaigns already read do
// not pile up as maps, seldom enough that the cells of every campaign
// together (thawed again by each campaign) cost nothing.
const settleEvery = 100_000

// statsLoader turns the rows LoadStats reads into stats.Participations,
// remembering what repeats from one participation to the next: the day
// (participations of one day are read together), and the answer lists (a
// few forms, each with a few answer patterns, make up most of them).
type statsLoader struct {
	loc      *time.Location
	from, to int64 // the day that holds [from, to), in microseconds
	today    stats.Day
	answers  map[string]loadedForm // by answer list
	forms    map[string][]string   // by ids joined with spaces
	buf      []answer
}

// loadedForm is what an answer list tells the statistics. Its ids are
// shared by every participation with that form: the Engine only reads them.
type loadedForm struct {
	ids                 []string
	accepted, confirmed uint64
}

// maxLoadedAnswers bounds the answer lists a statsLoader remembers.
const maxLoadedAnswers = 1 << 16

func newStatsLoader(loc *time.Location) *statsLoader {
	return &statsLoader{loc: loc, answers: map[string]loadedForm{}, forms: map[string][]string{}}
}

// day returns the day of at, which is micros microseconds after the epoch,
// in the account's time zone.
func (l *statsLoader) day(micros int64, at time.Time) stats.Day {
	if micros >= l.from && micros < l.to {
		return l.today
	}
	d := stats.DayOf(at, l.loc)
	from, to := d.Start(l.loc), (d + 1).Start(l.loc).Add(-time.Microsecond)
	// Days are monotonic in time: with both ends checked (time.Date picks
	// some instant when midnight falls in a DST gap), the whole range is d.
	if stats.DayOf(from, l.loc) == d && stats.DayOf(to, l.loc) == d {
		l.from, l.to, l.today = from.UnixMicro(), to.UnixMicro()+1, d
	}
	return d
}

// form returns the form and answer masks of an answer list.
func (l *statsLoader) form(list string) (loadedForm, error) {
	if f, ok := l.answers[list]; ok {
		return f, nil
	}
	var err error
	if l.buf, err = parseAnswers(l.buf[:0], list); err != nil {
		return loadedForm{}, err
	}
	if len(l.buf) > stats.MaxFormSize {
		return loadedForm{}, fmt.Errorf("a participation shows more than %d opt-ins", stats.MaxFormSize)
	}
	var f loadedForm
	ids := make([]string, len(l.buf))
	for i, a := range l.buf {
		ids[i] = a.optin
		if a.accepted {
			f.accepted |= 1 << i
		}
		if a.confirmed {
			f.confirmed |= 1 << i
		}
	}
	key := strings.Join(ids, " ")
	if f.ids = l.forms[key]; f.ids == nil {
		f.ids = ids
		l.forms[key] = ids
	}
	if len(l.answers) < maxLoadedAnswers {
		l.answers[list] = f
	}
	return f, nil
}

// participationFact reads what the statistics counted for a participation,
// and its answers.
func (s *Store) participationFact(ctx context.Context, q querier, participationID string) (string, stats.Participation,
	[]answer, error) {
	var accountID, list string
	var created, seq int64
	var p stats.Participation
	if err := q.QueryRowContext(ctx, `SELECT account_id, campaign_id, participant_seq, new_participant, created_at, answers
		FROM participations WHERE id = $1`, participationID).Scan(&accountID, &p.Campaign, &seq, &p.New, &created,
		&list); err != nil {
		return "", p, nil, err
	}
	acct, err := s.accountInfo(ctx, q, accountID)
	if err != nil {
		return "", p, nil, err
	}
	answers, err := parseAnswers(nil, list)
	if err != nil {
		return "", p, nil, fmt.Errorf("participation %s: %w", participationID, err)
	}
	p.Seq, p.Day = uint32(seq), stats.DayOf(fromMicros(created), acct.location)
	for i, a := range answers {
		p.Form = append(p.Form, a.optin)
		if a.accepted {
			p.Accepted |= 1 << i
		}
		if a.confirmed {
			p.Confirmed |= 1 << i
		}
	}
	return accountID, p, answers, nil
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
		m.ShareCatalog() // every report of the next second applies it
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
