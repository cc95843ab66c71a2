package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/stats"
)

// The statistics pages of the admin UI: the campaign dashboard, Insights
// (the opt-in stats) and the global stats. Each page computes its report
// with the same function as the JSON API (api_stats.go), and answers
// format=csv with the same export, so that every surface shows one set of
// numbers.

// periodPresets are the named periods the pages offer as links.
var periodPresets = []choice{{"last_7_days", "Last 7 days", ""}, {"last_30_days", "Last 30 days", ""},
	{"last_365_days", "Last 365 days", ""}, {"this_month", "This month", ""}, {"last_month", "Last month", ""},
	{"this_year", "This year", ""}}

// intervalChoices are the intervals of a series.
var intervalChoices = []choice{{string(stats.IntervalDay), "Day", ""}, {string(stats.IntervalWeek), "Week", ""},
	{string(stats.IntervalMonth), "Month", ""}}

// statsLabels name the fields of the period form and of the filters.
// The period (a name) and the format have no field: their problems show
// on top of the page.
var statsLabels = []fieldLabel{{"from", "From"}, {"to", "To"}, {"interval", "Interval"},
	{"campaign", "Campaign"}, {"optin", "Opt-in"}, {"category", "Category"}, {"subcategory", "Subcategory"},
	{"language", "Language"}, {"participants", "Participants"}}

// periodFields are read together: a problem with one drops them all.
var periodFields = []string{"period", "from", "to"}

// presetLink is a link to a named period.
type presetLink struct {
	Label, Href string
	Current     bool
}

// statsControls is what the period bar of a statistics page shows: the
// presets, the custom dates, the interval and the export link.
type statsControls struct {
	Action    string // the page's path
	Presets   []presetLink
	From, To  string // the days covered, YYYY-MM-DD
	Interval  string // empty on pages without a series
	Custom    bool   // the period is from and to, not a preset
	CSV       string
	Intervals []choice
	// What the report covers, for people: the days, the time zone, and
	// the newest participation counted (empty when none).
	TimeZone, AsOfText, AsOfISO string
}

// adminStatsRequest prepares a statistics page's request: without an
// interval, an HTML page picks one that suits the period; when the query
// has problems, they go to the form and the request goes on without the
// fields at fault, so that the page still shows a report. build runs the
// report, and is run again after such a fix.
func (s *Server) adminStatsRequest(r *http.Request, series bool, build func(*http.Request) error) (*http.Request, formView, error) {
	q := r.URL.Query()
	form := newForm(q, statsLabels)
	if wantsCSV(r) {
		return r, form, build(r)
	}
	auto := series && q.Get("interval") == ""
	if auto {
		if sq, _, err := s.statsScope(r); err == nil {
			q.Set("interval", string(autoInterval(sq.From, sq.To)))
			r = withQuery(r, q)
		}
	}
	// Each run names the problems of one stage (the period, then the
	// filters): a few runs clear them all.
	for range 3 {
		err := build(r)
		var e *assent.Error
		if !errors.As(err, &e) || e.Code != assent.EINVALID || len(e.Fields) == 0 {
			return r, form, err
		}
		for field, problem := range e.Fields {
			form.Errors[field] = upperFirst(problem)
			if slices.Contains(periodFields, field) {
				for _, f := range periodFields {
					q.Del(f)
				}
			}
			q.Del(field)
		}
		if _, bad := e.Fields["interval"]; series && (auto || bad) {
			auto = true
			q.Del("interval")
			if sq, _, err := s.statsScope(withQuery(r, q)); err == nil {
				q.Set("interval", string(autoInterval(sq.From, sq.To)))
			}
		}
		r = withQuery(r, q)
	}
	return r, form, build(r)
}

// autoInterval is the interval that gives a period a readable chart:
// days up to two months, weeks up to half a year, months beyond.
func autoInterval(from, to stats.Day) stats.Interval {
	switch n := to - from + 1; {
	case n <= 62:
		return stats.IntervalDay
	case n <= 183:
		return stats.IntervalWeek
	}
	return stats.IntervalMonth
}

func withQuery(r *http.Request, q url.Values) *http.Request {
	r2 := r.Clone(r.Context())
	u := *r.URL
	u.RawQuery = q.Encode()
	r2.URL = &u
	return r2
}

