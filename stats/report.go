package stats

import (
	"sort"
	"time"

	"github.com/assentdev/assent"
)

// Meta names what a report lists: opt-ins, subcategories and campaigns of
// the account, with the current categorisation.
type Meta struct {
	Optins        map[string]OptinMeta
	Subcategories []SubcategoryMeta // in the account's order
	Campaigns     map[string]CampaignMeta
	// catalog, when set by ShareCatalog, is the one Catalog returns.
	catalog *Catalog
}

// OptinMeta describes an opt-in for reports.
type OptinMeta struct {
	Name          string
	Language      string
	DoubleOptin   bool
	Subcategories []string // values
	Categories    []string // keys
}

// SubcategoryMeta describes a subcategory for reports.
type SubcategoryMeta struct {
	Value, Name, Category string
}

// CampaignMeta describes a campaign for reports.
type CampaignMeta struct {
	Name     string
	Language string
	Optins   []string // the form, in order
}

// Catalog returns the categorisation a query applies.
func (m *Meta) Catalog() *Catalog {
	if m.catalog != nil {
		return m.catalog
	}
	return m.newCatalog()
}

// ShareCatalog makes the catalog of a Meta that many reports will read (a
// cached one) once, for Catalog to return: each report then neither builds
// one nor, for its summaries, spells the categorisation out again. m must
// not change afterwards.
func (m *Meta) ShareCatalog() { m.catalog = m.newCatalog() }

func (m *Meta) newCatalog() *Catalog {
	c := &Catalog{Optins: map[string]OptinInfo{}}
	for id, o := range m.Optins {
		c.Optins[id] = OptinInfo{Subcategories: o.Subcategories, Categories: o.Categories}
	}
	return c
}

// Stat is the displays, conversions and rate of SPEC §9.
type Stat struct {
	Displays    int64    `json:"displays"`
	Conversions int64    `json:"conversions"`
	Rate        *float64 `json:"rate"` // conversions / displays; null when nothing was displayed
}

// StatOf turns counts into a Stat.
func StatOf(c *Counts) Stat {
	if c == nil {
		return Stat{}
	}
	return Stat{Displays: c.Displays, Conversions: c.Conversions, Rate: Rate(c.Conversions, c.Displays)}
}

// Rate returns n / d, or nil when d is 0.
func Rate(n, d int64) *float64 {
	if d == 0 {
		return nil
	}
	r := float64(n) / float64(d)
	return &r
}

// Header is what every report says it covers.
type Header struct {
	From     string     `json:"from"`
	To       string     `json:"to"`
	TimeZone string     `json:"time_zone"`
	AsOf     *time.Time `json:"as_of"` // the newest participation the report counts; null when it counts none
	// Recomputing says whether a re-categorisation is still being applied.
	// Categories are applied when a report is read, so it is always false;
	// it is here because clients are promised the flag.
	Recomputing bool `json:"recomputing"`
}

// NewHeader fills a Header; the report's constructor sets AsOf from the
// result it reports.
func NewHeader(from, to Day, timeZone string) Header {
	return Header{From: from.String(), To: to.String(), TimeZone: timeZone}
}

// withAsOf returns h saying that the newest participation counted is of
// time at (none when at is zero).
func (h Header) withAsOf(at time.Time) Header {
	h.AsOf = nil
	if !at.IsZero() {
		t := at.UTC()
		h.AsOf = &t
	}
	return h
}

// OptinStat is one opt-in's line of a report.
type OptinStat struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Stat
	// Confirmed is, for a double opt-in, how many conversions are
	// confirmed; null for other opt-ins.
	Confirmed *int64 `json:"confirmed"`
}

// CategoryStat is one category's line, with its subcategories.
type CategoryStat struct {
	Key  string `json:"key"`
	Name string `json:"name"`
	Stat
	Subcategories []SubcategoryStat `json:"subcategories"`
}

// SubcategoryStat is one subcategory's line.
type SubcategoryStat struct {
	Value string `json:"value"`
	Name  string `json:"name"`
	Stat
}

// SeriesStat is one interval of a series.
type SeriesStat struct {
	Start          string          `json:"start"`
	Participations int64           `json:"participations"`
	Categories     map[string]Stat `json:"categories"`
	// Optins is in the opt-in stats only, where it is always an object,
	// empty for an interval that displayed no opt-in.
	Optins map[string]Stat `json:"optins,omitzero"`
}

