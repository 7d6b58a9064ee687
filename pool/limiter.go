package pool

import (
	"sync"
	"time"
)

// limiter lets at most burst events through per interval (a fixed window)
// and counts the ones it held back, so that a slow spike logs a few lines
// and a count instead of a storm. It is safe for concurrent use.
type limiter struct {
	mu         sync.Mutex
	interval   time.Duration
	burst      int
	window     time.Time
	used       int
	suppressed int64
	now        func() time.Time
}

func newLimiter(interval time.Duration, burst int) *limiter {
	return &limiter{interval: interval, burst: burst, now: time.Now}
}

// allow reports whether an event may be logged and, when it may, how many
// were suppressed since the last one allowed.
func (l *limiter) allow() (ok bool, suppressed int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.window) >= l.interval {
		l.window, l.used = now, 0
	}
	if l.used >= l.burst {
		l.suppressed++
		return false, 0
	}
	l.used++
	suppressed, l.suppressed = l.suppressed, 0
	return true, suppressed
}