// newStatsControls builds the period bar of the page at path for a report
// covering h, keeping the given filters in every link.
func newStatsControls(r *http.Request, path string, h stats.Header, interval stats.Interval, filters []string) statsControls {
	q := r.URL.Query()
	c := statsControls{Action: path, From: h.From, To: h.To, Interval: string(interval), Intervals: intervalChoices,
		TimeZone: h.TimeZone}
	if h.AsOf != nil {
		loc, err := time.LoadLocation(h.TimeZone)
		if err != nil {
			loc = time.UTC
		}
		c.AsOfText, c.AsOfISO = h.AsOf.In(loc).Format("2 Jan 2006, 15:04"), h.AsOf.UTC().Format(time.RFC3339)
	}
	keep := url.Values{}
	for _, f := range filters {
		if v := q.Get(f); v != "" {
			keep.Set(f, v)
		}
	}
	current := q.Get("period")
	c.Custom = q.Get("from") != "" || q.Get("to") != ""
	if current == "" && !c.Custom {
		current = stats.DefaultPeriod
	}
	for _, p := range periodPresets {
		v := cloneValues(keep)
		v.Set("period", p.Value)
		c.Presets = append(c.Presets, presetLink{Label: p.Label, Href: path + "?" + v.Encode(), Current: !c.Custom && p.Value == current})
	}
	v := cloneValues(keep)
	if c.Custom {
		v.Set("from", h.From)
		v.Set("to", h.To)
	} else {
		v.Set("period", current)
	}
	if interval != "" {
		v.Set("interval", string(interval))
	}
	v.Set("format", "csv")
	c.CSV = path + "?" + v.Encode()
	return c
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// Campaign dashboard

// campaignStatsView is the data of a campaign's dashboard.
type campaignStatsView struct {
	adminPage
	Campaign campaignRow
	Report   stats.CampaignReport
	Controls statsControls
	Chart    chart
}

func (s *Server) adminCampaignStats(w http.ResponseWriter, r *http.Request) error {
	c, err := s.store.Campaign(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	var rep stats.CampaignReport
	r, form, err := s.adminStatsRequest(r, true, func(r *http.Request) (err error) {
		rep, err = s.campaignReport(r, c)
		return err
	})
	if err != nil {
		return err
	}
	if wantsCSV(r) {
		return writeCSV(w, "campaign-"+c.ID+"-stats", campaignReportRows(rep))
	}
	path := "/admin/campaigns/" + url.PathEscape(c.ID) + "/stats"
	v := &campaignStatsView{adminPage: adminPage{Title: c.Name + " · Dashboard", Section: "campaigns", Form: form},
		Campaign: s.campaignRow(c), Report: rep, Controls: newStatsControls(r, path, rep.Header, rep.Interval, nil)}
	v.Chart = seriesChart("chart", "Participations and marketing opt-in rate", rep.Interval, rep.Series,
		func(p stats.SeriesStat) int64 { return p.Participations }, "Participations", assent.CategoryNewsletterMarketing)
	s.adminRender(w, r, http.StatusOK, "campaign_stats", v)
	return nil
}

// Insights

// insightsView is the data of the opt-in stats page.
type insightsView struct {
	adminPage
	Report   stats.OptinReport
	Controls statsControls
	Charts   []chart // one per category
	// The choices of the filters.
	Campaigns, Optins, Categories, Subcategories, Languages []choice
	Filtered                                                bool
}

// ParticipantChoices are the choices of the participants filter.
func (insightsView) ParticipantChoices() []choice {
	return []choice{{"all", "All participants", ""}, {"new", "New participants only", ""}}
}

// insightsFilters are the query parameters of the Insights filters.
var insightsFilters = []string{"campaign", "optin", "category", "subcategory", "language", "participants"}

func (s *Server) adminInsights(w http.ResponseWriter, r *http.Request) error {
	var rep stats.OptinReport
	var meta stats.Meta
	r, form, err := s.adminStatsRequest(r, true, func(r *http.Request) (err error) {
		rep, meta, err = s.optinReport(r)
		return err
	})
	if err != nil {
		return err
	}
	if wantsCSV(r) {
		return writeCSV(w, "optin-stats", optinReportRows(rep))
	}
	v := &insightsView{adminPage: adminPage{Title: "Insights", Section: "insights", Form: form}, Report: rep,
		Controls:   newStatsControls(r, "/admin/insights", rep.Header, rep.Interval, insightsFilters),
		Categories: categoryChoices()}
	for _, f := range insightsFilters {
		if r.URL.Query().Get(f) != "" && f != "participants" || rep.Filters.Participants == "new" {
			v.Filtered = true
		}
	}
	for _, c := range assent.Categories {
		v.Charts = append(v.Charts, seriesChart("chart-"+c.Key, c.Name, rep.Interval, rep.Series,
			func(p stats.SeriesStat) int64 { return p.Categories[c.Key].Conversions }, "Conversions", c.Key))
	}
	languages := map[string]bool{}
	for id, c := range meta.Campaigns {
		v.Campaigns = append(v.Campaigns, choice{Value: id, Label: c.Name})
		languages[c.Language] = true
	}
	for id, o := range meta.Optins {
		v.Optins = append(v.Optins, choice{Value: id, Label: o.Name + " (" + o.Language + ")"})
		languages[o.Language] = true
	}
	for _, sc := range meta.Subcategories {
		cat, _ := assent.CategoryByKey(sc.Category)
		v.Subcategories = append(v.Subcategories, choice{Value: sc.Value, Label: sc.Name, Group: cat.Name})
	}
	for l := range languages {
		v.Languages = append(v.Languages, choice{Value: l, Label: languageLabel(l)})
	}
	for _, list := range [][]choice{v.Campaigns, v.Optins, v.Languages} {
		sort.Slice(list, func(i, j int) bool {
			return list[i].Label < list[j].Label || list[i].Label == list[j].Label && list[i].Value < list[j].Value
		})
	}
	s.adminRender(w, r, http.StatusOK, "insights", v)
	return nil
}

// Global stats

// globalStatsView is the data of the global stats page.
type globalStatsView struct {
	adminPage
	Report   stats.GlobalReport
	Controls statsControls
	// Trend is the global marketing opt-in rate month by month.
	Trend chart
}

func (s *Server) adminGlobalStats(w http.ResponseWriter, r *http.Request) error {
	var rep stats.GlobalReport
	r, form, err := s.adminStatsRequest(r, false, func(r *http.Request) (err error) {
		rep, err = s.globalReport(r)
		return err
	})
	if err != nil {
		return err
	}
	if wantsCSV(r) {
		return writeCSV(w, "global-stats", globalReportRows(rep))
	}
	v := &globalStatsView{adminPage: adminPage{Title: "Global stats", Section: "stats", Form: form}, Report: rep,
		Controls: newStatsControls(r, "/admin/stats", rep.Header, "", nil)}
	// The trend is the opt-in stats of every campaign by month: the same
	// computation, with interval=month, whose marketing category is the
	// global marketing opt-in rate of each month.
	q := r.URL.Query()
	q.Set("interval", string(stats.IntervalMonth))
	for _, f := range insightsFilters {
		q.Del(f)
	}
	monthly, _, err := s.optinReport(withQuery(r, q))
	if err != nil {
		return err
	}
	v.Trend = seriesChart("trend", "Global marketing opt-in rate by month", stats.IntervalMonth, monthly.Series, nil, "",
		assent.CategoryNewsletterMarketing)
	s.adminRender(w, r, http.StatusOK, "global_stats", v)
	return nil
}

// Charts: server-rendered SVG, with the same figures in a table.

// Chart geometry, in the units of the SVG's viewBox.
const (
	chartWidth   = 720
	chartHeight  = 240
	chartLeft    = 52
	chartRight   = 52
	chartTop     = 12
	chartBottom  = 32
	chartMaxTick = 4
)

// chart is a series drawn as bars (a count per interval) and a line (a
// rate per interval, on its own 0–100 % scale), ready for the template.
type chart struct {
	ID, Title, Desc      string
	Width, Height        int
	Left, Right          float64 // the plot's edges
	Top, Bottom          float64
	BarLabel, LineLabel  string
	Bars                 []chartBar
	Lines                []string // polyline points; a null rate breaks the line
	Dots                 []chartPoint
	Ticks, RateTicks     []chartTick // left axis (counts) and right axis (rates)
	XLabels              []chartTick
	Rows                 []chartRow // the data table
	HasBars, Empty       bool
	ValueHeader, RateKey string
}

type chartBar struct {
	X, Y, W, H float64
	Title      string
}

type chartPoint struct {
	X, Y  float64
	Title string
}

type chartTick struct {
	X, Y  float64
	Label string
}

// chartRow is one interval of a chart's data table.
type chartRow struct {
	Label string
	Value int64
	Rate  *float64
}

// seriesChart draws series: value gives the bars (none when nil), the
// rate of the category rateKey gives the line.
func seriesChart(id, title string, interval stats.Interval, series []stats.SeriesStat, value func(stats.SeriesStat) int64,
	valueLabel, rateKey string) chart {
	cat, _ := assent.CategoryByKey(rateKey)
	c := chart{ID: id, Title: title, Width: chartWidth, Height: chartHeight, Left: chartLeft, Right: chartWidth - chartRight,
		Top: chartTop, Bottom: chartHeight - chartBottom, BarLabel: valueLabel, LineLabel: cat.Name + " opt-in rate",
		HasBars: value != nil, ValueHeader: valueLabel}
	if value == nil {
		c.Height, c.Bottom = 160, 160-chartBottom
	}
	n := len(series)
	c.Empty = true
	var maxValue int64
	for _, p := range series {
		row := chartRow{Label: intervalLabel(interval, p.Start), Rate: p.Categories[rateKey].Rate}
		if value != nil {
			row.Value = value(p)
		}
		maxValue = max(maxValue, row.Value)
		if row.Value > 0 || row.Rate != nil {
			c.Empty = false
		}
		c.Rows = append(c.Rows, row)
	}
	if n == 0 {
		return c
	}
	// Counts: a round top, so that the ticks are round numbers.
	top := niceCeil(maxValue)
	step := (c.Right - c.Left) / float64(n)
	height := c.Bottom - c.Top
	for i := 0; i <= chartMaxTick; i++ {
		y := c.Bottom - height*float64(i)/chartMaxTick
		if value != nil {
			c.Ticks = append(c.Ticks, chartTick{X: c.Left - 6, Y: y, Label: formatCount(top * int64(i) / chartMaxTick)})
		}
		c.RateTicks = append(c.RateTicks, chartTick{X: c.Right + 6, Y: y, Label: strconv.Itoa(100*i/chartMaxTick) + "%"})
	}
	var line []string
	every := max(1, (n+7)/8) // at most about eight labels under the axis
	for i, row := range c.Rows {
		x := c.Left + step*float64(i)
		if value != nil && row.Value > 0 {
			h := height * float64(row.Value) / float64(top)
			c.Bars = append(c.Bars, chartBar{X: x + step*0.15, Y: c.Bottom - h, W: step * 0.7, H: h,
				Title: row.Label + ": " + formatCount(row.Value) + " " + strings.ToLower(valueLabel)})
		}
		if i%every == 0 {
			c.XLabels = append(c.XLabels, chartTick{X: x + step/2, Y: c.Bottom + 22, Label: row.Label})
		}
		if row.Rate == nil {
			if len(line) > 0 {
				c.Lines = append(c.Lines, strings.Join(line, " "))
				line = nil
			}
			continue
		}
		px, py := x+step/2, c.Bottom-height**row.Rate
		line = append(line, fmt.Sprintf("%.1f,%.1f", px, py))
		c.Dots = append(c.Dots, chartPoint{X: px, Y: py, Title: row.Label + ": " + formatRate(row.Rate)})
	}
	if len(line) > 0 {
		c.Lines = append(c.Lines, strings.Join(line, " "))
	}
	if value != nil {
		c.Desc = fmt.Sprintf("%s per %s as bars, from 0 to %s, and the %s as a line, from 0 to 100%%, from %s to %s.",
			valueLabel, interval, formatCount(top), strings.ToLower(c.LineLabel), c.Rows[0].Label, c.Rows[n-1].Label)
	} else {
		c.Desc = fmt.Sprintf("The %s per %s as a line, from 0 to 100%%, from %s to %s.", strings.ToLower(c.LineLabel),
			interval, c.Rows[0].Label, c.Rows[n-1].Label)
	}
	return c
}

// niceCeil returns a round number at least n (and at least 4, so that
// four ticks are whole numbers): 1, 2 or 5 times a power of ten, times 4.
func niceCeil(n int64) int64 {
	if n <= chartMaxTick {
		return chartMaxTick
	}
	per := (n + chartMaxTick - 1) / chartMaxTick
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= per {
				return m * p * chartMaxTick
			}
		}
	}
}

// intervalLabel names the interval starting on day (YYYY-MM-DD).
func intervalLabel(interval stats.Interval, day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	switch interval {
	case stats.IntervalMonth:
		return t.Format("Jan 2006")
	case stats.IntervalWeek:
		return "Week of " + t.Format("2 Jan")
	}
	return t.Format("2 Jan")
}

// Formatting for people.

// formatCount writes n with thousands separators: 12,345.
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// formatRate writes a rate as a percentage with one decimal, or "—" when
// there is none (nothing was displayed).
func formatRate(r *float64) string {
	if r == nil {
		return "—"
	}
	return strconv.FormatFloat(*r*100, 'f', 1, 64) + "%"
}

// formatDay writes a day (YYYY-MM-DD) as 25 Nov 2026.
func formatDay(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return t.Format("2 Jan 2006")
}
