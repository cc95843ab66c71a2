package webhook

import "time"

// Schedule is the default wait before each retry of a failed delivery
// (SPEC §7): after the first attempt fails, 5 s; after the second, 5 min;
// and so on. When the last retry fails too, the delivery is failed: eight
// attempts over about 28 hours.
var Schedule = []time.Duration{
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

// retryDelay returns how long to wait after the attempt-th attempt (1 for
// the first) failed, and false when schedule has no retry left.
func retryDelay(schedule []time.Duration, attempt int) (time.Duration, bool) {
	if attempt < 1 || attempt > len(schedule) {
		return 0, false
	}
	return schedule[attempt-1], true
}
