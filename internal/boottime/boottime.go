// Package boottime measures time as the in-process stores expire entries
// by: the time since a start, on the monotonic clock, plus the time the
// machine was suspended, as far as the wall clock tells.
//
// Go's monotonic clock (CLOCK_MONOTONIC on Linux) stops while the machine
// or virtual machine is suspended, so that an entry read after a resume
// would live its whole TTL of awake time more, however long the machine
// slept. The wall clock goes on across a suspend, but it may also be
// stepped (by NTP, or by hand) either way. Each interval therefore counts
// as the larger of the two clocks' progress: a suspend counts; a wall
// clock stepped back adds no life; one stepped forward counts too, and
// only expires entries early, the safe direction.
//
// Reading both clocks costs twice what reading the monotonic one does, so
// a Clock reads the wall clock only when checked: at each Check (the
// stores' writes with a TTL, and their sweeps), and at a read once a second
// of monotonic time has passed since a read last checked. A suspend is
// thus counted at the first write after the resume, or within a second of
// awake time. A difference of the two clocks' progress under a second,
// either way (clock noise, a small step), is left to add up until it
// reaches a second.
//
// What a Clock does not count exactly, each bounded and rare, is left so
// rather than paid for on every read:
//   - Until a check after a resume, a read sees the time before the
//     suspend: an entry whose TTL ended while the machine slept may be read
//     in the first second awake, until a write with a TTL, a sweep or a
//     read's check once a second counts the suspend.
//   - A check that finds a change of Threshold or more counts it from a
//     fresh reading, taken under a lock (so that a check whose thread froze
//     after reading, across a suspend or a step that another check counted,
//     does not count it again). If that reading's thread is descheduled for
//     Threshold or more inside time.Now, between its reads of the wall clock
//     and of the monotonic one, it reads the wall clock stepped back by as
//     long, which the next check counts as suspended: entries then expire
//     early by as much, the safe direction.
//   - A wall clock stepped back by H and then a suspend of S, with no check
//     between, count as a suspend of S-H (nothing if S <= H): entries live
//     up to H longer than the suspend allows, as long as they would have
//     without this package.
//
// Until and Since count the time left until a deadline, or passed since a
// reading, so too, at once: for one that something outside the process
// keeps as well, such as a lease's TTL in a backend, or whose age must
// count the time the rest of the world went on, such as memcached's
// namespace generation. Elapsed counts the time between two readings so,
// reading no clock: for a stored response's Age.
package boottime

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// CheckEvery is the monotonic time after a read's check at which a read
// checks the wall clock again.
const CheckEvery = time.Second

// Threshold is the least excess of the wall clock's progress over the
// monotonic clock's that a check counts as suspended time, and the least
// shortfall it counts as a wall clock stepped back.
const Threshold = time.Second

// Clock reads the nanoseconds since its start (Init), counting the time
// the machine was suspended. Its methods are safe for concurrent use. The
// suspended time it adds to the monotonic clock's readings only grows, so
// that deadlines computed from earlier readings stay comparable with later
// ones. The zero value is not usable: call Init.
type Clock struct {
	// 64-bit alignment for due and offset, which are read with
	// atomic.LoadInt64 rather than as atomic.Int64s: FromMono then
	// inlines.
	_ [0]atomic.Int64
	// due is the monotonic reading, since start, at or after which a
	// read checks the wall clock. Atomic.
	due int64
	// offset is the suspended time counted so far, added to every
	// monotonic reading. It only grows. Atomic.
	offset int64
	// skew is the wall clock's progress since start less the monotonic
	// clock's, as last counted: a check counts the growth of the skew
	// since (a suspend), and lowers it where it fell (a wall clock stepped
	// back), adding nothing. Written under recountMu.
	skew  atomic.Int64
	start time.Time // time.Now at Init, with its monotonic reading
}

// recountMu is held by a check that found a change of Threshold or more,
// to count it from a reading later than the last count's. It is one for
// every Clock, outside them, so that a Clock (which the stores keep beside
// the fields their hits read) is no larger for it: such a change, a
// suspend or a wall clock step, comes rarely, and once for every Clock.
var recountMu sync.Mutex

