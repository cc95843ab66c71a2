// Package stats keeps Assent's statistics exact and real-time (SPEC §5).
//
// The write path hands every participation to the Engine as it commits. The
// Engine keeps, per account, campaign and day, how many participations had
// each answer pattern: which form (the ordered opt-ins shown), whether the
// participant was new, which opt-ins were accepted and which of those are
// confirmed. From those counts every figure of SPEC §5.1 follows exactly,
// for any categorisation: a category's displays are the participations
// whose form showed one of its opt-ins, its conversions those that
// accepted one. Since categories are applied when a report is read, moving
// a subcategory or changing an opt-in's subcategories re-attributes all of
// history at once, and no report ever mixes old and new attribution.
//
// Unique participants come from roaring bitmaps of participant numbers, per
// account and day and per campaign, day and form, so that the union over
// any period is exact. A report that picks campaigns or opt-ins unites
// many of them; the union over the days before the newest is remembered
// for the next report of the same filters and period (unique.go).
//
// Each count is also kept per week and per month (and each bitmap per
// month), so that a report over a year reads a dozen months and a few edge
// days rather than every day, and adds each distinct answer pattern of a
// campaign once, however many days it was seen on.
//
// The Engine is derived state: the database is the source of truth, and
// the Engine is rebuilt from it at start.
package stats

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// MaxFormSize is the most opt-ins a form can show: answers are bit masks.
const MaxFormSize = 64

// Participation is what the Engine needs of one participation.
type Participation struct {
	Campaign string
	Day      Day
	Seq      uint32   // the participant's number within the account
	New      bool     // the participant's first participation in the account
	Form     []string // ids of the opt-ins shown, in form order
	// Accepted has bit i set when Form[i] was accepted; Confirmed when that
	// acceptance is in force without waiting: a single opt-in, or a double
	// opt-in that was confirmed (or already given).
	Accepted, Confirmed uint64
}

// Engine holds the statistics of every account. It is safe for concurrent
// use.
//
// Add and SetConfirmed only queue their change, under a lock of their own,
// so that the write path never waits for a report being computed; every
// report applies what is queued before it reads, so a participation counts
// in every report that starts after Add returned.
type Engine struct {
	mu       sync.RWMutex
	accounts map[string]*accountData

	queueMu sync.Mutex // guards queue
	queue   []change
	applyMu sync.Mutex // one apply at a time, so that changes keep their order

	// slots bounds how many queries count at once: one fewer than the
	// processors Go runs on (at least one), so that reports asked for in a
	// loop never take every core from the write path.
	slots chan struct{}
	// summaryMin is how many answer patterns a frozen cell needs for its
	// summary to be kept (see summary).
	summaryMin int
	// denseFrom is how many participant bitmaps a unique count unites in a
	// dense bitset rather than with roaring (see unite).
	denseFrom int
	// scopes numbers what a summary depends on (categorisation, focus,
	// new participants only), so that a cell finds its own with a number.
	scopesMu  sync.Mutex
	scopes    map[string]uint32
	lastScope uint32
	// unions are the unions of participants remembered for reports that
	// come again, and rooms the bitsets reports count the newer days'
	// participants in (see unique.go).
	unions unions
	rooms  sync.Pool
}

// change is a queued Add (confirmed nil) or SetConfirmed.
type change struct {
	account   string
	p         Participation
	at        time.Time
	confirmed *uint64
}

// maxQueue is how many changes wait at most before Add applies them itself.
const maxQueue = 4096

// NewEngine returns an empty Engine.
func NewEngine() *Engine {
	return &Engine{accounts: map[string]*accountData{}, slots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)-1)),
		summaryMin: summaryMin, denseFrom: denseFrom, scopes: map[string]uint32{}}
}

type accountData struct {
	forms     [][]string // interned forms
	formIndex map[string]int32
	campaigns map[string]*campaignData
	days      map[Day]*roaring.Bitmap // participants per day, all campaigns
	months    map[Day]*roaring.Bitmap // participants per month (by its first day), all campaigns
	// all counts the participations of every campaign together, per day,
	// week and month (counts only), for the series of reports that do not
	// pick campaigns.
	all *campaignData
	// thawed are the cells whose counts are in a map (see cell); newest is
	// the latest day a participation was counted for.
	thawed []*cell
	newest Day
}

// campaignData holds a campaign's counts per day, and the same summed per
// week (from Monday; counts only) and per month (from the first; counts,
// participants and newest participation).
type campaignData struct {
	cells  map[Day]*cell
	weeks  map[Day]*cell
	months map[Day]*cell
}

// at returns the cell of a span, or nil.
func (c *campaignData) at(s span) *cell {
	switch s.level {
	case levelWeek:
		return c.weeks[s.start]
	case levelMonth:
		return c.months[s.start]
	}
	return c.cells[s.start]
}

type patternKey struct {
	form                int32
	new                 bool
	accepted, confirmed uint64
}

