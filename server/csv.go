package server

import (
	"bufio"
	"encoding/csv"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/stats"
)

// wantsCSV reports whether the request asks for format=csv.
func wantsCSV(r *http.Request) bool {
	return r.URL.Query().Get("format") == "csv"
}

// checkFormat refuses a format other than json or csv.
func checkFormat(r *http.Request) error {
	switch r.URL.Query().Get("format") {
	case "", "json", "csv":
		return nil
	}
	return invalidField("format", "must be json or csv")
}

// csvWriter streams CSV rows to the client, flushing every few hundred
// rows, so that an export of any size runs in constant memory. Its buffer
// is larger than encoding/csv's 4 KiB, so that a flush writes a few large
// chunks rather than many small ones.
type csvWriter struct {
	w     *csv.Writer
	flush func()
	n     int
}

func newCSV(w http.ResponseWriter, name string, header []string) *csvWriter {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	c := &csvWriter{w: csv.NewWriter(bufio.NewWriterSize(w, 64<<10)), flush: func() {}}
	if f, ok := w.(http.Flusher); ok {
		c.flush = f.Flush
	}
	c.w.Write(header)
	return c
}

// row writes one row. Cells that a spreadsheet would run as a formula
// (starting with =, +, -, @, tab or carriage return) are quoted with a
// leading apostrophe: names come from public forms.
func (c *csvWriter) row(cells ...string) error {
	for i, v := range cells {
		if v != "" && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r') {
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				cells[i] = "'" + v
			}
		}
	}
	if err := c.w.Write(cells); err != nil {
		return err
	}
	if c.n++; c.n%512 == 0 {
		c.w.Flush()
		c.flush()
	}
	return c.w.Error()
}

func (c *csvWriter) close() error {
	c.w.Flush()
	return c.w.Error()
}

// reportHeader is the header of every statistics export: one row per
// figure, in long format, so that one table holds every part of a report.
var reportHeader = []string{"section", "campaign_id", "id", "name", "start", "participations", "unique_participants",
	"new_participants", "displays", "conversions", "rate", "confirmed"}

// reportRow is one row of a statistics export.
type reportRow struct {
	section, campaignID, id, name, start string
	participations, unique, new          string
	stat                                 *stats.Stat
	confirmed                            *int64
}

func (r reportRow) cells() []string {
	out := []string{r.section, r.campaignID, r.id, r.name, r.start, r.participations, r.unique, r.new, "", "", "", ""}
	if r.stat != nil {
		out[8], out[9], out[10] = itoa(r.stat.Displays), itoa(r.stat.Conversions), rateText(r.stat.Rate)
	}
	if r.confirmed != nil {
		out[11] = itoa(*r.confirmed)
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func rateText(r *float64) string {
	if r == nil {
		return ""
	}
	return strconv.FormatFloat(*r, 'f', -1, 64)
}

func writeCSV(w http.ResponseWriter, name string, rows []reportRow) error {
	c := newCSV(w, name, reportHeader)
	for _, r := range rows {
		if err := c.row(r.cells()...); err != nil {
			return err
		}
	}
	return c.close()
}

func totalRow(p, u, n int64) reportRow {
	return reportRow{section: "total", participations: itoa(p), unique: itoa(u), new: itoa(n)}
}

func categoryRows(cats []stats.CategoryStat) []reportRow {
	var rows []reportRow
	for _, c := range cats {
		rows = append(rows, reportRow{section: "category", id: c.Key, name: c.Name, stat: &c.Stat})
		for _, sc := range c.Subcategories {
			rows = append(rows, reportRow{section: "subcategory", id: sc.Value, name: sc.Name, stat: &sc.Stat})
		}
	}
	return rows
}

func optinRows(optins []stats.OptinStat) []reportRow {
	var rows []reportRow
	for _, o := range optins {
		rows = append(rows, reportRow{section: "optin", id: o.ID, name: o.Name, stat: &o.Stat, confirmed: o.Confirmed})
	}
	return rows
}

func seriesRows(series []stats.SeriesStat) []reportRow {
	var rows []reportRow
	for _, p := range series {
		rows = append(rows, reportRow{section: "series", start: p.Start, participations: itoa(p.Participations)})
		for _, c := range assent.Categories {
			st := p.Categories[c.Key]
			rows = append(rows, reportRow{section: "series_category", id: c.Key, start: p.Start, stat: &st})
		}
		for _, id := range sortedKeys(p.Optins) {
			st := p.Optins[id]
			rows = append(rows, reportRow{section: "series_optin", id: id, start: p.Start, stat: &st})
		}
	}
	return rows
}

func campaignReportRows(r stats.CampaignReport) []reportRow {
	rows := []reportRow{totalRow(r.Participations, r.UniqueParticipants, r.NewParticipants)}
	rows = append(rows, optinRows(r.Optins)...)
	rows = append(rows, categoryRows(r.Categories)...)
	return append(rows, seriesRows(r.Series)...)
}

func optinReportRows(r stats.OptinReport) []reportRow {
	rows := []reportRow{totalRow(r.Participations, r.UniqueParticipants, r.NewParticipants)}
	rows = append(rows, optinRows(r.Optins)...)
	rows = append(rows, categoryRows(r.Categories)...)
	for _, b := range r.ByCampaign {
		rows = append(rows, reportRow{section: "by_campaign", campaignID: b.CampaignID, id: b.OptinID,
			name: b.CampaignName + " / " + b.OptinName, stat: &b.Stat})
	}
	return append(rows, seriesRows(r.Series)...)
}

func globalReportRows(r stats.GlobalReport) []reportRow {
	rows := []reportRow{totalRow(r.Participations, r.UniqueParticipants, r.NewParticipants)}
	rows = append(rows, reportRow{section: "marketing", id: assent.CategoryNewsletterMarketing, stat: &r.Marketing})
	rows = append(rows, categoryRows(r.Categories)...)
	for _, c := range r.TopCampaigns {
		st := stats.Stat{Displays: c.MarketingDisplays, Conversions: c.MarketingConversions, Rate: c.MarketingRate}
		row := reportRow{section: "top_campaign", campaignID: c.ID, name: c.Name, participations: itoa(c.Participations), stat: &st}
		rows = append(rows, row)
	}
	return rows
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func timeText(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
