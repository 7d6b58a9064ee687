package testutil

import (
	"testing"
	"time"
)

// Returns runs f in a goroutine and fails the test (t.Fatalf, naming what)
// unless f returns within limit: a guard that turns a hang into a failure,
// not a measure of speed, so give limit plenty of room. A call left hanging
// keeps running; end it in the test's cleanup (closing what it waits on).
func Returns(t testing.TB, what string, limit time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("%s did not return within %v", what, limit)
	}
}