// testWallShift is added to the wall clock's readings: the tests' suspend
// (forward) or wall clock step (back). See StepWallForTest.
var testWallShift atomic.Int64

// Init starts c at time.Now. It must be called before c is used, once.
func (c *Clock) Init() {
	c.start = time.Now()
	c.skew.Store(testWallShift.Load())
	atomic.StoreInt64(&c.due, int64(CheckEvery))
}

// Start returns the time.Now reading at which c started.
func (c *Clock) Start() time.Time { return c.start }

// Now returns the nanoseconds since c's start: the monotonic clock's,
// plus the suspended time counted so far. It reads only the monotonic
// clock, but when a check is due.
func (c *Clock) Now() int64 { return c.FromMono(int64(time.Since(c.start))) }

// FromMono is Now for a monotonic reading mono, the nanoseconds since c's
// start as time.Since(c.Start()) or a caller's t.Sub(c.Start()) reads
// them: mono plus the suspended time counted so far (which may include a
// suspend after the reading, which it then reads later, never earlier),
// checking the wall clock first when a check is due. It is small enough
// to inline: a caller that reads time.Since itself (backend/simple's hits)
// adds one load and one comparison.
func (c *Clock) FromMono(mono int64) int64 {
	if mono >= atomic.LoadInt64(&c.due) {
		c.dueCheck()
	}
	return mono + atomic.LoadInt64(&c.offset)
}

// Before reports whether FromMono(mono) is before deadline with no check
// due: a hit's whole test of a deadline, in two loads and two comparisons,
// small enough to inline. False means the deadline passed or a check is due
// (perhaps both, perhaps neither once checked): call FromMono to tell.
func (c *Clock) Before(mono, deadline int64) bool {
	return mono < atomic.LoadInt64(&c.due) && mono+atomic.LoadInt64(&c.offset) < deadline
}

// dueCheck is FromMono's check, when it is due: one caller, of those that
// find it due at once, checks.
func (c *Clock) dueCheck() {
	mono, skew := c.read()
	if due := atomic.LoadInt64(&c.due); mono >= due && atomic.CompareAndSwapInt64(&c.due, due, mono+int64(CheckEvery)) {
		c.checkAt(skew)
	}
}

// read reads both clocks, at one time.Now: the monotonic time since c's
// start, and the skew, the wall clock's progress since then less the
// monotonic clock's (the tests' wall clock shift included, as read with
// them).
func (c *Clock) read() (mono, skew int64) {
	t := time.Now()
	mono = int64(t.Sub(c.start))
	return mono, t.UnixNano() - c.start.UnixNano() + testWallShift.Load() - mono
}

// Check reads both clocks, counts the suspended time since the last check,
// and returns what Now would: the nanoseconds since c's start. It costs
// one time.Now, and writes nothing, unless the clocks' progress differs by
// Threshold or more (then it takes a lock and reads them again), so that
// writers calling it do not take from readers the cache line they read.
func (c *Clock) Check() int64 {
	mono, skew := c.read()
	return mono + c.checkAt(skew)
}

// checkAt counts the growth of the skew, as read, as suspended time once it
// reaches Threshold, and lowers the skew once it fell by Threshold (a wall
// clock stepped back, which counts nothing); it returns the offset. A
// change under Threshold either way is left to add up, reading and writing
// nothing more. A change of Threshold or more is counted from a fresh
// reading, taken under recountMu: the reading given may be older than one
// that another check already counted the change from (its thread froze
// between the two), and would undo it.
func (c *Clock) checkAt(skew int64) int64 {
	if d := skew - c.skew.Load(); d > -int64(Threshold) && d < int64(Threshold) {
		return atomic.LoadInt64(&c.offset) // noise: keep counting from last
	}
	return c.recount()
}

