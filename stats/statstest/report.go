package statstest

import (
	"net/url"
	"sort"
	"time"

	"github.com/assentdev/assent"
)

// The answer shapes of SPEC §9, declared again here so that an expected
// report owes nothing to the stats package. Their fields are in the order
// the API writes them, so that Diff can compare bytes first.

// Stat is {"displays", "conversions", "rate"}.
type Stat struct {
	Displays    int64    `json:"displays"`
	Conversions int64    `json:"conversions"`
	Rate        *float64 `json:"rate"`
}

// Header is what every report says it covers.
type Header struct {
	From        string     `json:"from"`
	To          string     `json:"to"`
	TimeZone    string     `json:"time_zone"`
	AsOf        *time.Time `json:"as_of"`
	Recomputing bool       `json:"recomputing"`
}

// OptinStat is one opt-in of a report; Confirmed is null but for double
// opt-ins.
type OptinStat struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Stat
	Confirmed *int64 `json:"confirmed"`
}

// CategoryStat is one category with the subcategories it displayed.
type CategoryStat struct {
	Key  string `json:"key"`
	Name string `json:"name"`
	Stat
	Subcategories []SubcategoryStat `json:"subcategories"`
}

// SubcategoryStat is one subcategory.
type SubcategoryStat struct {
	Value string `json:"value"`
	Name  string `json:"name"`
	Stat
}

// SeriesPoint is one interval of a series. Optins is there (maybe empty)
// in the opt-in stats only.
type SeriesPoint struct {
	Start          string           `json:"start"`
	Participations int64            `json:"participations"`
	Categories     map[string]Stat  `json:"categories"`
	Optins         *map[string]Stat `json:"optins,omitempty"`
}

// CampaignReport is the campaign dashboard.
type CampaignReport struct {
	CampaignID string `json:"campaign_id"`
	Header
	Interval           string         `json:"interval"`
	Participations     int64          `json:"participations"`
	UniqueParticipants int64          `json:"unique_participants"`
	NewParticipants    int64          `json:"new_participants"`
	Optins             []OptinStat    `json:"optins"`
	Categories         []CategoryStat `json:"categories"`
	Series             []SeriesPoint  `json:"series"`
}

// Filters are the opt-in stats' filters as the answer repeats them.
type Filters struct {
	Campaign     string `json:"campaign,omitempty"`
	Optin        string `json:"optin,omitempty"`
	Category     string `json:"category,omitempty"`
	Subcategory  string `json:"subcategory,omitempty"`
	Language     string `json:"language,omitempty"`
	Participants string `json:"participants"`
}

// CampaignOptin is one line of the opt-ins-by-campaign table.
type CampaignOptin struct {
	CampaignID   string `json:"campaign_id"`
	CampaignName string `json:"campaign_name"`
	OptinID      string `json:"optin_id"`
	OptinName    string `json:"optin_name"`
	Stat
}

// OptinReport is the opt-in stats (Insights).
type OptinReport struct {
	Header
	Interval           string          `json:"interval"`
	Filters            Filters         `json:"filters"`
	Participations     int64           `json:"participations"`
	UniqueParticipants int64           `json:"unique_participants"`
	NewParticipants    int64           `json:"new_participants"`
	Categories         []CategoryStat  `json:"categories"`
	Optins             []OptinStat     `json:"optins"`
	ByCampaign         []CampaignOptin `json:"by_campaign"`
	Series             []SeriesPoint   `json:"series"`
}

// TopCampaign is one line of the global stats' top campaigns.
type TopCampaign struct {
	ID                   string   `json:"id"`
	Name                 string   `json:"name"`
	Participations       int64    `json:"participations"`
	MarketingDisplays    int64    `json:"marketing_displays"`
	MarketingConversions int64    `json:"marketing_conversions"`
	MarketingRate        *float64 `json:"marketing_rate"`
}

// GlobalReport is the global stats.
type GlobalReport struct {
	Header
	Participations     int64          `json:"participations"`
	UniqueParticipants int64          `json:"unique_participants"`
	NewParticipants    int64          `json:"new_participants"`
	MarketingOptinRate *float64       `json:"marketing_optin_rate"`
	Marketing          Stat           `json:"marketing"`
	Categories         []CategoryStat `json:"categories"`
	TopCampaigns       []TopCampaign  `json:"top_campaigns"`
}

// Request names one report: its kind, its period (a named Period, or From
// and To) and, for the opt-in stats, its filters.
type Request struct {
	Report   string // "campaign", "optins" or "global"
	Campaign string // the campaign of a campaign report
	Period   string
	From, To string
	Interval string // "" is day; the global stats have none
	Filters  Filters
}

