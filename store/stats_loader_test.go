package store

import (
	"testing"
	"time"

	"github.com/assentdev/assent/stats"
)

// TestStatsLoaderDay checks the loader's day cache against stats.DayOf
// around DST changes, including zones where midnight itself is skipped.
func TestStatsLoaderDay(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ zone, from string }{
		{"America/Sao_Paulo", "2018-11-02T00:00:00Z"}, // midnight skipped on 2018-11-04
		{"America/Sao_Paulo", "2019-02-15T00:00:00Z"}, // midnight repeated on 2019-02-17
		{"Europe/Paris", "2026-03-27T00:00:00Z"},
		{"Asia/Beirut", "2024-03-29T00:00:00Z"}, // midnight skipped on 2024-03-31
		{"UTC", "2026-01-01T00:00:00Z"},
	} {
		t.Run(tc.zone+" "+tc.from, func(t *testing.T) {
			loc, err := time.LoadLocation(tc.zone)
			if err != nil {
				t.Skip(err)
			}
			start, _ := time.Parse(time.RFC3339, tc.from)
			l := newStatsLoader(loc)
			for at := start; at.Before(start.Add(96 * time.Hour)); at = at.Add(7*time.Minute + 13*time.Second) {
				for _, x := range []time.Time{at, at.Add(-time.Microsecond)} {
					if got, want := l.day(x.UnixMicro(), x), stats.DayOf(x, loc); got != want {
						t.Fatalf("day of %s: got %s, want %s", x.In(loc), got, want)
					}
				}
			}
		})
	}
}

// TestStatsLoaderForm checks that a stored answer list gives the form in
// its order, and the answer masks, whatever the versions; and that a
// malformed list is an error.
func TestStatsLoaderForm(t *testing.T) {
	t.Parallel()
	l := newStatsLoader(time.UTC)
	for _, tc := range []struct {
		list                string
		ids                 []string
		accepted, confirmed uint64
	}{
		{"", []string{}, 0, 0},
		{"011:opt_b,102:opt_c,-012:opt_a", []string{"opt_b", "opt_c", "opt_a"}, 0b10, 0b01},
		{"0010:opt_b,1111:opt_a", []string{"opt_b", "opt_a"}, 0b10, 0b10},
		{"011:opt_b,102:opt_c,-012:opt_a", []string{"opt_b", "opt_c", "opt_a"}, 0b10, 0b01}, // remembered
	} {
		f, err := l.form(tc.list)
		if err != nil {
			t.Fatalf("%q: %v", tc.list, err)
		}
		if len(f.ids) != len(tc.ids) || f.accepted != tc.accepted || f.confirmed != tc.confirmed {
			t.Fatalf("%q: got %v %b %b, want %v %b %b", tc.list, f.ids, f.accepted, f.confirmed, tc.ids, tc.accepted, tc.confirmed)
		}
		for i := range f.ids {
			if f.ids[i] != tc.ids[i] {
				t.Fatalf("%q: got %v, want %v", tc.list, f.ids, tc.ids)
			}
		}
	}
	for _, list := range []string{"1:opt_a", "11x:opt_a", "211:opt_a", "1a1:opt_a", "111:", "111opt_a"} {
		if _, err := l.form(list); err == nil {
			t.Errorf("malformed list %q: got no error, want one", list)
		}
	}
}
