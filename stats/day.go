package stats

import "time"

// Day is a calendar day of an account's time zone, counted in days since
// 1970-01-01. Reports group and filter by Day, so that day boundaries are
// the account's, whatever its UTC offset.
type Day int32

// DayOf returns the day of t in loc.
func DayOf(t time.Time, loc *time.Location) Day {
	y, m, d := t.In(loc).Date()
	return DayOfDate(y, m, d)
}

// DayOfDate returns the Day of a calendar date.
func DayOfDate(y int, m time.Month, d int) Day {
	return Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// DayOfYMD returns the Day of a date written as the number YYYYMMDD.
func DayOfYMD(ymd int) Day {
	return DayOfDate(ymd/10000, time.Month(ymd/100%100), ymd%100)
}

// Date returns midnight UTC of the day's date (a label, not an instant).
func (d Day) Date() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String formats the day as YYYY-MM-DD.
func (d Day) String() string { return d.Date().Format(time.DateOnly) }

// Start returns the instant the day begins in loc.
func (d Day) Start(loc *time.Location) time.Time {
	y, m, dd := d.Date().Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, loc)
}

// Interval is the width of a series bucket.
type Interval string

// The intervals of SPEC §5.2; weeks start on Monday.
const (
	IntervalDay   Interval = "day"
	IntervalWeek  Interval = "week"
	IntervalMonth Interval = "month"
)

// Bucket returns the first day of the interval that holds d.
func (i Interval) Bucket(d Day) Day {
	switch i {
	case IntervalWeek:
		wd := int(d.Date().Weekday()) // Sunday is 0
		return d - Day((wd+6)%7)
	case IntervalMonth:
		y, m, _ := d.Date().Date()
		return DayOfDate(y, m, 1)
	}
	return d
}

// Next returns the first day of the interval after the one starting at b.
func (i Interval) Next(b Day) Day {
	switch i {
	case IntervalWeek:
		return b + 7
	case IntervalMonth:
		y, m, _ := b.Date().Date()
		return DayOfDate(y, m+1, 1)
	}
	return b + 1
}
