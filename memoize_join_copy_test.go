package caching_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
)

type page struct{ Viewer string }

// joinTwo makes two concurrent calls of get, whose computation waits for
// release, and returns their results: wait lets the second call join the
// first's computation before release is closed.
func joinTwo[V any](t *testing.T, get func() (V, error), release chan struct{}, wait func()) (V, V) {
	t.Helper()
	res := make(chan V, 2)
	for range 2 {
		go func() {
			v, err := get()
			assert.NoError(t, err)
			res <- v
		}()
	}
	wait()
	close(release)
	return <-res, <-res
}

// Memoized's doc: of the callers that join one computation on a remote
// store, each one that did not run fn gets a value of its own, decoded
// from the entry's encoding, not the one fn returned: a caller that
// personalizes its copy (p.Viewer = user) must not write into the result
// of another request.
func TestMemoizeJoinedCallersGetTheirOwnCopyOnRemote(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCache(t, newRemoteStore())
		release := make(chan struct{})
		var calls atomic.Int64
		m := caching.Memoize(c, "page", func(context.Context, int) (*page, error) {
			calls.Add(1)
			<-release
			return &page{}, nil
		})
		a, b := joinTwo(t, func() (*page, error) { return m.Get(t.Context(), 1) }, release, synctest.Wait)
		require.Equal(t, int64(1), calls.Load(), "the second Get joined the first")
		a.Viewer = "alice"
		assert.Equal(t, "", b.Viewer, "bob's result was changed by alice's request")
		assert.NotSame(t, a, b)
	})
}

// The same on a real Redis (skipped without one), and for GetOrSet's
// callers, which join too.
func TestJoinedCallersGetTheirOwnCopyOnRemoteStores(t *testing.T) {
	inSharedStores(t, func(t *testing.T, open func() *caching.Cache) {
		c := open()
		// Redis answers through the network, which synctest cannot wait
		// for: the second call is given time to join, and the case is
		// tried again (with another argument) if it did not.
		for try := range 5 {
			release := make(chan struct{})
			var calls atomic.Int64
			m := caching.Memoize(c, "page", func(context.Context, int) (*page, error) {
				calls.Add(1)
				<-release
				return &page{}, nil
			})
			sleep := func() { time.Sleep(50 * time.Millisecond) }
			a, b := joinTwo(t, func() (*page, error) { return m.Get(t.Context(), try) }, release, sleep)
			if calls.Load() != 1 {
				continue
			}
			a.Viewer = "alice"
			assert.Equal(t, "", b.Viewer, "Get: bob's result was changed by alice's request")

			release = make(chan struct{})
			key := fmt.Sprint("page:", try)
			load := func(context.Context) (*page, error) { <-release; return &page{}, nil }
			a, b = joinTwo(t, func() (*page, error) { return caching.GetOrSet(t.Context(), c, key, time.Minute, load) }, release, sleep)
			a.Viewer = "alice"
			assert.Equal(t, "", b.Viewer, "GetOrSet: bob's result was changed by alice's request")
			return
		}
		t.Fatal("the second call never joined the first")
	})
}
