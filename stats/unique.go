package stats

import (
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
)

// A report that picks campaigns or opt-ins counts its unique participants
// by uniting the bitmaps of every cell and form it covers: thousands over
// a year at 10M participations, most of a filtered report's time. Yet
// only the newest day's cells take participations as they come: the
// union over the days before it stays what it was until a participation
// of one of those days is counted late (an import of the past, another
// process's participations caught up with). So the engine remembers, for
// the last few filters and periods that reports asked for, the union of
// their days before the account's newest, as a dense bitset; a report of
// the same filters and days unites that with the newer days' bitmaps only.
// A late participation forgets every union of its account.

// maxUnions and maxUnionWords bound the unions the engine remembers, all
// accounts together: by number, and by their size (8 bytes a word, one bit
// per participant number: 412 KB each at 3.3 million participants).
const (
	maxUnions     = 64
	maxUnionWords = 16 << 20 // 128 MiB
)

// unions are the unions of participants the engine remembers. Reports put
// them under the engine's read lock, hence their own.
type unions struct {
	mu      sync.Mutex
	entries map[unionID]*union
	words   int    // the entries' size, in words
	clock   uint64 // counts uses, to forget the least recently used
}

// unionID names a remembered union: its account, and unionKey.
type unionID struct{ account, key string }

// union is one remembered union: its members as a dense bitset, and how
// many they are.
type union struct {
	set   []uint64
	count int64
	used  uint64
}

// get returns the union of account remembered under key and its count, or
// nil. The set must not be changed.
func (u *unions) get(account, key string) ([]uint64, int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	x := u.entries[unionID{account, key}]
	if x == nil {
		return nil, 0
	}
	u.clock++
	x.used = u.clock
	return x.set, x.count
}

// put remembers set, of count members, as account's union under key,
// forgetting the least recently used unions when there are too many.
func (u *unions) put(account, key string, set []uint64, count int64) {
	if len(set) > maxUnionWords {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.entries == nil {
		u.entries = map[unionID]*union{}
	}
	id := unionID{account, key}
	u.forget(id)
	for len(u.entries) >= maxUnions || u.words+len(set) > maxUnionWords {
		var oldest unionID
		var at uint64
		first := true
		for id, x := range u.entries {
			if first || x.used < at {
				oldest, at, first = id, x.used, false
			}
		}
		u.forget(oldest)
	}
	u.clock++
	u.entries[id] = &union{set: set, count: count, used: u.clock}
	u.words += len(set)
}

// forgetAccount forgets every union of account: a participation of a day
// they hold came, or the account's statistics were replaced.
func (u *unions) forgetAccount(account string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for id := range u.entries {
		if id.account == account {
			u.forget(id)
		}
	}
}

func (u *unions) forget(id unionID) {
	if x := u.entries[id]; x != nil {
		u.words -= len(x.set)
		delete(u.entries, id)
	}
}

// unionKey names the union of a query's participants from its first day to
// day to: the campaigns and opt-ins it picks, and the days. Whatever
// spans a query reads them in (a month whole, or day by day), the
// participants of those days are the same.
func unionKey(q *Query, to Day) string {
	var b strings.Builder
	list := func(m map[string]bool) {
		if m == nil {
			b.WriteString("*")
			return
		}
		ids := make([]string, 0, len(m))
		for id, in := range m {
			if in {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		b.WriteString(strings.Join(ids, ","))
	}
	list(q.Campaigns)
	b.WriteString("|")
	list(q.Focus)
	b.WriteString("|" + strconv.Itoa(int(q.From)) + "|" + strconv.Itoa(int(to)))
	return b.String()
}

// end returns the last day of a span.
func (s span) end() Day {
	switch s.level {
	case levelWeek:
		return s.start + 6
	case levelMonth:
		return IntervalMonth.Next(s.start) - 1
	}
	return s.start
}

// denseUnion sets the members of people in a dense bitset of at least
// words words, made in room when it is large enough, and returns it: a few
// large bitmaps (the account's per month) are united by roaring first,
// many small ones (per cell and form) set member by member.
func (e *Engine) denseUnion(people []*roaring.Bitmap, words int, room []uint64) []uint64 {
	if len(people) < e.denseFrom {
		if len(people) == 0 {
			return zeros(room, words)
		}
		u := people[0] // only read
		if len(people) > 1 {
			u = roaring.FastOr(people...)
		}
		set := zeros(room, max(words, int(u.DenseSize())))
		u.WriteDenseTo(set) // into zeros: its bitmap containers' words may be copied over
		return set
	}
	var top uint32
	for _, bm := range people {
		if !bm.IsEmpty() {
			top = max(top, bm.Maximum())
		}
	}
	set := zeros(room, max(words, int(top/64)+1))
	addMembers(set, people)
	return set
}

// zeros returns n words of zeros, in room when it is large enough.
func zeros(room []uint64, n int) []uint64 {
	if cap(room) < n {
		return make([]uint64, n)
	}
	set := room[:n]
	clear(set)
	return set
}

// beyond counts the participants of people that known does not hold, each
// once: a report's newer days beside its remembered union. It sets them in
// a bitset reused from report to report: made afresh for each report (412
// KB at 3.3 million participants), its clearing alone took 4% of the
// reports' CPU at 10M.
func (e *Engine) beyond(people []*roaring.Bitmap, known []uint64) int64 {
	if len(people) == 0 {
		return 0
	}
	room, _ := e.rooms.Get().(*[]uint64)
	if room == nil {
		room = new([]uint64)
	}
	set := e.denseUnion(people, 0, *room)
	n := 0
	for i, w := range set {
		if i < len(known) {
			w &^= known[i]
		}
		n += bits.OnesCount64(w)
	}
	*room = set
	e.rooms.Put(room)
	return int64(n)
}

// addMembers sets the members of people in set, which is large enough.
func addMembers(set []uint64, people []*roaring.Bitmap) {
	// Each bitmap's members are copied out, container by container, into
	// one reused slice: a fifth faster than an iterator (BenchmarkUnite),
	// which sets itself up again for every container, and the bitmaps are
	// small and spread over all the participants' numbers.
	var members []uint32
	for _, bm := range people {
		n := int(bm.GetCardinality())
		if cap(members) < n {
			members = make([]uint32, n)
		}
		members = members[:n]
		bm.ToExistingArray(&members)
		for _, v := range members {
			set[v>>6] |= 1 << (v & 63)
		}
	}
}

// ones counts the bits set in set.
func ones(set []uint64) int64 {
	n := 0
	for _, w := range set {
		n += bits.OnesCount64(w)
	}
	return int64(n)
}
