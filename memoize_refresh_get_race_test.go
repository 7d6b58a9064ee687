package caching

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/go-caching/caching/internal/flight"
	"github.com/stretchr/testify/require"
)

// TestMemoizeRefreshRacingGetsWaitsForOne: a Refresh (replace) that
// joined a Get's computation begun after its supersede (not a
// replacement: it may return an older entry it found) leads a computation
// of its own next, rather than join the next Get's computation begun
// meanwhile, and the one after: it waits for at most one computation that
// is not its own, not for three (maxRejoins) runs of a slow fn.
func TestMemoizeRefreshRacingGetsWaitsForOne(t *testing.T) {
	var s store
	g := &flight.Group[string, epoched[int]]{}
	ctx := context.Background()
	const key = "k"
	const gets = 4
	var started, gates [gets + 1]chan struct{}
	for i := range started {
		started[i], gates[i] = make(chan struct{}), make(chan struct{})
	}
	defer func() {
		for i := 2; i <= gets; i++ {
			close(gates[i])
		}
	}()
	var get func(i int) func(context.Context) (int, flightOut, error)
	get = func(i int) func(context.Context) (int, flightOut, error) {
		return func(context.Context) (int, flightOut, error) {
			close(started[i])
			<-gates[i]
			if i < gets {
				// The next Get's computation begins before this one ends
				// (its caller came after a Forget).
				g.Forget(key)
				go func() {
					_, _, _ = doSinceRejoining(ctx, &s, g, key, get(i+1), nil, true, false, false, false, nil, collapseBound{})
				}()
				<-started[i+1]
			}
			return i, flightOut{}, nil
		}
	}
	go func() {
		_, _, _ = doSinceRejoining(ctx, &s, g, key, get(1), nil, true, false, false, false, nil, collapseBound{})
	}()
	<-started[1]

	refreshed := make(chan int, 1)
	go func() {
		res, _, err := doSinceRejoining(ctx, &s, g, key, func(context.Context) (int, flightOut, error) {
			return 100, flightOut{replaced: true}, nil
		}, nil, true, false, false, true, nil, collapseBound{})
		if err == nil {
			refreshed <- res.v
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); g.Waiters(key) < 2; {
		require.True(t, time.Now().Before(deadline), "the Refresh did not join the Get's computation")
		runtime.Gosched()
	}
	close(gates[1])
	select {
	case v := <-refreshed:
		require.Equal(t, 100, v)
	case <-time.After(5 * time.Second):
		t.Fatal("the Refresh waits for the next Get's computation, begun while it waited for the first")
	}
}