// Path is the request's URL on the API.
func (r Request) Path() string {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("period", r.Period)
	set("from", r.From)
	set("to", r.To)
	set("interval", r.Interval)
	path := "/api/v1/stats/global"
	switch r.Report {
	case "campaign":
		path = "/api/v1/campaigns/" + r.Campaign + "/stats"
	case "optins":
		path = "/api/v1/stats/optins"
		set("campaign", r.Filters.Campaign)
		set("optin", r.Filters.Optin)
		set("category", r.Filters.Category)
		set("subcategory", r.Filters.Subcategory)
		set("language", r.Filters.Language)
		set("participants", r.Filters.Participants)
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// PeriodDays returns the first and last day (YYYY-MM-DD) of a named period
// of SPEC §5.2, counted from the day of now in loc.
func PeriodDays(period string, now time.Time, loc *time.Location) (string, string) {
	y, m, d := now.In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	day := func(t time.Time) string { return t.Format(time.DateOnly) }
	switch period {
	case "today":
		return day(today), day(today)
	case "yesterday":
		return day(today.AddDate(0, 0, -1)), day(today.AddDate(0, 0, -1))
	case "last_7_days":
		return day(today.AddDate(0, 0, -6)), day(today)
	case "last_30_days":
		return day(today.AddDate(0, 0, -29)), day(today)
	case "this_month":
		return day(time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)), day(today)
	case "last_month":
		first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		return day(first.AddDate(0, -1, 0)), day(first.AddDate(0, 0, -1))
	case "this_year":
		return day(time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)), day(today)
	}
	return day(today.AddDate(0, 0, -364)), day(today) // last_365_days, the default
}

// counts are the displays, conversions and confirmed conversions of an
// opt-in, a category or a subcategory.
type counts struct{ displays, conversions, confirmed int64 }

func (c *counts) stat() Stat {
	if c == nil {
		return Stat{}
	}
	s := Stat{Displays: c.displays, Conversions: c.conversions}
	if c.displays > 0 {
		r := float64(c.conversions) / float64(c.displays)
		s.Rate = &r
	}
	return s
}

// tally is the figures of SPEC §5.1 over a set of participations, the
// per-opt-in and per-category ones limited to the opt-ins of a focus.
type tally struct {
	participations int64
	people, fresh  map[string]bool // participants; those new in the set
	optins         map[string]*counts
	categories     map[string]*counts
	subcategories  map[string]*counts
}

func (d *Data) tally(ps []*Participation, focus func(optinID string) bool) *tally {
	t := &tally{people: map[string]bool{}, fresh: map[string]bool{}, optins: map[string]*counts{},
		categories: map[string]*counts{}, subcategories: map[string]*counts{}}
	bump := func(m map[string]*counts, k string, accepted, confirmed bool) {
		c := m[k]
		if c == nil {
			c = &counts{}
			m[k] = c
		}
		c.displays++
		if accepted {
			c.conversions++
		}
		if confirmed {
			c.confirmed++
		}
	}
	for _, p := range ps {
		t.participations++
		t.people[p.Participant] = true
		if p.First {
			t.fresh[p.Participant] = true
		}
		// A participation counts once per category (and subcategory): shown
		// if any of its opt-ins was shown, converted if any was accepted.
		catShown, catAccepted := map[string]bool{}, map[string]bool{}
		subShown, subAccepted := map[string]bool{}, map[string]bool{}
		for _, a := range p.Answers {
			if focus != nil && !focus(a.Optin) {
				continue
			}
			bump(t.optins, a.Optin, a.accepted(), a.accepted() && a.Confirmed)
			o := d.Optins[a.Optin]
			for k := range o.Categories {
				catShown[k] = true
				catAccepted[k] = catAccepted[k] || a.accepted()
			}
			for v := range o.Subcategories {
				subShown[v] = true
				subAccepted[v] = subAccepted[v] || a.accepted()
			}
		}
		for k := range catShown {
			bump(t.categories, k, catAccepted[k], false)
		}
		for v := range subShown {
			bump(t.subcategories, v, subAccepted[v], false)
		}
	}
	return t
}

// scope selects the participations of the days from..to (inclusive) that
// pass keep.
func (d *Data) scope(from, to string, keep func(*Participation) bool) []*Participation {
	var out []*Participation
	for _, p := range d.Participations {
		if p.Day >= from && p.Day <= to && keep(p) {
			out = append(out, p)
		}
	}
	return out
}

// showed reports whether p's form showed an opt-in of focus.
func showed(p *Participation, focus func(string) bool) bool {
	for _, a := range p.Answers {
		if focus(a.Optin) {
			return true
		}
	}
	return false
}

// header is what a report over the participations ps says it covers;
// as_of is the newest of ps.
func (d *Data) header(from, to string, ps []*Participation) Header {
	return Header{From: from, To: to, TimeZone: d.TimeZone, AsOf: newest(ps)}
}

