package testutil

import (
	"runtime"
	"testing"
	"time"
	"unsafe"
)

// Suspended returns t, a reading with a monotonic clock reading (time.Now,
// or a clock that advances one), as a later reading would be across a
// suspend of the machine of d, whole seconds: its wall clock reading d
// later, its monotonic reading the same (the monotonic clock stops while
// the machine is suspended). The time package offers no way to make such a
// reading, so it is made from the layout of time.Time: where that layout
// is not the one it knows (a later Go), it fails tb's test, saying so, so
// that the suspend tests are updated rather than skipped unseen; a t
// without a monotonic reading, or a d not whole seconds, fails it too.
func Suspended(tb testing.TB, t time.Time, d time.Duration) time.Time {
	tb.Helper()
	const hasMonotonic, nsecShift = 1 << 63, 30
	if d < 0 || d%time.Second != 0 || d > 100*365*24*time.Hour || t.Round(0) == t {
		tb.Fatalf("testutil.Suspended(%v, %v): it takes a reading with a monotonic one and whole seconds, under a century", t, d)
	}
	type layout struct { // time.Time's fields
		wall uint64
		ext  int64
		loc  *time.Location
	}
	changed := func() {
		tb.Fatalf("testutil.Suspended: time.Time's layout under %s is not the one it knows (wall, ext, loc): update it to make a suspended reading", runtime.Version())
	}
	if unsafe.Sizeof(t) != unsafe.Sizeof(layout{}) {
		changed()
	}
	u := t
	l := (*layout)(unsafe.Pointer(&u))
	if l.wall&hasMonotonic == 0 {
		changed()
	}
	l.wall += uint64(d/time.Second) << nsecShift
	if u.Sub(t) != 0 || u.Round(0).Sub(t.Round(0)) != d {
		changed()
	}
	return u
}