// cell counts the participations of a span per answer pattern. A cell
// that takes participations keeps its counts in a map; once its span is
// over (a participation of a later day came), they are frozen into two
// slices, which reports read several times faster and which take less
// memory. A change to a frozen cell (a late confirmation) thaws it.
type cell struct {
	counts map[patternKey]int64      // nil when frozen
	keys   []patternKey              // when frozen: the patterns…
	ns     []int64                   // …and their counts
	end    Day                       // the last day of the span
	people map[int32]*roaring.Bitmap // participants per form
	latest map[formNew]time.Time     // the newest participation per form and newness
	// summaries are a frozen cell's counts attributed to opt-ins and
	// categories, for the last few scopes (see summary) that queries asked
	// for, newest first; replaced whole, never changed; emptied when the
	// cell thaws.
	summaries atomic.Pointer[[]*summary]
}

// each calls fn with every pattern of the cell and its count.
func (c *cell) each(fn func(patternKey, int64)) {
	for i, k := range c.keys {
		fn(k, c.ns[i])
	}
	for k, n := range c.counts {
		fn(k, n)
	}
}

// freeze moves the counts of a thawed cell into its slices.
func (c *cell) freeze() {
	c.keys, c.ns = make([]patternKey, 0, len(c.counts)), make([]int64, 0, len(c.counts))
	for k, n := range c.counts {
		c.keys, c.ns = append(c.keys, k), append(c.ns, n)
	}
	c.counts = nil
}

// thaw returns the cell's counts as a map, moving them back from the
// slices of a frozen cell, which it lists in a.thawed.
func (a *accountData) thaw(c *cell) map[patternKey]int64 {
	if c.counts == nil {
		c.counts = make(map[patternKey]int64, len(c.keys))
		for i, k := range c.keys {
			c.counts[k] = c.ns[i]
		}
		c.keys, c.ns = nil, nil
		c.summaries.Store(nil)
		a.thawed = append(a.thawed, c)
	}
	return c.counts
}

// freezeBefore freezes the thawed cells whose span ended before day d.
func (a *accountData) freezeBefore(d Day) {
	kept := a.thawed[:0]
	for _, c := range a.thawed {
		if c.end < d {
			c.freeze()
		} else {
			kept = append(kept, c)
		}
	}
	clear(a.thawed[len(kept):])
	a.thawed = kept
}

// formNew keys what a query's scope can tell apart within a cell: which
// form was shown, and whether the participant was new.
type formNew struct {
	form int32
	new  bool
}

func (e *Engine) account(id string) *accountData {
	a := e.accounts[id]
	if a == nil {
		a = &accountData{formIndex: map[string]int32{}, campaigns: map[string]*campaignData{}, days: map[Day]*roaring.Bitmap{},
			months: map[Day]*roaring.Bitmap{}, all: newCampaignData()}
		e.accounts[id] = a
	}
	return a
}

func (a *accountData) form(ids []string) int32 {
	key := strings.Join(ids, " ")
	if f, ok := a.formIndex[key]; ok {
		return f
	}
	f := int32(len(a.forms))
	a.forms = append(a.forms, append([]string(nil), ids...))
	a.formIndex[key] = f
	return f
}

// cells returns the day, week and month cells of a campaign that count a
// participation of day d, creating them when needed.
func (a *accountData) cells(campaign string, d Day) [3]*cell {
	c := a.campaigns[campaign]
	if c == nil {
		c = newCampaignData()
		a.campaigns[campaign] = c
	}
	return [3]*cell{a.cellOf(c.cells, d, levelDay, true), a.cellOf(c.weeks, IntervalWeek.Bucket(d), levelWeek, false),
		a.cellOf(c.months, IntervalMonth.Bucket(d), levelMonth, true)}
}

// allCells returns the account's cells of every campaign together that
// count a participation of day d, creating them when needed.
func (a *accountData) allCells(d Day) [3]*cell {
	c := a.all
	return [3]*cell{a.cellOf(c.cells, d, levelDay, false), a.cellOf(c.weeks, IntervalWeek.Bucket(d), levelWeek, false),
		a.cellOf(c.months, IntervalMonth.Bucket(d), levelMonth, false)}
}

func newCampaignData() *campaignData {
	return &campaignData{cells: map[Day]*cell{}, weeks: map[Day]*cell{}, months: map[Day]*cell{}}
}

// cellOf returns the cell of m for the span of level that starts on d,
// creating it (thawed) when needed; with full false, one that keeps counts
// only.
func (a *accountData) cellOf(m map[Day]*cell, d Day, level int, full bool) *cell {
	x := m[d]
	if x == nil {
		end := d
		switch level {
		case levelWeek:
			end = d + 6
		case levelMonth:
			end = IntervalMonth.Next(d) - 1
		}
		x = &cell{counts: map[patternKey]int64{}, end: end}
		if full {
			x.people, x.latest = map[int32]*roaring.Bitmap{}, map[formNew]time.Time{}
		}
		m[d] = x
		a.thawed = append(a.thawed, x)
	}
	return x
}