// categories lists the four categories in their fixed order, each with
// those of its subcategories (as categorised now) that were displayed.
func (d *Data) categories(t *tally) []CategoryStat {
	out := []CategoryStat{}
	for _, c := range assent.Categories {
		cs := CategoryStat{Key: c.Key, Name: c.Name, Stat: t.categories[c.Key].stat(), Subcategories: []SubcategoryStat{}}
		for _, sc := range d.Subcategories {
			if sc.Category == c.Key && t.subcategories[sc.Value] != nil {
				cs.Subcategories = append(cs.Subcategories, SubcategoryStat{Value: sc.Value, Name: sc.Name,
					Stat: t.subcategories[sc.Value].stat()})
			}
		}
		out = append(out, cs)
	}
	return out
}

// optins lists first the opt-ins of order, then every other one displayed,
// by name.
func (d *Data) optins(t *tally, order []string) []OptinStat {
	out := []OptinStat{}
	listed := map[string]bool{}
	var rest []string
	for id := range t.optins {
		if !contains(order, id) {
			rest = append(rest, id)
		}
	}
	sort.Slice(rest, func(i, j int) bool {
		a, b := d.Optins[rest[i]], d.Optins[rest[j]]
		return a.Name < b.Name || (a.Name == b.Name && a.ID < b.ID)
	})
	for _, id := range append(append([]string(nil), order...), rest...) {
		if listed[id] {
			continue
		}
		listed[id] = true
		o := d.Optins[id]
		s := OptinStat{ID: id, Name: o.Name, Stat: t.optins[id].stat()}
		if o.Double {
			var n int64
			if c := t.optins[id]; c != nil {
				n = c.confirmed
			}
			s.Confirmed = &n
		}
		out = append(out, s)
	}
	return out
}

// buckets returns the first day of every interval from the one holding
// from to the one holding to; weeks start on Monday.
func buckets(from, to, interval string) []string {
	start := func(day string) time.Time {
		t, _ := time.Parse(time.DateOnly, day)
		switch interval {
		case "week":
			return t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
		case "month":
			return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		}
		return t
	}
	var out []string
	end, _ := time.Parse(time.DateOnly, to)
	for b := start(from); !b.After(end); {
		out = append(out, b.Format(time.DateOnly))
		switch interval {
		case "week":
			b = b.AddDate(0, 0, 7)
		case "month":
			b = b.AddDate(0, 1, 0)
		default:
			b = b.AddDate(0, 0, 1)
		}
	}
	return out
}

// series splits ps by interval, each point with its four categories and,
// when withOptins, the focus opt-ins it displayed.
func (d *Data) series(ps []*Participation, from, to, interval string, focus func(string) bool, withOptins bool) []SeriesPoint {
	starts := buckets(from, to, interval)
	out := []SeriesPoint{}
	for i, s := range starts {
		var in []*Participation
		for _, p := range ps {
			if p.Day >= s && (i+1 == len(starts) || p.Day < starts[i+1]) {
				in = append(in, p)
			}
		}
		t := d.tally(in, focus)
		pt := SeriesPoint{Start: s, Participations: t.participations, Categories: map[string]Stat{}}
		for _, c := range assent.Categories {
			pt.Categories[c.Key] = t.categories[c.Key].stat()
		}
		if withOptins {
			m := map[string]Stat{}
			for id, c := range t.optins {
				m[id] = c.stat()
			}
			pt.Optins = &m
		}
		out = append(out, pt)
	}
	return out
}

// Expect returns the report r should answer, given the clock's now for
// named periods.
func (d *Data) Expect(r Request, now time.Time) any {
	from, to := r.From, r.To
	if from == "" && to == "" {
		from, to = PeriodDays(r.Period, now, d.Loc)
	}
	interval := r.Interval
	if interval == "" {
		interval = "day"
	}
	switch r.Report {
	case "campaign":
		return d.CampaignReport(r.Campaign, from, to, interval)
	case "optins":
		return d.OptinReport(from, to, interval, r.Filters)
	}
	return d.GlobalReport(from, to)
}

// CampaignReport recounts a campaign's dashboard.
func (d *Data) CampaignReport(campaignID, from, to, interval string) CampaignReport {
	ps := d.scope(from, to, func(p *Participation) bool { return p.Campaign == campaignID })
	t := d.tally(ps, nil)
	return CampaignReport{CampaignID: campaignID, Header: d.header(from, to, ps), Interval: interval,
		Participations: t.participations, UniqueParticipants: int64(len(t.people)), NewParticipants: int64(len(t.fresh)),
		Optins: d.optins(t, d.Campaigns[campaignID].Form), Categories: d.categories(t),
		Series: d.series(ps, from, to, interval, nil, false)}
}