// recount is checkAt's count of a change of Threshold or more, from a
// reading taken under recountMu: the readings it counts from are thus
// taken one after the other, each later than the skew it is compared with.
// It adds to the offset before it stores the skew, so that a check that
// reads the new skew, and counts no change, returns the new offset.
func (c *Clock) recount() int64 {
	recountMu.Lock()
	defer recountMu.Unlock()
	_, skew := c.read()
	d := skew - c.skew.Load()
	switch {
	case d > -int64(Threshold) && d < int64(Threshold):
		return atomic.LoadInt64(&c.offset) // counted meanwhile, or noise
	case d > 0:
		offset := atomic.AddInt64(&c.offset, d)
		c.skew.Store(skew)
		return offset
	default:
		c.skew.Store(skew) // stepped back: no life added
		return atomic.LoadInt64(&c.offset)
	}
}

// Until returns the time left until end, a time.Now reading (plus a
// duration), as the lesser of the monotonic clock's count and the wall
// clock's: a suspend, which stops the monotonic clock, counts as time
// passed; a wall clock stepped back adds no time, and one stepped forward
// counts as time passed. It is for a deadline that something outside the
// process keeps too (a backend's TTL), which must not be taken to lie
// further ahead than it may: it costs one time.Now.
func Until(end time.Time) time.Duration {
	now := time.Now()
	wall := addSaturated(end.Round(0).Sub(now.Round(0)), -time.Duration(testWallShift.Load()))
	return min(end.Sub(now), wall)
}

// Since returns the time elapsed since t, a time.Now reading, as the
// larger of the monotonic clock's count and the wall clock's, as Until
// counts the time left. A zero t, or one further back than a Duration
// reaches, is as old as a Duration says (math.MaxInt64), never negative:
// so no "younger than" check trusts a reading never taken.
func Since(t time.Time) time.Duration {
	now := time.Now()
	return max(now.Sub(t), addSaturated(now.Round(0).Sub(t.Round(0)), time.Duration(testWallShift.Load())))
}

// addSaturated returns d+e, or the Duration bound it would pass.
func addSaturated(d, e time.Duration) time.Duration {
	switch s := d + e; {
	case e > 0 && s < d:
		return math.MaxInt64
	case e < 0 && s > d:
		return math.MinInt64
	default:
		return s
	}
}

// Elapsed returns the time from t to now, two readings of time.Now (or of
// a clock that advances one by the monotonic clock), as the larger of the
// monotonic clock's count and the wall clock's, as Since does: a suspend
// between them, which stops the monotonic clock, counts; a wall clock
// stepped back adds nothing; one stepped forward counts as time passed. A
// reading without a monotonic one counts by the wall clock alone; a zero t
// is as old as a Duration says (math.MaxInt64), as for Since. It is for
// an age that the rest of the world sees, such as a response's Age header:
// it reads no clock and allocates nothing.
//
// Two readings that both carry a monotonic one lie, by the wall clock,
// between 1885 and 2157 (time.Time keeps the wall clock beside a monotonic
// reading in 33 bits of seconds since 1885), where UnixNano is exact: their
// wall clock difference is taken so, without time.Time.Sub's check for an
// overflow that cannot happen, which cost a hit a tenth of its time.
func Elapsed(t, now time.Time) time.Duration {
	tw, nw := t.Round(0), now.Round(0)
	if tw != t && nw != now {
		return max(now.Sub(t), time.Duration(now.UnixNano()-t.UnixNano()))
	}
	return max(now.Sub(t), nw.Sub(tw))
}

// StepWallForTest moves the wall clock, as every Clock of the process,
// Until and Since read it, by d from now on, for each Clock to count at its
// next check (and Until and Since at once, for a reading taken before): forward, it is a
// suspend of d (the monotonic clock does not move); back, a wall clock
// stepped back. It returns the function that undoes it, which counts as a
// step the other way. It is for tests only, which must not run in
// parallel with others that read Clocks or call Until or Since.
func StepWallForTest(d time.Duration) (undo func()) {
	testWallShift.Add(int64(d))
	return func() { testWallShift.Add(-int64(d)) }
}
