package statstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/stats"
	"github.com/assentdev/assent/store"
)

// maxDiffs bounds how many differences Diff lists.
const maxDiffs = 12

// Diff compares a JSON answer with the expected value, field by field, as
// JSON: a missing or extra field, a 0 for a null, a list in another order
// all count. It returns one "path: got X, want Y" line per difference, or
// nothing when they are equal.
func Diff(got []byte, want any) []string {
	raw, err := json.Marshal(want)
	if err != nil {
		return []string{fmt.Sprintf("expected value does not marshal: %v", err)}
	}
	// The expected types list their fields in the answers' order, so that
	// equal reports are most often equal bytes (once both escape HTML the
	// same way), which is quick to see.
	var escaped bytes.Buffer
	json.HTMLEscape(&escaped, bytes.TrimSpace(got))
	if bytes.Equal(escaped.Bytes(), raw) {
		return nil
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		return []string{fmt.Sprintf("answer is not JSON: %v: %.200s", err, got)}
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return []string{err.Error()}
	}
	var out []string
	walk("$", g, w, &out)
	return out
}

func walk(path string, got, want any, out *[]string) {
	if len(*out) >= maxDiffs {
		return
	}
	add := func(p string, g, w any) {
		if len(*out) < maxDiffs {
			*out = append(*out, fmt.Sprintf("%s: got %s, want %s", p, show(g), show(w)))
		}
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			add(path, got, want)
			return
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range keys {
				if !yield(k) {
					return
				}
			}
		}) {
			gv, gok := g[k]
			wv, wok := w[k]
			switch {
			case !gok:
				add(path+"."+k, "(absent)", wv)
			case !wok:
				add(path+"."+k, gv, "(absent)")
			default:
				walk(path+"."+k, gv, wv, out)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			add(path, got, want)
			return
		}
		if len(g) != len(w) {
			add(path+" length", len(g), len(w))
		}
		for i := 0; i < len(g) && i < len(w); i++ {
			walk(fmt.Sprintf("%s[%d]", path, i), g[i], w[i], out)
		}
	default:
		if !reflect.DeepEqual(got, want) {
			add(path, got, want)
		}
	}
}

func show(v any) string {
	if s, ok := v.(string); ok && s == "(absent)" {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// Direct computes a report the way its handler does, without HTTP: the
// account's period in its time zone, StatsMeta, the engine's Query and the
// report's constructor. It returns the report as JSON.
func Direct(st *store.Store, accountID string, r Request) ([]byte, error) {
	ctx := context.Background()
	a, err := st.Account(ctx, accountID)
	if err != nil {
		return nil, err
	}
	loc, err := st.Location(ctx, accountID)
	if err != nil {
		return nil, err
	}
	from, to, err := stats.ParsePeriod(r.Period, r.From, r.To, st.Now(), loc)
	if err != nil {
		return nil, err
	}
	interval, err := stats.ParseInterval(r.Interval)
	if err != nil {
		return nil, err
	}
	h := stats.NewHeader(from, to, a.TimeZone)
	q := stats.Query{From: from, To: to, Interval: interval}
	meta, err := st.StatsMeta(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var rep any
	switch r.Report {
	case "campaign":
		q.Campaigns = map[string]bool{r.Campaign: true}
		rep = meta.NewCampaignReport(r.Campaign, h, q.Interval, st.Stats.Query(accountID, meta.Catalog(), q))
	case "optins":
		f := stats.Filters{Campaign: r.Filters.Campaign, Optin: r.Filters.Optin, Category: r.Filters.Category,
			Subcategory: r.Filters.Subcategory, Language: r.Filters.Language, Participants: r.Filters.Participants}
		if f.Participants == "" {
			f.Participants = "all"
		}
		if f.Language != "" {
			if f.Language, err = assent.CanonicalLanguage(f.Language); err != nil {
				return nil, err
			}
		}
		q.Campaigns, q.Focus, q.NewOnly = meta.CampaignsOf(f), meta.Focus(f), f.Participants == "new"
		rep = meta.NewOptinReport(h, q.Interval, f, st.Stats.Query(accountID, meta.Catalog(), q))
	default:
		q.Interval = ""
		rep = meta.NewGlobalReport(h, st.Stats.Query(accountID, meta.Catalog(), q))
	}
	return json.Marshal(rep)
}

// Requests returns a varied list of reports of the account: every
// campaign's dashboard, the opt-in stats unfiltered, under each filter and
// for new participants only, and the global stats, over periods drawn by
// pick (which returns an index below its argument) between the days first
// and last, with every interval.
func (d *Data) Requests(first, last string, pick func(int) int) []Request {
	day := func() string {
		f := mustDay(first)
		n := int(mustDay(last).Sub(f).Hours()/24) + 3
		return f.AddDate(0, 0, pick(n)-1).Format("2006-01-02")
	}
	period := func() (string, string) {
		switch pick(4) {
		case 0: // all of it
			return mustDay(first).AddDate(0, 0, -1).Format("2006-01-02"), mustDay(last).AddDate(0, 0, 1).Format("2006-01-02")
		case 1: // one day
			x := day()
			return x, x
		}
		a, b := day(), day()
		if b < a {
			a, b = b, a
		}
		return a, b
	}
	intervals := []string{"", "day", "week", "month"}
	var out []Request
	campaigns := sortedKeys(d.Campaigns)
	for _, c := range campaigns {
		from, to := period()
		out = append(out, Request{Report: "campaign", Campaign: c, From: from, To: to, Interval: intervals[pick(4)]})
	}
	optins := sortedKeys(d.Optins)
	var values []string
	for _, sc := range d.Subcategories {
		values = append(values, sc.Value)
	}
	filters := []Filters{{}, {Participants: "new"}}
	for i := 0; i < 2; i++ {
		filters = append(filters,
			Filters{Campaign: campaigns[pick(len(campaigns))]},
			Filters{Optin: optins[pick(len(optins))]},
			Filters{Category: assent.Categories[pick(len(assent.Categories))].Key},
			Filters{Subcategory: values[pick(len(values))]},
			Filters{Language: []string{"en", "fr", "FR"}[pick(3)]},
			Filters{Category: assent.Categories[pick(len(assent.Categories))].Key, Participants: "new",
				Campaign: campaigns[pick(len(campaigns))]},
			Filters{Language: "en", Subcategory: values[pick(len(values))], Participants: []string{"all", "new"}[pick(2)]},
		)
	}
	for _, f := range filters {
		from, to := period()
		out = append(out, Request{Report: "optins", From: from, To: to, Interval: intervals[pick(4)], Filters: f})
	}
	// The global stats of everything, where most campaigns compete for the
	// top 20.
	out = append(out, Request{Report: "global", From: mustDay(first).AddDate(0, 0, -1).Format("2006-01-02"),
		To: mustDay(last).AddDate(0, 0, 1).Format("2006-01-02")})
	for i := 0; i < 3; i++ {
		from, to := period()
		out = append(out, Request{Report: "global", From: from, To: to})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
