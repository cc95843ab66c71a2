package stats

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// Catalog is the current categorisation of an account's opt-ins, which
// every query applies to the counted answers.
type Catalog struct {
	// Optins maps an opt-in id to its subcategory values and category keys.
	Optins map[string]OptinInfo

	keyOnce sync.Once
	keyText string
}

// key spells the categorisation out, the same text for the same
// categorisation: the first part of a summary scope's key. It is made once
// per Catalog; Optins must not change afterwards.
func (c *Catalog) key() string {
	c.keyOnce.Do(func() {
		ids := make([]string, 0, len(c.Optins))
		for id := range c.Optins {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		var b strings.Builder
		for _, id := range ids {
			o := c.Optins[id]
			b.WriteString(id)
			b.WriteByte(':')
			for _, k := range o.Categories {
				b.WriteString(k)
				b.WriteByte(',')
			}
			b.WriteByte('/')
			for _, v := range o.Subcategories {
				b.WriteString(v)
				b.WriteByte(',')
			}
			b.WriteByte(';')
		}
		c.keyText = b.String()
	})
	return c.keyText
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
	// Totals of the interval; its Subcategories are always empty: no
	// report shows subcategories by interval.
	*Totals
}

// formMasks are one form's opt-in positions grouped as a query needs them:
// the positions in focus, and for each category and subcategory (by its
// index in the query's plan) the positions of its opt-ins.
type formMasks struct {
	focus         uint64
	optins        []int32 // per position in focus, in order: the opt-in's index
	categories    []groupMask
	subcategories []groupMask
}

// groupMask is the positions of a form's opt-ins in one category or
// subcategory.
type groupMask struct {
	index int32
	mask  uint64
}

// plan numbers the opt-ins, categories and subcategories a query counts,
// so that counting is done in slices, and turned into maps at the end.
// A form's masks are worked out the first time the query meets the form:
// a query of one campaign never looks at the account's other forms.
type plan struct {
	optins, categories, subcategories []string
	forms                             []formMasks
	built                             []bool

	source                     [][]string // the account's forms
	cat                        *Catalog
	focus                      map[string]bool
	optinAt, categoryAt, subAt map[string]int32
	e                          *Engine
	newOnly                    bool
	scopeID                    uint32 // see scope; 0 until asked for
}

func (a *accountData) plan(cat *Catalog, q *Query) *plan {
	return &plan{forms: make([]formMasks, len(a.forms)), built: make([]bool, len(a.forms)), source: a.forms,
		cat: cat, focus: q.Focus, optinAt: map[string]int32{}, categoryAt: map[string]int32{}, subAt: map[string]int32{}}
}

// number returns the index of key in list, adding it at the end when new.
func number(index map[string]int32, list *[]string, key string) int32 {
	i, ok := index[key]
	if !ok {
		i = int32(len(*list))
		*list = append(*list, key)
		index[key] = i
	}
	return i
}

// masks returns form f's masks.
func (p *plan) masks(f int32) *formMasks {
	m := &p.forms[f]
	if p.built[f] {
		return m
	}
	p.built[f] = true
	for i, id := range p.source[f] {
		bit := uint64(1) << i
		if p.focus != nil && !p.focus[id] {
			continue
		}
		m.focus |= bit
		m.optins = append(m.optins, number(p.optinAt, &p.optins, id))
		info := p.cat.Optins[id]
		for _, k := range info.Categories {
			m.categories = addMask(m.categories, number(p.categoryAt, &p.categories, k), bit)
		}
		for _, v := range info.Subcategories {
			m.subcategories = addMask(m.subcategories, number(p.subAt, &p.subcategories, v), bit)
		}
	}
	return m
}

// addMask adds bit to the mask of group index in ms.
func addMask(ms []groupMask, index int32, bit uint64) []groupMask {
	for i := range ms {
		if ms[i].index == index {
			ms[i].mask |= bit
			return ms
		}
	}
	return append(ms, groupMask{index, bit})
}

// summary is a frozen cell's counts attributed to opt-ins, categories and
// subcategories by id, for one scope: a categorisation, a focus, and
// whether only new participants count (numbered by Engine.scope).
type summary struct {
	scope                             uint32
	participations, new               int64
	optins, categories, subcategories []idCounts
}

// idCounts are the counts of one opt-in, category or subcategory.
type idCounts struct {
	id string
	c  Counts
}

// summaryMin is how many patterns make a frozen cell worth summarising:
// below it, attributing its patterns costs no more than merging a summary.
// (Engine.summaryMin: tests change it.)
const summaryMin = 32

// summariesKept is how many scopes a cell keeps a summary for.
const summariesKept = 4

// summary returns the summary of x for the query of plan p, making it when
// needed, or nil when x has none to give: thawed, or too small to gain.
func (p *plan) summary(x *cell, keep func(int32, bool) bool) *summary {
	if x.counts != nil || len(x.keys) < p.e.summaryMin {
		return nil
	}
	scope := p.scope()
	var kept []*summary
	if l := x.summaries.Load(); l != nil {
		kept = *l
	}
	for _, s := range kept {
		if s.scope == scope {
			return s
		}
	}
	t := p.newSums()
	for i, k := range x.keys {
		if keep(k.form, k.new) {
			t.add(p.masks(k.form), k, x.ns[i])
		}
	}
	s := &summary{scope: scope, participations: t.participations, new: t.new}
	pick := func(keys []string, counts []Counts) []idCounts {
		var out []idCounts
		for i := range counts {
			if counts[i].Displays > 0 {
				out = append(out, idCounts{keys[i], counts[i]})
			}
		}
		return out
	}
	s.optins, s.categories, s.subcategories = pick(p.optins, t.optins), pick(p.categories, t.categories),
		pick(p.subcategories, t.subcategories)
	// Another query may replace the list at the same time: one of the two
	// summaries is lost and made again later; both are right.
	list := append([]*summary{s}, kept[:min(len(kept), summariesKept-1)]...)
	x.summaries.Store(&list)
	return s
}

// scope returns the number of what the plan's counts depend on beyond the
// answers: the categorisation, the focus and whether only new participants
// count.
func (p *plan) scope() uint32 {
	if p.scopeID == 0 {
		var b strings.Builder
		b.WriteString(p.cat.key())
		b.WriteString("|focus:")
		if p.focus != nil {
			focus := make([]string, 0, len(p.focus))
			for id, in := range p.focus {
				if in {
					focus = append(focus, id)
				}
			}
			sort.Strings(focus)
			b.WriteString(strings.Join(focus, ","))
		} else {
			b.WriteString("*")
		}
		if p.newOnly {
			b.WriteString("|new")
		}
		p.scopeID = p.e.scope(b.String())
	}
	return p.scopeID
}

// maxScopes bounds the scopes remembered: every categorisation change
// makes new ones.
const maxScopes = 10_000

// scope numbers a summary scope, the same key the same number. Numbers are
// never given twice: once maxScopes are remembered they are forgotten, and
// the summaries made for them are simply never found again.
func (e *Engine) scope(key string) uint32 {
	e.scopesMu.Lock()
	defer e.scopesMu.Unlock()
	n, ok := e.scopes[key]
	if !ok {
		if len(e.scopes) >= maxScopes {
			clear(e.scopes)
		}
		e.lastScope++
		n = e.lastScope
		e.scopes[key] = n
	}
	return n
}

// addSummary adds a cell's summary to t.
func (t *sums) addSummary(p *plan, s *summary) {
	t.participations += s.participations
	t.new += s.new
	for _, e := range s.optins {
		countsAt(&t.optins, number(p.optinAt, &p.optins, e.id)).add(e.c)
	}
	for _, e := range s.categories {
		countsAt(&t.categories, number(p.categoryAt, &p.categories, e.id)).add(e.c)
	}
	for _, e := range s.subcategories {
		countsAt(&t.subcategories, number(p.subAt, &p.subcategories, e.id)).add(e.c)
	}
}

// sums are Totals being counted, in slices indexed as the plan numbers.
type sums struct {
	participations, new               int64
	optins, categories, subcategories []Counts
}

func (p *plan) newSums() *sums {
	return &sums{optins: make([]Counts, len(p.optins)), categories: make([]Counts, len(p.categories)),
		subcategories: make([]Counts, len(p.subcategories))}
}

// add counts n participations of pattern k into t.
func (t *sums) add(m *formMasks, k patternKey, n int64) {
	t.participations += n
	if k.new {
		t.new += n
	}
	j := 0
	for rest := m.focus; rest != 0; rest &= rest - 1 {
		bit := rest & -rest
		count(countsAt(&t.optins, m.optins[j]), bit, k, n)
		j++
	}
	for _, g := range m.categories {
		count(countsAt(&t.categories, g.index), g.mask, k, n)
	}
	for _, g := range m.subcategories {
		count(countsAt(&t.subcategories, g.index), g.mask, k, n)
	}
}

// count adds n displays to c, and n conversions when any opt-in of mask was
// accepted: a participation counts once however many it accepted.
func count(c *Counts, mask uint64, k patternKey, n int64) {
	c.Displays += n
	if k.accepted&mask != 0 {
		c.Conversions += n
	}
	if k.confirmed&mask != 0 {
		c.Confirmed += n
	}
}

// merge adds the counts of u into t.
func (t *sums) merge(u *sums) {
	t.participations += u.participations
	t.new += u.new
	for i := range u.optins {
		countsAt(&t.optins, int32(i)).add(u.optins[i])
	}
	for i := range u.categories {
		countsAt(&t.categories, int32(i)).add(u.categories[i])
	}
	for i := range u.subcategories {
		countsAt(&t.subcategories, int32(i)).add(u.subcategories[i])
	}
}

// countsAt returns the counts of index i in cs, which grows to hold it: the
// plan numbers opt-ins and categories as the query meets their forms.
func countsAt(cs *[]Counts, i int32) *Counts {
	if n := int(i) + 1; n > len(*cs) {
		*cs = append(*cs, make([]Counts, n-len(*cs))...)
	}
	return &(*cs)[i]
}

func (c *Counts) add(d Counts) {
	c.Displays += d.Displays
	c.Conversions += d.Conversions
	c.Confirmed += d.Confirmed
}

// totals turns sums into Totals: an opt-in, category or subcategory is
// in them when a counted participation displayed it.
func (p *plan) totals(t *sums) *Totals {
	out := p.seriesTotals(t)
	for i := range t.subcategories {
		if t.subcategories[i].Displays > 0 {
			c := t.subcategories[i]
			out.Subcategories[p.subcategories[i]] = &c
		}
	}
	return out
}

// seriesTotals is totals without the subcategories, for a point of a
// series: no report shows subcategories by interval.
func (p *plan) seriesTotals(t *sums) *Totals {
	out := newTotals()
	out.Participations, out.New = t.participations, t.new
	fill := func(m map[string]*Counts, keys []string, counts []Counts) {
		for i := range counts {
			if counts[i].Displays > 0 {
				c := counts[i]
				m[keys[i]] = &c
			}
		}
	}
	fill(out.Optins, p.optins, t.optins)
	fill(out.Categories, p.categories, t.categories)
	return out
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

// Query counts the participations of an account that q selects, applying
// the categorisation cat. Counts are first summed per answer pattern over
// the cells the period covers (months, then weeks and days at the edges),
// and each distinct pattern is then attributed to opt-ins and categories
// once. A frozen cell of many patterns gives instead its summary,
// attributed once for the query's categorisation, focus and newness, and
// kept for the next query of that scope.
func (e *Engine) Query(accountID string, cat *Catalog, q Query) Result {
	e.slots <- struct{}{}
	defer func() { <-e.slots }()
	e.apply()
	e.mu.RLock()
	defer e.mu.RUnlock()
	res := Result{Totals: *newTotals(), ByCampaign: map[string]*Totals{}}
	a := e.accounts[accountID]
	if a == nil {
		res.Series = emptySeries(q)
		return res
	}
	p := a.plan(cat, &q)
	p.e, p.newOnly = e, q.NewOnly
	// A form that showed no opt-in of the focus is out of scope; without a
	// focus, every participation counts, those of a form without opt-ins too.
	keep := func(form int32, isNew bool) bool {
		return (q.Focus == nil || p.masks(form).focus != 0) && (!q.NewOnly || isNew)
	}
	// Bitmaps and the newest participation are kept per day and month.
	whole := cover(q.From, q.To, false, true)
	// The unique participants are united from bitmaps: the account's per
	// day and month, or, for a query that picks campaigns or opt-ins, its
	// cells' per form. Those of the days before the account's newest are
	// united once for the query's filters and period (see unique.go):
	// known, when remembered.
	pick := !q.NewOnly && (q.Campaigns != nil || q.Focus != nil)
	// settled is the end of the last span before the account's newest day:
	// only a late participation changes the participants up to it. Spans
	// follow each other from q.From, so those up to settled cover exactly
	// q.From to settled, however the rest of the period is cut.
	settled := q.From - 1
	for _, sp := range whole {
		if sp.end() >= a.newest {
			break
		}
		settled = sp.end()
	}
	var key string
	var known []uint64
	var knownCount int64
	if !q.NewOnly && settled >= q.From {
		key = unionKey(&q, settled)
		known, knownCount = e.unions.get(accountID, key)
	}
	var people, settledPeople []*roaring.Bitmap
	sum := map[patternKey]int64{}
	all := p.newSums()
	for id, c := range a.campaigns {
		if q.Campaigns != nil && !q.Campaigns[id] {
			continue
		}
		clear(sum)
		t := p.newSums()
		for _, sp := range whole {
			x := c.at(sp)
			if x == nil {
				continue
			}
			if s := p.summary(x, keep); s != nil {
				t.addSummary(p, s)
			} else {
				x.each(func(k patternKey, n int64) {
					if keep(k.form, k.new) {
						sum[k] += n
					}
				})
			}
			// A remembered union holds the participants of the spans
			// that stay.
			if stays := key != "" && sp.end() <= settled; pick && (!stays || known == nil) {
				for f, bm := range x.people {
					if q.Focus == nil || p.masks(f).focus != 0 {
						if stays {
							settledPeople = append(settledPeople, bm)
						} else {
							people = append(people, bm)
						}
					}
				}
			}
		}
		for k, n := range sum {
			t.add(p.masks(k.form), k, n)
		}
		// The campaign's newest participation in scope is in the last span
		// that has one: spans follow each other in time, and so do their
		// cells' participations.
		for i := len(whole) - 1; i >= 0; i-- {
			x, found := c.at(whole[i]), false
			if x == nil {
				continue
			}
			for fn, at := range x.latest {
				if keep(fn.form, fn.new) {
					found = true
					if at.After(res.AsOf) {
						res.AsOf = at
					}
				}
			}
			if found {
				break
			}
		}
		if t.participations == 0 {
			continue
		}
		res.ByCampaign[id] = p.totals(t)
		all.merge(t)
	}
	res.Totals = *p.totals(all)
	switch {
	case q.NewOnly:
		res.Unique = res.New // a participant is new in exactly one participation
	case key == "" && !pick:
		for _, sp := range whole {
			if bm := a.people(sp); bm != nil {
				people = append(people, bm)
			}
		}
		res.Unique = int64(roaring.FastOr(people...).GetCardinality())
	case key == "":
		res.Unique = e.unite(people)
	default:
		if !pick {
			for _, sp := range whole {
				bm, stays := a.people(sp), sp.end() <= settled
				switch {
				case bm == nil || (stays && known != nil):
				case stays:
					settledPeople = append(settledPeople, bm)
				default:
					people = append(people, bm)
				}
			}
		}
		if known == nil {
			known = e.denseUnion(settledPeople, 0, nil)
			knownCount = ones(known)
			e.unions.put(accountID, key, known, knownCount)
		}
		res.Unique = knownCount + e.beyond(people, known)
	}
	if q.Interval != "" {
		res.Series = a.series(q, p, keep)
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
func (a *accountData) series(q Query, p *plan, keep func(int32, bool) bool) []SeriesPoint {
	var out []SeriesPoint
	sources := []*campaignData{a.all}
	if q.Campaigns != nil {
		sources = sources[:0]
		for id := range q.Campaigns {
			if c := a.campaigns[id]; c != nil {
				sources = append(sources, c)
			}
		}
	}
	for b := q.Interval.Bucket(q.From); b <= q.To; b = q.Interval.Next(b) {
		spans := cover(max(b, q.From), min(q.Interval.Next(b)-1, q.To), q.Interval != IntervalDay,
			q.Interval == IntervalMonth)
		t := p.newSums()
		for _, c := range sources {
			for _, sp := range spans {
				x := c.at(sp)
				if x == nil {
					continue
				}
				if s := p.summary(x, keep); s != nil {
					t.addSummary(p, s)
					continue
				}
				x.each(func(k patternKey, n int64) {
					if keep(k.form, k.new) {
						t.add(p.masks(k.form), k, n)
					}
				})
			}
		}
		out = append(out, SeriesPoint{Start: b, Totals: p.seriesTotals(t)})
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

// denseFrom is Engine.denseFrom's value (tests change it).
const denseFrom = 64

// unite returns how many participants are in any of people. A query with
// filters unites a bitmap per cell and form: thousands of small ones over
// a month of 200 campaigns, which roaring merges two by two as sorted
// arrays (half the reports' CPU at 10M). Past denseFrom of them, their
// members are set in a dense bitset instead, one bit per participant
// number: linear in the members, plus a word per 64 participants.
func (e *Engine) unite(people []*roaring.Bitmap) int64 {
	if len(people) < e.denseFrom {
		return int64(roaring.FastOr(people...).GetCardinality())
	}
	return ones(e.denseUnion(people, 0, nil))
}
