package server

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// RateLimit allows each client address Requests requests per Per, with
// bursts of up to Burst at once: a token bucket per address.
type RateLimit struct {
	Requests int
	Per      time.Duration
	Burst    int
}

// DefaultFormRateLimit is the limit on public form submissions when
// Config.FormRateLimit is zero: 10 a minute per address, 10 at once. A
// person fills in a form in far more than 6 seconds; a script does not.
var DefaultFormRateLimit = RateLimit{Requests: 10, Per: time.Minute, Burst: 10}

// rateLimiter keeps one token bucket per client address in memory. Each
// process limits on its own: behind several instances, an address gets
// the limit once per instance, which is enough to stop a flood.
type rateLimiter struct {
	rate  float64 // tokens per second
	burst float64
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

// newRateLimiter returns a limiter for lim, or nil (no limit) when
// lim.Requests is negative.
func newRateLimiter(lim RateLimit) *rateLimiter {
	if lim == (RateLimit{}) {
		lim = DefaultFormRateLimit
	}
	if lim.Requests < 0 {
		return nil
	}
	if lim.Per <= 0 {
		lim.Per = time.Minute
	}
	if lim.Burst <= 0 {
		lim.Burst = max(lim.Requests, 1)
	}
	return &rateLimiter{rate: float64(lim.Requests) / lim.Per.Seconds(), burst: float64(lim.Burst),
		now: time.Now, buckets: map[string]*bucket{}}
}

// allow takes a token from key's bucket. When the bucket is empty it
// answers false and how long until the next token.
func (l *rateLimiter) allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.refill(now, l.rate, l.burst)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	if l.rate == 0 {
		return false, time.Hour
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

func (b *bucket) refill(now time.Time, rate, burst float64) {
	if elapsed := now.Sub(b.at).Seconds(); elapsed > 0 {
		b.tokens = math.Min(burst, b.tokens+elapsed*rate)
		b.at = now
	}
}

// sweep forgets the buckets that are full again, once per time it takes an
// empty bucket to fill, so that memory follows the addresses seen lately.
func (l *rateLimiter) sweep(now time.Time) {
	fill := time.Hour
	if l.rate > 0 {
		fill = time.Duration(l.burst / l.rate * float64(time.Second))
	}
	if now.Sub(l.lastSweep) < fill {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		b.refill(now, l.rate, l.burst)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// limitKey is the bucket of a client address: the address itself for
// IPv4, its /64 network for IPv6, since one subscriber usually holds a
// whole /64.
func limitKey(ip string) string {
	addr := net.ParseIP(ip)
	if addr == nil || addr.To4() != nil {
		return ip
	}
	return addr.Mask(net.CIDRMask(64, 128)).String()
}

// limitForms answers 429 with Retry-After, and a page saying to wait, to
// a client address that has used up its form submissions.
func (s *Server) limitForms(next http.Handler) http.Handler {
	if s.ui.limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, wait := s.ui.limiter.allow(limitKey(s.clientIP(r)))
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		seconds := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(seconds))
		l := localeOf(r)
		p := errorPage{Title: l.T("error.rate_title"), Text: l.T("error.rate_text", max(seconds, 2))}
		p.Back, p.BackLabel = backTo(r, l)
		s.renderError(w, r, http.StatusTooManyRequests, l, p)
	})
}
