package server

import (
	"testing"
	"time"
)

func TestRateLimiter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newRateLimiter(RateLimit{Requests: 10, Per: time.Minute, Burst: 3})
	l.now = func() time.Time { return now }
	step := func(name, key string, advance time.Duration, wantOK bool, wantWait time.Duration) {
		t.Helper()
		now = now.Add(advance)
		ok, wait := l.allow(key)
		if ok != wantOK || wait.Round(time.Millisecond) != wantWait {
			t.Errorf("%s: got %v and wait %v, want %v and %v", name, ok, wait, wantOK, wantWait)
		}
	}
	step("burst 1", "a", 0, true, 0)
	step("burst 2", "a", 0, true, 0)
	step("burst 3", "a", 0, true, 0)
	step("empty", "a", 0, false, 6*time.Second)
	step("another address", "b", 0, true, 0)
	step("still empty", "a", 2*time.Second, false, 4*time.Second)
	step("one token back", "a", 4*time.Second, true, 0)
	step("empty again", "a", 0, false, 6*time.Second)
	// After a long pause the bucket is full, never fuller than the burst.
	step("full 1", "a", time.Hour, true, 0)
	step("full 2", "a", 0, true, 0)
	step("full 3", "a", 0, true, 0)
	step("full, then empty", "a", 0, false, 6*time.Second)
	if got := len(l.buckets); got != 1 {
		t.Errorf("after an hour, b's full bucket should be swept: got %d buckets, want 1", got)
	}
}

func TestRateLimitConfig(t *testing.T) {
	t.Parallel()
	if l := newRateLimiter(RateLimit{Requests: -1}); l != nil {
		t.Error("a negative Requests should mean no limit")
	}
	l := newRateLimiter(RateLimit{})
	if l.rate != 10.0/60 || l.burst != 10 {
		t.Errorf("zero value: got rate %v and burst %v, want the default 10 a minute, burst 10", l.rate, l.burst)
	}
	l = newRateLimiter(RateLimit{Requests: 5})
	if l.rate != 5.0/60 || l.burst != 5 {
		t.Errorf("only Requests: got rate %v and burst %v, want 5 a minute, burst 5", l.rate, l.burst)
	}
}

func TestLimitKey(t *testing.T) {
	t.Parallel()
	for ip, want := range map[string]string{
		"192.0.2.7":            "192.0.2.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::",
		"::ffff:192.0.2.7":     "::ffff:192.0.2.7",
		"not an address":       "not an address",
		"2001:db8:1:3:3:4:5:6": "2001:db8:1:3::",
	} {
		if got := limitKey(ip); got != want {
			t.Errorf("%s: got %s, want %s", ip, got, want)
		}
	}
}
