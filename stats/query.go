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

// Query counts the participations of an account that q selects, applying
// the categorisation cat.
func (e *Engine) Query(accountID string, cat *Catalog, q Query) Result {
	e.mu.RLock()
	defer e.mu.RUnlock()
	res := Result{Totals: *newTotals(), ByCampaign: map[string]*Totals{}}
	series := map[Day]*Totals{}
	a := e.accounts[accountID]
	if a != nil {
		masks := a.masks(cat, &q)
		var people []*roaring.Bitmap
		for id, c := range a.campaigns {
			if q.Campaigns != nil && !q.Campaigns[id] {
				continue
			}
			var byCampaign *Totals
			for d, x := range c.cells {
				if d < q.From || d > q.To {
					continue
				}
				var point *Totals
				if q.Interval != "" {
					b := q.Interval.Bucket(d)
					if point = series[b]; point == nil {
						point = newTotals()
						series[b] = point
					}
				}
				for k, n := range x.counts {
					m := &masks[k.form]
					// A form that showed no opt-in of the focus is out of
					// scope; without a focus, every participation counts,
					// those of a form without opt-ins too.
					if (q.Focus != nil && m.focus == 0) || (q.NewOnly && !k.new) {
						continue
					}
					if byCampaign == nil {
						byCampaign = newTotals()
						res.ByCampaign[id] = byCampaign
					}
					res.add(a, m, k, n)
					byCampaign.add(a, m, k, n)
					if point != nil {
						point.add(a, m, k, n)
					}
				}
				for fn, at := range x.latest {
					if (q.Focus == nil || masks[fn.form].focus != 0) && (!q.NewOnly || fn.new) && at.After(res.AsOf) {
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
		}
		switch {
		case q.NewOnly:
			res.Unique = res.New // a participant is new in exactly one participation
		case q.Campaigns == nil && q.Focus == nil:
			for d, bm := range a.days {
				if d >= q.From && d <= q.To {
					people = append(people, bm)
				}
			}
			res.Unique = int64(roaring.FastOr(people...).GetCardinality())
		default:
			res.Unique = int64(roaring.FastOr(people...).GetCardinality())
		}
	}
	if q.Interval != "" {
		for b := q.Interval.Bucket(q.From); b <= q.To; b = q.Interval.Next(b) {
			t := series[b]
			if t == nil {
				t = newTotals()
			}
			res.Series = append(res.Series, SeriesPoint{Start: b, Totals: t})
		}
	}
	return res
}
