// Package ratelimit keeps the library's logs from turning into storms: when
// a backend goes down or the database stalls, every request fails or is slow
// at once, and a line per request would bury everything else. A Limiter lets
// a burst through, then a steady rate, and counts what it held back so the
// next line that gets through can say how many were dropped.
package ratelimit

import (
	"sync"
	"time"
)

// Limiter is a token bucket: it holds at most burst tokens, refilled at one
// per interval/burst, and each allowed event takes one. It is safe for
// concurrent use. The zero value allows nothing; use New.
type Limiter struct {
	mu         sync.Mutex
	burst      float64
	perToken   time.Duration
	tokens     float64
	last       time.Time
	suppressed int64
}

// New returns a Limiter that allows burst events at once and burst events
// per interval after that. interval and burst must be positive. An interval
// shorter than burst nanoseconds refills a token every nanosecond: at most
// a limit, never a silence.
func New(interval time.Duration, burst int) *Limiter {
	// Not 0, which Allow reads as "never refilled" (the zero Limiter).
	perToken := max(interval/time.Duration(burst), 1)
	return &Limiter{burst: float64(burst), tokens: float64(burst), perToken: perToken}
}

// Allow reports whether an event at now may go through and, when it may, how
// many events were held back since the last one that went through.
func (l *Limiter) Allow(now time.Time) (ok bool, suppressed int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && l.perToken > 0 && now.After(l.last) {
		l.tokens = min(l.burst, l.tokens+float64(now.Sub(l.last))/float64(l.perToken))
	}
	if now.After(l.last) {
		l.last = now
	}
	if l.tokens < 1 {
		l.suppressed++
		return false, 0
	}
	l.tokens--
	suppressed, l.suppressed = l.suppressed, 0
	return true, suppressed
}