// optinStats lists the opt-ins of t: first those of order, then any other
// counted, by name.
func (m *Meta) optinStats(t *Totals, order []string) []OptinStat {
	out := []OptinStat{}
	seen := map[string]bool{}
	add := func(id string) {
		if seen[id] {
			return
		}
		seen[id] = true
		o := m.Optins[id]
		s := OptinStat{ID: id, Name: o.Name, Stat: StatOf(t.Optins[id])}
		if o.DoubleOptin {
			var n int64
			if c := t.Optins[id]; c != nil {
				n = c.Confirmed
			}
			s.Confirmed = &n
		}
		out = append(out, s)
	}
	for _, id := range order {
		add(id)
	}
	var rest []string
	for id := range t.Optins {
		if !seen[id] {
			rest = append(rest, id)
		}
	}
	sort.Slice(rest, func(i, j int) bool {
		a, b := m.Optins[rest[i]], m.Optins[rest[j]]
		return a.Name < b.Name || (a.Name == b.Name && rest[i] < rest[j])
	})
	for _, id := range rest {
		add(id)
	}
	return out
}

// categoryStats lists the four categories, each with its subcategories
// that had displays.
func (m *Meta) categoryStats(t *Totals) []CategoryStat {
	out := make([]CategoryStat, len(assent.Categories))
	for i, c := range assent.Categories {
		out[i] = CategoryStat{Key: c.Key, Name: c.Name, Stat: StatOf(t.Categories[c.Key]), Subcategories: []SubcategoryStat{}}
	}
	for _, sc := range m.Subcategories {
		c := t.Subcategories[sc.Value]
		i := assent.CategoryIndex(sc.Category)
		if c == nil || c.Displays == 0 || i < 0 {
			continue
		}
		out[i].Subcategories = append(out[i].Subcategories, SubcategoryStat{Value: sc.Value, Name: sc.Name, Stat: StatOf(c)})
	}
	return out
}

func seriesStats(points []SeriesPoint, withOptins bool) []SeriesStat {
	out := make([]SeriesStat, len(points))
	for i, p := range points {
		s := SeriesStat{Start: p.Start.String(), Participations: p.Participations, Categories: map[string]Stat{}}
		for _, c := range assent.Categories {
			s.Categories[c.Key] = StatOf(p.Categories[c.Key])
		}
		if withOptins {
			s.Optins = map[string]Stat{}
			for id, c := range p.Optins {
				s.Optins[id] = StatOf(c)
			}
		}
		out[i] = s
	}
	return out
}

// CampaignReport is the campaign dashboard (SPEC §5.3, §9).
type CampaignReport struct {
	CampaignID string `json:"campaign_id"`
	Header
	Interval           Interval       `json:"interval"`
	Participations     int64          `json:"participations"`
	UniqueParticipants int64          `json:"unique_participants"`
	NewParticipants    int64          `json:"new_participants"`
	Optins             []OptinStat    `json:"optins"`
	Categories         []CategoryStat `json:"categories"`
	Series             []SeriesStat   `json:"series"`
}

// NewCampaignReport assembles the dashboard of a campaign from a query
// limited to it.
func (m *Meta) NewCampaignReport(campaignID string, h Header, interval Interval, r Result) CampaignReport {
	return CampaignReport{CampaignID: campaignID, Header: h.withAsOf(r.AsOf), Interval: interval, Participations: r.Participations,
		UniqueParticipants: r.Unique, NewParticipants: r.New, Optins: m.optinStats(&r.Totals, m.Campaigns[campaignID].Optins),
		Categories: m.categoryStats(&r.Totals), Series: seriesStats(r.Series, false)}
}

// Filters are the filters of the opt-in stats, as applied.
type Filters struct {
	Campaign     string `json:"campaign,omitempty"`
	Optin        string `json:"optin,omitempty"`
	Category     string `json:"category,omitempty"`
	Subcategory  string `json:"subcategory,omitempty"`
	Language     string `json:"language,omitempty"`
	Participants string `json:"participants"`
}

// CampaignOptinStat is one line of the opt-ins-by-campaign table.
type CampaignOptinStat struct {
	CampaignID   string `json:"campaign_id"`
	CampaignName string `json:"campaign_name"`
	OptinID      string `json:"optin_id"`
	OptinName    string `json:"optin_name"`
	Stat
}

