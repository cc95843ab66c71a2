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