// OptinReport recounts the opt-in stats. The filters on opt-ins (optin,
// category, subcategory, language) select the focus opt-ins: a
// participation is in scope when its form showed one of them, and only
// they count in the per-opt-in and per-category figures. The campaign and
// language filters select campaigns; participants=new keeps the
// participations that were their participant's first.
func (d *Data) OptinReport(from, to, interval string, f Filters) OptinReport {
	if f.Participants == "" {
		f.Participants = "all"
	}
	if f.Language != "" {
		if tag, err := assent.CanonicalLanguage(f.Language); err == nil {
			f.Language = tag
		}
	}
	var focus func(string) bool
	if f.Optin != "" || f.Category != "" || f.Subcategory != "" || f.Language != "" {
		focus = func(id string) bool {
			o := d.Optins[id]
			return (f.Optin == "" || f.Optin == id) && (f.Language == "" || f.Language == o.Language) &&
				(f.Category == "" || o.Categories[f.Category]) && (f.Subcategory == "" || o.Subcategories[f.Subcategory])
		}
	}
	ps := d.scope(from, to, func(p *Participation) bool {
		c := d.Campaigns[p.Campaign]
		return (f.Campaign == "" || f.Campaign == c.ID) && (f.Language == "" || f.Language == c.Language) &&
			(f.Participants != "new" || p.First) && (focus == nil || showed(p, focus))
	})
	t := d.tally(ps, focus)
	rep := OptinReport{Header: d.header(from, to, ps), Interval: interval, Filters: f, Participations: t.participations,
		UniqueParticipants: int64(len(t.people)), NewParticipants: int64(len(t.fresh)), Categories: d.categories(t),
		Optins: d.optins(t, nil), ByCampaign: []CampaignOptin{}, Series: d.series(ps, from, to, interval, focus, true)}
	byCampaign := map[string][]*Participation{}
	for _, p := range ps {
		byCampaign[p.Campaign] = append(byCampaign[p.Campaign], p)
	}
	for cid, list := range byCampaign {
		for id, c := range d.tally(list, focus).optins {
			rep.ByCampaign = append(rep.ByCampaign, CampaignOptin{CampaignID: cid, CampaignName: d.Campaigns[cid].Name,
				OptinID: id, OptinName: d.Optins[id].Name, Stat: c.stat()})
		}
	}
	sort.Slice(rep.ByCampaign, func(i, j int) bool {
		a, b := rep.ByCampaign[i], rep.ByCampaign[j]
		if a.CampaignName != b.CampaignName || a.CampaignID != b.CampaignID {
			return a.CampaignName < b.CampaignName || (a.CampaignName == b.CampaignName && a.CampaignID < b.CampaignID)
		}
		return a.OptinName < b.OptinName || (a.OptinName == b.OptinName && a.OptinID < b.OptinID)
	})
	return rep
}

// TopCampaigns is how many campaigns the global stats rank.
const TopCampaigns = 20

// GlobalReport recounts the global stats: the marketing rate is the
// newsletter_marketing category's over every campaign; campaigns rank by
// marketing conversions, then participations, then name.
func (d *Data) GlobalReport(from, to string) GlobalReport {
	ps := d.scope(from, to, func(*Participation) bool { return true })
	t := d.tally(ps, nil)
	marketing := t.categories[assent.CategoryNewsletterMarketing].stat()
	rep := GlobalReport{Header: d.header(from, to, ps), Participations: t.participations,
		UniqueParticipants: int64(len(t.people)), NewParticipants: int64(len(t.fresh)),
		MarketingOptinRate: marketing.Rate, Marketing: marketing, Categories: d.categories(t),
		TopCampaigns: []TopCampaign{}}
	byCampaign := map[string][]*Participation{}
	for _, p := range ps {
		byCampaign[p.Campaign] = append(byCampaign[p.Campaign], p)
	}
	for cid, list := range byCampaign {
		m := d.tally(list, nil).categories[assent.CategoryNewsletterMarketing].stat()
		rep.TopCampaigns = append(rep.TopCampaigns, TopCampaign{ID: cid, Name: d.Campaigns[cid].Name,
			Participations: int64(len(list)), MarketingDisplays: m.Displays, MarketingConversions: m.Conversions,
			MarketingRate: m.Rate})
	}
	sort.Slice(rep.TopCampaigns, func(i, j int) bool {
		a, b := rep.TopCampaigns[i], rep.TopCampaigns[j]
		if a.MarketingConversions != b.MarketingConversions {
			return a.MarketingConversions > b.MarketingConversions
		}
		if a.Participations != b.Participations {
			return a.Participations > b.Participations
		}
		return a.Name < b.Name || (a.Name == b.Name && a.ID < b.ID)
	})
	if len(rep.TopCampaigns) > TopCampaigns {
		rep.TopCampaigns = rep.TopCampaigns[:TopCampaigns]
	}
	return rep
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
