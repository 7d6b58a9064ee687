package caching

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// leadStressForcedKey is the context key of a Get that RefreshIf forces in
// TestMemoizeConcurrentWritesEndAndLeaveNoBookkeeping.
type leadStressForcedKey struct{}

// TestMemoizeConcurrentWritesEndAndLeaveNoBookkeeping: Refreshes and
// forced Gets (which drop their seeking registration holding the flight's
// lock, then memoShared.emu: 5de314b), Sets, Forgets, ForgetAlls, stale
// hits' background refreshes and misses of a few keys, made at once, with
// fns that fail, panic, call runtime.Goexit or outlive their callers'
// contexts, all return (a lock taken in the reverse order anywhere would
// hang them), and once every computation has ended nothing is left of
// them in the name's bookkeeping: no key's epoch (seeking, pending).
func TestMemoizeConcurrentWritesEndAndLeaveNoBookkeeping(t *testing.T) {
	for _, remoteStore := range []bool{false, true} {
		t.Run(map[bool]string{false: "local", true: "remote"}[remoteStore], func(t *testing.T) {
			testConcurrentWritesEndAndLeaveNoBookkeeping(t, remoteStore)
		})
	}
}

func testConcurrentWritesEndAndLeaveNoBookkeeping(t *testing.T, remoteStore bool) {
	opts := &Options{Logger: slog.New(slog.DiscardHandler)}
	if remoteStore {
		opts.Backend = &remote{Backend: newSimple(t, nil)}
	}
	c, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	var stale atomic.Bool
	m := Memoize(c, "lead-stress", func(ctx context.Context, a int) (string, error) {
		switch rand.IntN(16) {
		case 0:
			return "", errors.New("db: timeout")
		case 1:
			panic("fn panics")
		case 2:
			runtime.Goexit()
		case 3, 4:
			time.Sleep(time.Millisecond) // outlives a caller whose context ends
		}
		runtime.Gosched()
		return fmt.Sprint(a), nil
	}, TTL(time.Hour), StaleWhileRevalidate(time.Hour),
		StaleIf(func(string) bool { return stale.Load() }),
		RefreshIf(func(ctx context.Context, _ int) bool { return ctx.Value(leadStressForcedKey{}) != nil }))

	ops := []func(ctx context.Context, a int){
		func(ctx context.Context, a int) { _, _ = m.Get(ctx, a) },
		func(ctx context.Context, a int) { _, _ = m.Refresh(ctx, a) },
		func(ctx context.Context, a int) { _, _ = m.Get(context.WithValue(ctx, leadStressForcedKey{}, true), a) },
		func(ctx context.Context, a int) { _ = m.Set(ctx, a, "set") },
		func(ctx context.Context, a int) { _ = m.Forget(ctx, a) },
		func(ctx context.Context, a int) { _ = m.ForgetAll(ctx) },
		func(ctx context.Context, a int) { // a stale hit: a background refresh
			stale.Store(true)
			_, _ = m.Get(ctx, a)
			stale.Store(false)
		},
	}
	const workers, rounds = 16, 500
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range rounds {
				ctx, cancel := context.WithCancel(context.Background())
				if rand.IntN(4) == 0 {
					cancel() // some calls leave, or come with their context ended
				}
				done := make(chan struct{})
				go func() { // a Goexit ends this goroutine only
					defer close(done)
					defer func() { _ = recover() }()
					ops[rand.IntN(len(ops))](ctx, rand.IntN(3))
				}()
				<-done
				cancel()
			}
		})
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	select {
	case <-allDone:
	case <-time.After(time.Minute):
		// A panic, not t.Fatal: the Cache's Close, in the cleanup, would
		// wait for the calls that hang. It prints every goroutine.
		panic("the calls did not return (a deadlock?)")
	}

	// Every call has returned; the computations that outlived their
	// callers, and the background refreshes, end on their own goroutines
	// (polled; the deadline is generous).
	left := func() (epochs, seeking, pending int) {
		m.shared.emu.Lock()
		for _, ke := range m.shared.epochs {
			seeking += len(ke.seeking)
			pending += len(ke.pending)
		}
		epochs = len(m.shared.epochs)
		m.shared.emu.Unlock()
		return epochs, seeking, pending
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		epochs, _, _ := left()
		m.refreshMu.Lock()
		refreshing := len(m.refreshing)
		m.refreshMu.Unlock()
		if epochs == 0 && refreshing == 0 {
			break
		}
		if time.Now().After(deadline) {
			epochs, seeking, pending := left()
			assert.Zero(t, epochs, "keys' epochs left after every computation ended")
			assert.Zero(t, seeking, "seeking registrations left")
			assert.Zero(t, pending, "pending replacements left")
			assert.Zero(t, refreshing, "background refreshes still running")
			return
		}
	}
}
