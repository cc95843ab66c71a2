package stats

import (
	"testing"
	"time"

	"github.com/assentdev/assent"
)

func TestParsePeriod(t *testing.T) {
	t.Parallel()
	kolkata, _ := time.LoadLocation("Asia/Kolkata") // UTC+5:30
	// 20:00 UTC on 31 Dec 2026 is already 1 Jan 2027 in Kolkata.
	now := time.Date(2026, 12, 31, 20, 0, 0, 0, time.UTC)
	tests := []struct {
		period, from, to string
		loc              *time.Location
		want             string // "from to", or "error FIELD"
	}{
		{"today", "", "", time.UTC, "2026-12-31 2026-12-31"},
		{"today", "", "", kolkata, "2027-01-01 2027-01-01"},
		{"yesterday", "", "", kolkata, "2026-12-31 2026-12-31"},
		{"last_7_days", "", "", time.UTC, "2026-12-25 2026-12-31"},
		{"last_30_days", "", "", time.UTC, "2026-12-02 2026-12-31"},
		{"this_month", "", "", kolkata, "2027-01-01 2027-01-01"},
		{"last_month", "", "", kolkata, "2026-12-01 2026-12-31"},
		{"last_month", "", "", time.UTC, "2026-11-01 2026-11-30"},
		{"this_year", "", "", time.UTC, "2026-01-01 2026-12-31"},
		{"", "", "", time.UTC, "2026-01-01 2026-12-31"},
		{"last_365_days", "", "", time.UTC, "2026-01-01 2026-12-31"},
		{"", "2026-03-01", "2026-03-31", time.UTC, "2026-03-01 2026-03-31"},
		{"", "2026-03-31", "2026-03-01", time.UTC, "error to"},
		{"", "2026-3-1", "2026-03-31", time.UTC, "error from"},
		{"", "2026-03-01", "", time.UTC, "error to"},
		{"today", "2026-03-01", "2026-03-02", time.UTC, "error period"},
		{"forever", "", "", time.UTC, "error period"},
		{"", "2000-01-01", "2026-01-01", time.UTC, "error to"},
	}
	for _, tt := range tests {
		f, to, err := ParsePeriod(tt.period, tt.from, tt.to, now, tt.loc)
		got := f.String() + " " + to.String()
		if err != nil {
			got = "error"
			for field := range err.(*assent.Error).Fields {
				got += " " + field
			}
		}
		if got != tt.want {
			t.Errorf("period %q from %q to %q in %s: got %s, want %s", tt.period, tt.from, tt.to, tt.loc, got, tt.want)
		}
	}
}

// TestCover checks the spans a period is read from: whole months and weeks
// where allowed, days at the edges, every day exactly once.
func TestCover(t *testing.T) {
	t.Parallel()
	day := func(s string) Day {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return DayOf(d, time.UTC)
	}
	show := func(spans []span) string {
		out := ""
		for _, s := range spans {
			out += []string{"d", "w", "m"}[s.level] + s.start.String()[5:] + " "
		}
		return out
	}
	tests := []struct {
		from, to      string
		weeks, months bool
		want          string
	}{
		{"2026-03-01", "2026-03-31", false, true, "m03-01 "},
		{"2026-03-01", "2026-03-30", false, true, "d03-01 d03-02 d03-03 d03-04 d03-05 d03-06 d03-07 d03-08 d03-09 " +
			"d03-10 d03-11 d03-12 d03-13 d03-14 d03-15 d03-16 d03-17 d03-18 d03-19 d03-20 d03-21 d03-22 d03-23 d03-24 " +
			"d03-25 d03-26 d03-27 d03-28 d03-29 d03-30 "},
		// 2 March 2026 is a Monday.
		{"2026-02-28", "2026-04-02", true, true, "d02-28 m03-01 d04-01 d04-02 "},
		{"2026-03-01", "2026-03-30", true, true, "d03-01 w03-02 w03-09 w03-16 w03-23 d03-30 "},
		{"2026-03-02", "2026-03-08", true, false, "w03-02 "},
		{"2026-03-02", "2026-03-08", false, false, "d03-02 d03-03 d03-04 d03-05 d03-06 d03-07 d03-08 "},
		{"2026-03-05", "2026-03-04", true, true, ""},
	}
	for _, tt := range tests {
		got := show(cover(day(tt.from), day(tt.to), tt.weeks, tt.months))
		if got != tt.want {
			t.Errorf("cover(%s, %s, weeks %v, months %v):\n got %q\nwant %q", tt.from, tt.to, tt.weeks, tt.months, got, tt.want)
		}
	}
}
