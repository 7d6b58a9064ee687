package caching

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// TestMemoizeSetsOnHungBackendDoNotQueue: Set's store was made under
// saveMu's read lock, and every Set of the name first took saveMu's write
// lock (its supersede): on a hung backend each Set waited for the store of
// the Set before it (bounded by Options.Timeout), and its own store then
// held the lock the next one waited for, so that Sets of different
// arguments, each of which fails after Timeout on its own, took longer and
// longer (here up to 3 Timeouts) until the breaker opened. Now no lock is
// held across a write but the key's own: a Set waits for no write of
// another argument, and its supersede for none. (Found by review.)
//
// Real time: under testing/synctest a goroutine blocked on a sync.RWMutex
// (saveMu, before) is not durably blocked, so the bubble's clock never
// reaches the hung store's deadline. The bound asserted (2 Timeouts) is
// generous: a Set alone takes one.
func TestMemoizeSetsOnHungBackendDoNotQueue(t *testing.T) {
	const timeout = 200 * time.Millisecond
	c, err := New(&Options{Backend: hungSets{&remote{Backend: newSimple(t, nil)}}, Timeout: timeout,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := Memoize(c, "set-hung-queue", func(context.Context, int) (string, error) { return "v", nil })
	const n = 12
	took := make([]time.Duration, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			_ = m.Set(context.Background(), i, "x") // a different argument each
			took[i] = time.Since(start)
		}()
		time.Sleep(timeout / 2) // the next Set comes half a Timeout later
	}
	wg.Wait()
	t.Logf("Set latencies on a hung backend, Timeout %v: %v", timeout, took)
	for i, d := range took {
		if d > 2*timeout {
			t.Errorf("Set %d took %v on a backend that hangs, with Timeout %v", i, d, timeout)
		}
	}
}
