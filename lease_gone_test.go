package caching

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/internal/flight"
)

// A memoized call waiting for another process's lease whose callers have
// all left, once the flight has cancelled its work (past
// flight.MaxDetached calls nobody waits for), stops: it does not run the
// function for nobody.
func TestLeaseMemoizeWaiterWithNobodyLeftRunsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := leasePair(t, Options{Lease: time.Hour})
		open := make(chan struct{})
		ma := Memoize(a, "f", func(ctx context.Context, n int) (int, error) {
			<-open
			return n, nil
		})
		var ran atomic.Int64
		mb := Memoize(b, "f", func(ctx context.Context, n int) (int, error) {
			ran.Add(1)
			return n, nil
		})
		const n = flight.MaxDetached + 1
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, _ = ma.Get(context.Background(), i) })
		}
		synctest.Wait() // a holds every key's lease
		ctx, cancel := context.WithCancel(context.Background())
		for i := range n {
			wg.Go(func() { _, _ = mb.Get(ctx, i) })
		}
		synctest.Wait() // b's calls wait for a's leases
		cancel()
		synctest.Wait()
		assert.Equal(t, int64(0), ran.Load(), "b ran the function for callers that all left")
		close(open)
		wg.Wait()
		time.Sleep(time.Second) // the detached calls find a's results
	})
}
