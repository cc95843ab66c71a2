package stats

import (
	"math/bits"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// Catalog is the current categorisation of an account's opt-ins, which
// every query applies to the counted answers.
type Catalog struct {
	// Optins maps an opt-in id to its subcategory values and category keys.
	Optins map[string]OptinInfo
}

// OptinInfo is what a query needs to know of one opt-in.
type OptinInfo struct {
	Subcategories []string // values
	Categories    []string // keys
}

// Query says which participations to count.
type Query struct {
	From, To Day // inclusive
	Interval Interval
	// Campaigns limits the count to these campaigns; nil means all.
	Campaigns map[string]bool
	// Focus limits the count to participations whose form showed one of
	// these opt-ins, and the per-opt-in and per-category figures to them;
	// nil means every opt-in.
	Focus map[string]bool
	// NewOnly counts only participations of new participants.
	NewOnly bool
}

// Counts are the displays, conversions and confirmed conversions of an
// opt-in, a category or a subcategory.
type Counts struct {
	Displays, Conversions, Confirmed int64
}

// Totals are the figures of a set of participations.
type Totals struct {
	Participations int64
	New            int64 // participations of new participants: one each
	Optins         map[string]*Counts
	Categories     map[string]*Counts
	Subcategories  map[string]*Counts
}

func newTotals() *Totals {
	return &Totals{Optins: map[string]*Counts{}, Categories: map[string]*Counts{}, Subcategories: map[string]*Counts{}}
}

// Result is what a query counted.
type Result struct {
	Totals
	Unique int64
	// AsOf is the time of the newest participation counted; zero when none.
	AsOf       time.Time
	ByCampaign map[string]*Totals
	Series     []SeriesPoint // one per interval from From to To, when Interval is set
}

// SeriesPoint is the totals of one interval.
type SeriesPoint struct {
	Start Day
	*Totals
}

// formMasks are one form's opt-in positions grouped as a query needs them.
type formMasks struct {
	focus         uint64
	categories    map[string]uint64
	subcategories map[string]uint64
}

func (a *accountData) masks(cat *Catalog, q *Query) []formMasks {
	out := make([]formMasks, len(a.forms))
	for f, ids := range a.forms {
		m := formMasks{categories: map[string]uint64{}, subcategories: map[string]uint64{}}
		for i, id := range ids {
			bit := uint64(1) << i
			if q.Focus != nil && !q.Focus[id] {
				continue
			}
			m.focus |= bit
			info := cat.Optins[id]
			for _, k := range info.Categories {
				m.categories[k] |= bit
			}
			for _, v := range info.Subcategories {
				m.subcategories[v] |= bit
			}
		}
		out[f] = m
	}
	return out
}

// add counts n participations of pattern k into t.
func (t *Totals) add(a *accountData, m *formMasks, k patternKey, n int64) {
	t.Participations += n
	if k.new {
		t.New += n
	}
	form := a.forms[k.form]
	for rest := m.focus; rest != 0; rest &= rest - 1 {
		i := bits.TrailingZeros64(rest)
		count(t.Optins, form[i], uint64(1)<<i, k, n)
	}
	for key, mask := range m.categories {
		count(t.Categories, key, mask, k, n)
	}
	for value, mask := range m.subcategories {
		count(t.Subcategories, value, mask, k, n)
	}
}

// count adds n displays to c[key], and n conversions when any opt-in of
// mask was accepted: a participation counts once however many it accepted.
func count(c map[string]*Counts, key string, mask uint64, k patternKey, n int64) {
	x := c[key]
	if x == nil {
		x = &Counts{}
		c[key] = x
	}
	x.Displays += n
	if k.accepted&mask != 0 {
		x.Conversions += n
	}
	if k.confirmed&mask != 0 {
		x.Confirmed += n
	}
}

// The levels of the cells a span reads.
const (
	levelDay = iota
	levelWeek
	levelMonth
)

// span is a run of days that one cell counts: a day, a week from Monday or
// a month from its first day.
type span struct {
	level int
	start Day
}

// cover returns the fewest spans that cover the days from to to exactly,
// using whole months and whole weeks where allowed, and days at the edges.
func cover(from, to Day, weeks, months bool) []span {
	var out []span
	for d := from; d <= to; {
		if months && IntervalMonth.Bucket(d) == d {
			if next := IntervalMonth.Next(d); next-1 <= to {
				out = append(out, span{levelMonth, d})
				d = next
				continue
			}
		}
		if weeks && IntervalWeek.Bucket(d) == d && d+6 <= to {
			out = append(out, span{levelWeek, d})
			d += 7
			continue
		}
		out = append(out, span{levelDay, d})
		d++
	}
	return out
}

// merge adds the counts of t into u.
func (u *Totals) merge(t *Totals) {
	u.Participations += t.Participations
	u.New += t.New
	for _, p := range [][2]map[string]*Counts{{u.Optins, t.Optins}, {u.Categories, t.Categories},
		{u.Subcategories, t.Subcategories}} {
		for key, c := range p[1] {
			x := p[0][key]
			if x == nil {
				x = &Counts{}
				p[0][key] = x
			}
			x.Displays += c.Displays
			x.Conversions += c.Conversions
			x.Confirmed += c.Confirmed
		}
	}
}

// Query counts the participations of an account that q selects, applying
// the categorisation cat. Counts are first summed per answer pattern over
// the cells the period covers (months, then weeks and days at the edges),
// and each distinct pattern is then attributed to opt-ins and categories
// once.
func (e *Engine) Query(accountID string, cat *Catalog, q Query) Result {
	e.mu.RLock()
	defer e.mu.RUnlock()
	res := Result{Totals: *newTotals(), ByCampaign: map[string]*Totals{}}
	a := e.accounts[accountID]
	if a == nil {
		res.Series = emptySeries(q)
		return res
	}
	masks := a.masks(cat, &q)
	// A form that showed no opt-in of the focus is out of scope; without a
	// focus, every participation counts, those of a form without opt-ins too.
	keep := func(form int32, isNew bool) bool {
		return (q.Focus == nil || masks[form].focus != 0) && (!q.NewOnly || isNew)
	}
	// Bitmaps and the newest participation are kept per day and month.
	whole := cover(q.From, q.To, false, true)
	var people []*roaring.Bitmap
	sum := map[patternKey]int64{}
	for id, c := range a.campaigns {
		if q.Campaigns != nil && !q.Campaigns[id] {
			continue
		}
		clear(sum)
		for _, sp := range whole {
			x := c.at(sp)
			if x == nil {
				continue
			}
			for k, n := range x.counts {
				if keep(k.form, k.new) {
					sum[k] += n
				}
			}
			for fn, at := range x.latest {
				if keep(fn.form, fn.new) && at.After(res.AsOf) {
					res.AsOf = at
				}
			}
			if q.Campaigns != nil || q.Focus != nil {
				for f, bm := range x.people {
					if q.Focus == nil || masks[f].focus != 0 {
						people = append(people, bm)
					}
				}
			}
		}
		if len(sum) == 0 {
			continue
		}
		t := newTotals()
		for k, n := range sum {
			t.add(a, &masks[k.form], k, n)
		}
		res.ByCampaign[id] = t
		res.Totals.merge(t)
	}
	switch {
	case q.NewOnly:
		res.Unique = res.New // a participant is new in exactly one participation
	case q.Campaigns == nil && q.Focus == nil:
		for _, sp := range whole {
			if bm := a.people(sp); bm != nil {
				people = append(people, bm)
			}
		}
		res.Unique = int64(roaring.FastOr(people...).GetCardinality())
	default:
		res.Unique = int64(roaring.FastOr(people...).GetCardinality())
	}
	if q.Interval != "" {
		res.Series = a.series(q, masks, keep)
	}
	return res
}

// people returns the participants of a day or month span, all campaigns.
func (a *accountData) people(sp span) *roaring.Bitmap {
	if sp.level == levelMonth {
		return a.months[sp.start]
	}
	return a.days[sp.start]
}

// series counts each interval of q, from the first day of the interval
// that holds q.From to q.To.
func (a *accountData) series(q Query, masks []formMasks, keep func(int32, bool) bool) []SeriesPoint {
	var out []SeriesPoint
	sum := map[patternKey]int64{}
	for b := q.Interval.Bucket(q.From); b <= q.To; b = q.Interval.Next(b) {
		clear(sum)
		spans := cover(max(b, q.From), min(q.Interval.Next(b)-1, q.To), q.Interval != IntervalDay,
			q.Interval == IntervalMonth)
		for id, c := range a.campaigns {
			if q.Campaigns != nil && !q.Campaigns[id] {
				continue
			}
			for _, sp := range spans {
				x := c.at(sp)
				if x == nil {
					continue
				}
				for k, n := range x.counts {
					if keep(k.form, k.new) {
						sum[k] += n
					}
				}
			}
		}
		t := newTotals()
		for k, n := range sum {
			t.add(a, &masks[k.form], k, n)
		}
		out = append(out, SeriesPoint{Start: b, Totals: t})
	}
	return out
}

// emptySeries is the series of an account with nothing counted.
func emptySeries(q Query) []SeriesPoint {
	if q.Interval == "" {
		return nil
	}
	var out []SeriesPoint
	for b := q.Interval.Bucket(q.From); b <= q.To; b = q.Interval.Next(b) {
		out = append(out, SeriesPoint{Start: b, Totals: newTotals()})
	}
	return out
}