// OptinReport is the opt-in stats of Insights.
type OptinReport struct {
	Header
	Interval           Interval            `json:"interval"`
	Filters            Filters             `json:"filters"`
	Participations     int64               `json:"participations"`
	UniqueParticipants int64               `json:"unique_participants"`
	NewParticipants    int64               `json:"new_participants"`
	Categories         []CategoryStat      `json:"categories"`
	Optins             []OptinStat         `json:"optins"`
	ByCampaign         []CampaignOptinStat `json:"by_campaign"`
	Series             []SeriesStat        `json:"series"`
}

// Focus returns the opt-ins the filters select, or nil when they select
// every opt-in.
func (m *Meta) Focus(f Filters) map[string]bool {
	if f.Optin == "" && f.Category == "" && f.Subcategory == "" && f.Language == "" {
		return nil
	}
	focus := map[string]bool{}
	for id, o := range m.Optins {
		if (f.Optin == "" || f.Optin == id) && (f.Language == "" || f.Language == o.Language) &&
			(f.Category == "" || contains(o.Categories, f.Category)) &&
			(f.Subcategory == "" || contains(o.Subcategories, f.Subcategory)) {
			focus[id] = true
		}
	}
	return focus
}

// CampaignsOf returns the campaigns the filters select, or nil for all.
func (m *Meta) CampaignsOf(f Filters) map[string]bool {
	if f.Campaign == "" && f.Language == "" {
		return nil
	}
	out := map[string]bool{}
	for id, c := range m.Campaigns {
		if (f.Campaign == "" || f.Campaign == id) && (f.Language == "" || f.Language == c.Language) {
			out[id] = true
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// NewOptinReport assembles the opt-in stats.
func (m *Meta) NewOptinReport(h Header, interval Interval, f Filters, r Result) OptinReport {
	rep := OptinReport{Header: h.withAsOf(r.AsOf), Interval: interval, Filters: f, Participations: r.Participations,
		UniqueParticipants: r.Unique, NewParticipants: r.New, Categories: m.categoryStats(&r.Totals),
		Optins: m.optinStats(&r.Totals, nil), ByCampaign: []CampaignOptinStat{}, Series: seriesStats(r.Series, true)}
	for cid, t := range r.ByCampaign {
		for id, c := range t.Optins {
			rep.ByCampaign = append(rep.ByCampaign, CampaignOptinStat{CampaignID: cid, CampaignName: m.Campaigns[cid].Name,
				OptinID: id, OptinName: m.Optins[id].Name, Stat: StatOf(c)})
		}
	}
	sort.Slice(rep.ByCampaign, func(i, j int) bool {
		a, b := rep.ByCampaign[i], rep.ByCampaign[j]
		if a.CampaignName != b.CampaignName {
			return a.CampaignName < b.CampaignName
		}
		if a.CampaignID != b.CampaignID {
			return a.CampaignID < b.CampaignID
		}
		return a.OptinName < b.OptinName || (a.OptinName == b.OptinName && a.OptinID < b.OptinID)
	})
	return rep
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

// TopCampaignsCount is how many campaigns the global stats rank.
const TopCampaignsCount = 20

// GlobalReport is the account-wide statistics.
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

// NewGlobalReport assembles the global stats.
func (m *Meta) NewGlobalReport(h Header, r Result) GlobalReport {
	marketing := StatOf(r.Categories[assent.CategoryNewsletterMarketing])
	rep := GlobalReport{Header: h.withAsOf(r.AsOf), Participations: r.Participations, UniqueParticipants: r.Unique,
		NewParticipants: r.New, MarketingOptinRate: marketing.Rate, Marketing: marketing,
		Categories: m.categoryStats(&r.Totals), TopCampaigns: []TopCampaign{}}
	for id, t := range r.ByCampaign {
		mk := StatOf(t.Categories[assent.CategoryNewsletterMarketing])
		rep.TopCampaigns = append(rep.TopCampaigns, TopCampaign{ID: id, Name: m.Campaigns[id].Name,
			Participations: t.Participations, MarketingDisplays: mk.Displays, MarketingConversions: mk.Conversions,
			MarketingRate: mk.Rate})
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
	if len(rep.TopCampaigns) > TopCampaignsCount {
		rep.TopCampaigns = rep.TopCampaigns[:TopCampaignsCount]
	}
	return rep
}
