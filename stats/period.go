package stats

import (
	"time"

	"github.com/assentdev/assent"
)

// Periods lists the named periods of SPEC §5.2.
var Periods = []string{"today", "yesterday", "last_7_days", "last_30_days", "this_month", "last_month", "this_year",
	"last_365_days"}

// DefaultPeriod is the period of a report that names none.
const DefaultPeriod = "last_365_days"

// MaxPeriodDays bounds a custom period, so that no request asks for
// centuries of empty series.
const MaxPeriodDays = 3660

// ParsePeriod returns the days a report covers: a named period, counted
// from today in loc, or from and to (YYYY-MM-DD, both inclusive). Bad input
// is EINVALID naming the parameter.
func ParsePeriod(period, from, to string, now time.Time, loc *time.Location) (Day, Day, error) {
	p := assent.Problems{}
	today := DayOf(now, loc)
	if from != "" || to != "" {
		if period != "" {
			p.Add("period", "give either period or from and to, not both")
		}
		f, errF := time.Parse(time.DateOnly, from)
		t, errT := time.Parse(time.DateOnly, to)
		if errF != nil {
			p.Add("from", "must be a date YYYY-MM-DD")
		}
		if errT != nil {
			p.Add("to", "must be a date YYYY-MM-DD")
		}
		if err := p.Err(); err != nil {
			return 0, 0, err
		}
		fd, td := DayOf(f, time.UTC), DayOf(t, time.UTC)
		switch {
		case td < fd:
			p.Add("to", "must not be before from")
		case td-fd >= MaxPeriodDays:
			p.Add("to", "a period can cover at most %d days", MaxPeriodDays)
		}
		return fd, td, p.Err()
	}
	y, m, _ := today.Date().Date()
	switch period {
	case "today":
		return today, today, nil
	case "yesterday":
		return today - 1, today - 1, nil
	case "last_7_days":
		return today - 6, today, nil
	case "last_30_days":
		return today - 29, today, nil
	case "this_month":
		return DayOfDate(y, m, 1), today, nil
	case "last_month":
		return DayOfDate(y, m-1, 1), DayOfDate(y, m, 1) - 1, nil
	case "this_year":
		return DayOfDate(y, 1, 1), today, nil
	case "last_365_days", "":
		return today - 364, today, nil
	}
	p.Add("period", "must be one of today, yesterday, last_7_days, last_30_days, this_month, last_month, this_year, last_365_days")
	return 0, 0, p.Err()
}

// ParseInterval checks a series interval; empty means day.
func ParseInterval(s string) (Interval, error) {
	switch Interval(s) {
	case "":
		return IntervalDay, nil
	case IntervalDay, IntervalWeek, IntervalMonth:
		return Interval(s), nil
	}
	return "", &assent.Error{Code: assent.EINVALID, Message: "some fields are invalid",
		Fields: map[string]string{"interval": "must be day, week or month"}}
}
