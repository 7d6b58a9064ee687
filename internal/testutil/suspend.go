package testutil

import (
	"fmt"
	"time"
	"unsafe"
)

// Suspended returns t, a reading with a monotonic clock reading (time.Now,
// or a clock that advances one), as a later reading would be across a
// suspend of the machine of d, whole seconds: its wall clock reading d
// later, its monotonic reading the same (the monotonic clock stops while
// the machine is suspended). The time package offers no way to make such a
// reading, so it is made from the layout of time.Time; it panics when that
// layout is not the one it knows, or t has no monotonic reading.
func Suspended(t time.Time, d time.Duration) time.Time {
	const hasMonotonic, nsecShift = 1 << 63, 30
	if d < 0 || d%time.Second != 0 || t.Round(0) == t {
		panic(fmt.Sprintf("testutil.Suspended(%v, %v): a reading with a monotonic one and whole seconds", t, d))
	}
	type layout struct { // time.Time's fields
		wall uint64
		ext  int64
		loc  *time.Location
	}
	u := t
	l := (*layout)(unsafe.Pointer(&u))
	if l.wall&hasMonotonic == 0 {
		panic("testutil.Suspended: time.Time's layout changed")
	}
	l.wall += uint64(d/time.Second) << nsecShift
	if u.Sub(t) != 0 || u.Round(0).Sub(t.Round(0)) != d {
		panic("testutil.Suspended: time.Time's layout changed")
	}
	return u
}
