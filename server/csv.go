package server

import (
	"bufio"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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

// csvWriter streams CSV rows to the client, as encoding/csv writes them
// (RFC 4180, quoted only where needed, lines ending in \n), flushing every
// few hundred rows, so that an export of any size runs in constant memory.
// A row's cells are appended to one reused line, numbers and times without
// a string in between: formatting cell by cell through encoding/csv, with a
// string and a slice for each row, took a third of a report export's time
// and made most of its garbage.
type csvWriter struct {
	w     *bufio.Writer
	flush func()
	line  []byte
	open  bool // the line has a cell already
	n     int
}

func newCSV(w http.ResponseWriter, name string, header []string) *csvWriter {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	c := &csvWriter{w: bufio.NewWriterSize(w, 64<<10), flush: func() {}}
	if f, ok := w.(http.Flusher); ok {
		c.flush = f.Flush
	}
	c.row(header...)
	return c
}

// next starts a cell.
func (c *csvWriter) next() {
	if c.open {
		c.line = append(c.line, ',')
	}
	c.open = true
}

// text adds a cell of text. A cell that a spreadsheet would run as a
// formula (starting with =, +, -, @, tab or carriage return, and not a
// number) gets a leading apostrophe: names come from public forms.
func (c *csvWriter) text(v string) {
	c.next()
	if v != "" && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r') {
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			v = "'" + v
		}
	}
	if !needsQuotes(v) {
		c.line = append(c.line, v...)
		return
	}
	c.line = append(c.line, '"')
	c.line = appendQuoted(c.line, v)
}

// int adds a cell holding n.
func (c *csvWriter) int(n int64) {
	c.next()
	c.line = strconv.AppendInt(c.line, n, 10)
}

// float adds a cell holding f, in its shortest exact form.
func (c *csvWriter) float(f float64) {
	c.next()
	c.line = strconv.AppendFloat(c.line, f, 'f', -1, 64)
}

// bool adds a cell holding true or false.
func (c *csvWriter) bool(b bool) {
	c.next()
	c.line = strconv.AppendBool(c.line, b)
}

// time adds a cell holding t in UTC, as RFC 3339 with the fraction of a
// second it has (as the JSON API gives it).
func (c *csvWriter) time(t time.Time) {
	c.next()
	c.line = t.UTC().AppendFormat(c.line, time.RFC3339Nano)
}

// end ends the row.
func (c *csvWriter) end() error {
	c.line = append(c.line, '\n')
	_, err := c.w.Write(c.line)
	c.line, c.open = c.line[:0], false
	if c.n++; err == nil && c.n%512 == 0 {
		err = c.w.Flush()
		c.flush()
	}
	return err
}

// row writes a row of text cells.
func (c *csvWriter) row(cells ...string) error {
	for _, v := range cells {
		c.text(v)
	}
	return c.end()
}

func (c *csvWriter) close() error {
	return c.w.Flush()
}

// needsQuotes reports whether a cell must be quoted, by encoding/csv's
// rule: it holds a comma, a quote or a line break, begins with a space, or
// is \. (which some readers take for the end of the data).
func needsQuotes(v string) bool {
	if v == "" {
		return false
	}
	if v == `\.` || strings.ContainsAny(v, ",\"\r\n") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(v)
	return unicode.IsSpace(r)
}

// appendQuoted appends v with its quotes doubled, then the closing quote.
func appendQuoted(dst []byte, v string) []byte {
	for {
		i := strings.IndexByte(v, '"')
		if i < 0 {
			break
		}
		dst = append(dst, v[:i+1]...)
		dst = append(dst, '"')
		v = v[i+1:]
	}
	dst = append(dst, v...)
	return append(dst, '"')
}

// reportHeader is the header of every statistics export: one row per
// figure, in long format, so that one table holds every part of a report.
var reportHeader = []string{"section", "campaign_id", "id", "name", "start", "participations", "unique_participants",
	"new_participants", "displays", "conversions", "rate", "confirmed"}

// reportRow is one row of a statistics export.
type reportRow struct {
	section, campaignID, id, name, start string
	participations, unique, new          string
	stat                                 stats.Stat
	counted                              bool // stat holds the row's displays, conversions and rate
	confirmed                            *int64
}

// write writes the row to c.
func (r *reportRow) write(c *csvWriter) error {
	for _, v := range [...]string{r.section, r.campaignID, r.id, r.name, r.start, r.participations, r.unique, r.new} {
		c.text(v)
	}
	switch {
	case !r.counted:
		c.text("")
		c.text("")
		c.text("")
	case r.stat.Rate == nil:
		c.int(r.stat.Displays)
		c.int(r.stat.Conversions)
		c.text("")
	default:
		c.int(r.stat.Displays)
		c.int(r.stat.Conversions)
		c.float(*r.stat.Rate)
	}
	if r.confirmed != nil {
		c.int(*r.confirmed)
	} else {
		c.text("")
	}
	return c.end()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func writeCSV(w http.ResponseWriter, name string, rows []reportRow) error {
	c := newCSV(w, name, reportHeader)
	for i := range rows {
		if err := rows[i].write(c); err != nil {
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
		rows = append(rows, reportRow{section: "category", id: c.Key, name: c.Name, stat: c.Stat, counted: true})
		for _, sc := range c.Subcategories {
			rows = append(rows, reportRow{section: "subcategory", id: sc.Value, name: sc.Name, stat: sc.Stat, counted: true})
		}
	}
	return rows
}

func optinRows(optins []stats.OptinStat) []reportRow {
	var rows []reportRow
	for _, o := range optins {
		rows = append(rows, reportRow{section: "optin", id: o.ID, name: o.Name, stat: o.Stat, counted: true,
			confirmed: o.Confirmed})
	}
	return rows
}

func seriesRows(series []stats.SeriesStat) []reportRow {
	var rows []reportRow
	for _, p := range series {
		rows = append(rows, reportRow{section: "series", start: p.Start, participations: itoa(p.Participations)})
		for _, c := range assent.Categories {
			st := p.Categories[c.Key]
			rows = append(rows, reportRow{section: "series_category", id: c.Key, start: p.Start, stat: st, counted: true})
		}
		for _, id := range sortedKeys(p.Optins) {
			st := p.Optins[id]
			rows = append(rows, reportRow{section: "series_optin", id: id, start: p.Start, stat: st, counted: true})
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
			name: b.CampaignName + " / " + b.OptinName, stat: b.Stat, counted: true})
	}
	return append(rows, seriesRows(r.Series)...)
}

func globalReportRows(r stats.GlobalReport) []reportRow {
	rows := []reportRow{totalRow(r.Participations, r.UniqueParticipants, r.NewParticipants)}
	rows = append(rows, reportRow{section: "marketing", id: assent.CategoryNewsletterMarketing, stat: r.Marketing,
		counted: true})
	rows = append(rows, categoryRows(r.Categories)...)
	for _, c := range r.TopCampaigns {
		st := stats.Stat{Displays: c.MarketingDisplays, Conversions: c.MarketingConversions, Rate: c.MarketingRate}
		row := reportRow{section: "top_campaign", campaignID: c.ID, name: c.Name, participations: itoa(c.Participations),
			stat: st, counted: true}
		rows = append(rows, row)
	}
	return rows
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