// addPerson adds a participant number to the bitmap under k.
func addPerson[K comparable](m map[K]*roaring.Bitmap, k K, seq uint32) {
	bm := m[k]
	if bm == nil {
		bm = roaring.New()
		m[k] = bm
	}
	bm.Add(seq)
}

// Add counts a participation of the account made at time at, whose p.Day
// is the day of at in the account's time zone (a report's newest
// participation is looked for in its last days only). A nil Engine counts
// nothing: a process that never reports (assent import) writes without
// one.
func (e *Engine) Add(accountID string, p Participation, at time.Time) {
	if e != nil {
		e.enqueue(change{account: accountID, p: p, at: at})
	}
}

// SetConfirmed changes which acceptances of a counted participation are
// confirmed: p as it was counted, confirmed as it is now. A nil Engine
// counts nothing.
func (e *Engine) SetConfirmed(accountID string, p Participation, confirmed uint64) {
	if e != nil {
		e.enqueue(change{account: accountID, p: p, confirmed: &confirmed})
	}
}

func (e *Engine) enqueue(c change) {
	e.queueMu.Lock()
	e.queue = append(e.queue, c)
	full := len(e.queue) >= maxQueue
	e.queueMu.Unlock()
	if full {
		e.apply()
	}
}

// apply applies the queued changes, in order.
func (e *Engine) apply() {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	e.queueMu.Lock()
	queue := e.queue
	e.queue = nil
	e.queueMu.Unlock()
	if len(queue) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range queue {
		c := &queue[i]
		if c.confirmed == nil {
			e.add(c.account, c.p, c.at)
		} else {
			e.setConfirmed(c.account, c.p, *c.confirmed)
		}
	}
}

func (e *Engine) add(accountID string, p Participation, at time.Time) {
	a := e.account(accountID)
	if p.Day < a.newest {
		e.unions.forgetAccount(accountID) // they may hold p.Day
	}
	if p.Day > a.newest {
		a.newest = p.Day
		a.freezeBefore(p.Day)
	}
	f := a.form(p.Form)
	k := patternKey{form: f, new: p.New, accepted: p.Accepted, confirmed: p.Confirmed}
	fn := formNew{f, p.New}
	for _, c := range a.cells(p.Campaign, p.Day) {
		a.thaw(c)[k]++
		if c.latest == nil {
			continue // a week: counts only
		}
		if at.After(c.latest[fn]) {
			c.latest[fn] = at
		}
		addPerson(c.people, f, p.Seq)
	}
	for _, c := range a.allCells(p.Day) {
		a.thaw(c)[k]++
	}
	addPerson(a.days, p.Day, p.Seq)
	addPerson(a.months, IntervalMonth.Bucket(p.Day), p.Seq)
}

func (e *Engine) setConfirmed(accountID string, p Participation, confirmed uint64) {
	a := e.account(accountID)
	f := a.form(p.Form)
	old := patternKey{form: f, new: p.New, accepted: p.Accepted, confirmed: p.Confirmed}
	now := old
	now.confirmed = confirmed
	cells := a.cells(p.Campaign, p.Day)
	if a.thaw(cells[0])[old] == 0 {
		return // not counted: nothing to move
	}
	all := a.allCells(p.Day)
	for _, c := range append(cells[:], all[:]...) {
		counts := a.thaw(c)
		if counts[old]--; counts[old] == 0 {
			delete(counts, old)
		}
		counts[now]++
	}
}

// Settle freezes, in every account, the cells whose span ended before the
// newest day counted, as participations coming day after day would have.
// A load that meets participations in another order calls it now and
// then, so that its cells do not all stay maps until it ends.
func (e *Engine) Settle() {
	e.apply()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range e.accounts {
		a.freezeBefore(a.newest)
	}
}

// Adopt replaces the statistics of an account with those counted in from,
// for a rebuild that was counted aside while reports kept being answered.
// The participations counted in from may have come in any order: every
// cell whose span ended before the newest day counted is frozen, as if
// they had come day after day.
func (e *Engine) Adopt(accountID string, from *Engine) {
	from.apply()
	e.apply() // what is queued was counted before the rebuild, and is replaced with the rest
	from.mu.Lock()
	a := from.accounts[accountID]
	if a != nil {
		// A load in the database's order (SQLite keeps participations in
		// campaign order) meets today early, and add freezes only when a
		// later day comes: without this, most cells stayed maps (reports
		// at rest 1.5 to 2 times slower at 1M, 200 MB more heap).
		a.freezeBefore(a.newest)
	}
	from.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.unions.forgetAccount(accountID)
	if a == nil {
		delete(e.accounts, accountID)
		return
	}
	e.accounts[accountID] = a
}
