package main

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// failureLogInterval is how often a failureLog writes, at most, a summary
// of the failures of an outage that go on.
const failureLogInterval = 10 * time.Second

// failureLog logs the failures of one kind of operation (the invalidations
// of writes, the reads of kept reports...) at a rate no client can drive.
// While the cache (or the database) is down, each request that needs it
// fails, and a line per failure is a line per request: a client sending
// requests writes the log at its own rate, and buries everything else in
// it. A failureLog writes the first failure of an outage whole, then at
// most one summary per interval ("...: more failures", with their count
// and the last error), then one "recovered" line at the first success after it, with
// the failures not logged yet. A failure with no line since the interval
// began is only counted, and told by the next line; the recovery of an
// outage whose first line was written within the interval before (one
// that flaps) starts no new one until the interval has passed. The
// failures of a flap are told by the next outage's first line
// (earlier_failures), or, if the service stays healthy, by a "recovered"
// line at the first success once the interval has passed (so that they
// are not lost). Failures held when no call comes to tell them (the
// requests stopped, with the outage) are told by a timer once the interval
// has passed: a "more failures" line, as the next failure would have
// written; close tells them at once, and stops the timer, when the service
// closes.
//
// A failureLog whose successes are not reported (newQuietFailureLog: the
// failures of requests and of jobs, which have no one place where they
// succeed) ends an outage after an interval with no failure instead: the
// next failure is the first line of another.
//
// The library still counts each failure of its backend (Stats.Errors and
// Unavailable, on GET /metrics): a failureLog bounds only the log. The
// library's own logs are bounded apart (Options.LogInterval; the breaker
// logs its changes of state). It is safe for concurrent use.
type failureLog struct {
	log      *slog.Logger
	level    slog.Level // of the first line and of the summaries
	msg      string     // the first line's message; the others add to it
	interval time.Duration
	now      func() time.Time
	// quiet: an interval with no failure ends an outage
	// (newQuietFailureLog).
	quiet bool

	// down is set from the first line of an outage to its recovery line,
	// read without the lock by ok, on every success.
	down atomic.Bool
	// flapped is set while held counts failures of a flap, recorded
	// after an outage's recovery line (down unset): ok tells them.
	flapped atomic.Bool

	mu      sync.Mutex
	started time.Time   // when the last outage's first line was written
	last    time.Time   // when the last line was written
	held    int64       // failures not told by a line yet
	failure time.Time   // when the last failure was recorded
	lastErr error       // the last failure's error
	timer   *time.Timer // the flush due, if any (nil: none)
	closed  bool        // close was called: no timer is armed
}

// newFailureLog returns a failureLog writing to log, at level, failures
// whose first line says msg.
func newFailureLog(log *slog.Logger, level slog.Level, msg string) *failureLog {
	return &failureLog{log: log, level: level, msg: msg, interval: failureLogInterval, now: time.Now}
}

// newQuietFailureLog is newFailureLog for failures whose successes are not
// reported: an interval with no failure ends their outage.
func newQuietFailureLog(log *slog.Logger, level slog.Level, msg string) *failureLog {
	f := newFailureLog(log, level, msg)
	f.quiet = true
	return f
}

// failed records a failure, err, with attrs (slog's key-value pairs) for the
// first line of an outage.
func (f *failureLog) failed(ctx context.Context, err error, attrs ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.held++
	now := f.now()
	if f.quiet && f.down.Load() && now.Sub(f.failure) >= f.interval {
		f.down.Store(false) // the failures held since are told below
	}
	f.failure = now
	switch {
	case !f.down.Load() && (f.started.IsZero() || now.Sub(f.started) >= f.interval):
		// Failures held since a flapping outage's recovery are told here.
		if earlier := f.held - 1; earlier > 0 {
			attrs = append(attrs, "earlier_failures", earlier)
		}
		until := "it succeeds again"
		if f.quiet {
			until = f.interval.String() + " pass with none"
		}
		attrs = append(attrs, "err", err, "next", "at most one summary per "+f.interval.String()+" until "+until)
		f.log.Log(ctx, f.level, f.msg, attrs...)
		f.down.Store(true)
		f.started, f.last, f.held = now, now, 0
	case f.down.Load() && now.Sub(f.last) >= f.interval:
		f.log.Log(ctx, f.level, f.msg+": more failures", "failures", f.held, "since", now.Sub(f.last).Round(time.Second).String(), "last_err", err)
		f.last, f.held = now, 0
	}
	// A failure only counted while no outage is logged: a flap's, told by
	// the next first line, or by ok.
	f.flapped.Store(!f.down.Load() && f.held > 0)
	f.lastErr = err
	if f.held > 0 && f.timer == nil && !f.closed {
		f.timer = time.AfterFunc(f.due(now), f.flush)
	}
}

// due returns how long after now the failures held may be told: one
// interval after the last line of an outage, or after the first line of
// the outage a flap follows. f.mu is held.
func (f *failureLog) due(now time.Time) time.Duration {
	from := f.last
	if !f.down.Load() {
		from = f.started
	}
	return from.Add(f.interval).Sub(now)
}

// flush tells the failures held since the last line, if no failure or
// success has told them by the time they may be (due): their outage's
// calls have stopped, and nothing else would.
func (f *failureLog) flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.timer = nil
	if f.held == 0 || f.closed {
		return
	}
	now := f.now()
	if wait := f.due(now); wait > 0 {
		f.timer = time.AfterFunc(wait, f.flush)
		return
	}
	f.tell(now)
}

// tell writes the failures held as a "more failures" line at now. f.mu is
// held.
func (f *failureLog) tell(now time.Time) {
	f.log.Log(context.Background(), f.level, f.msg+": more failures", "failures", f.held, "since", now.Sub(f.last).Round(time.Second).String(), "last_err", f.lastErr)
	f.last, f.held = now, 0
	f.flapped.Store(false)
}

// close tells the failures held, if any, at once, and stops the timer that
// was to tell them: the service is closing, and its logger may not outlive
// it (a process that exits within the interval would lose them). Failures
// recorded after it are logged as before, but none is held on a timer.
func (f *failureLog) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
	if f.held > 0 {
		f.tell(f.now())
	}
}

// ok records a success: the recovery, when an outage was logged.
// The failures of a flap (held since the last recovery line, within the
// interval after the outage's first line) are told at the first success
// once that interval has passed, if no failure has told them before.
func (f *failureLog) ok(ctx context.Context) {
	if !f.down.Load() && !f.flapped.Load() {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	switch {
	case f.down.Load():
		f.log.Log(ctx, slog.LevelInfo, f.msg+": recovered", "failures_not_logged", f.held, "outage", now.Sub(f.started).Round(time.Second).String())
	case f.flapped.Load() && now.Sub(f.started) >= f.interval:
		f.log.Log(ctx, slog.LevelInfo, f.msg+": recovered", "earlier_failures", f.held, "since", now.Sub(f.last).Round(time.Second).String())
	default:
		return
	}
	f.down.Store(false)
	f.flapped.Store(false)
	f.last, f.held = now, 0
}
