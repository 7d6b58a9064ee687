package caching

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/boottime"
)

// TestLeaseWaitCountsASuspend: a waiter for another process's lease timed
// its wait on the monotonic clock, which stops while the machine is
// suspended: after a suspend longer than the lease it went on waiting a
// whole lease of awake time more while the lease was held in the backend
// (the holder's, or the next one's): its wait, a lease, was over. The
// suspend now counts: the waiter's next poll finds its wait over and runs
// the function itself. (Not parallel:
// StepWallForTest moves every process-wide reading of the wall clock that
// boottime makes.)
func TestLeaseWaitCountsASuspend(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second) // well under the lease
	defer cancel()
	// The backend's lease stays held across the suspend (its clock stands
	// still): as where the holder, or the next one, holds it on.
	stopped := time.Now()
	store := simple.Must(simple.Options{SweepInterval: -1, Clock: func() time.Time { return stopped }})
	t.Cleanup(func() { _ = store.Close() })
	// Two processes on one remote store (a Backend, not a ValueStore).
	holder := Must(&Options{Backend: &remote{Backend: store}, Lease: time.Hour})
	t.Cleanup(func() { _ = holder.Close() })
	waiter := Must(&Options{Backend: &remote{Backend: store}, Lease: time.Hour})
	t.Cleanup(func() { _ = waiter.Close() })

	running, release := make(chan struct{}), make(chan struct{})
	held := Memoize(holder, "suspended-wait", func(context.Context, int) (string, error) {
		close(running)
		<-release
		return "holder", nil
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = held.Get(ctx, 1)
	}()
	defer func() { close(release); <-done }()
	<-running

	waits := Memoize(waiter, "suspended-wait", func(context.Context, int) (string, error) { return "waiter", nil })
	got := make(chan string, 1)
	go func() {
		v, err := waits.Get(ctx, 1)
		assert.NoError(t, err)
		got <- v
	}()
	require.Eventually(t, func() bool { return waiter.Stats().LeaseWaits == 1 }, 10*time.Second, time.Millisecond, "the waiter found the lease")
	t.Cleanup(boottime.StepWallForTest(2 * time.Hour)) // the machine sleeps two hours
	assert.Equal(t, "waiter", <-got, "the waiter waited on past the lease")
}
