package caching

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// marksEndAtOnce is a backend whose "not stored" lease marks end as they
// are set, as a 1 s item on memcached (whose clock ticks in whole seconds)
// may: the Set of a mark deletes the key instead. leaseSets counts the
// other Sets of a lease key (a lease set over what is there); added is
// the lease key of the last Add. With keepMarks, marks live as set.
type marksEndAtOnce struct {
	backend.Backend
	leaseSets atomic.Int64
	added     atomic.Value // the lease key of the last Add
	keepMarks bool         // marks live as set
}

func (b *marksEndAtOnce) Add(ctx context.Context, key string, v []byte, ttl time.Duration) (bool, error) {
	if strings.Contains(key, kindLease) {
		b.added.Store(key)
	}
	return b.Backend.Add(ctx, key, v, ttl)
}

func (b *marksEndAtOnce) leaseKey() string { return b.added.Load().(string) }

func (b *marksEndAtOnce) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	switch {
	case !strings.Contains(key, kindLease):
	case !bytes.Equal(v, leaseMarkedValue):
		b.leaseSets.Add(1)
	case !b.keepMarks:
		return b.Backend.Delete(ctx, key)
	}
	return b.Backend.Set(ctx, key, v, ttl)
}

// TestLeaseOwnMarkEndedEarlyIsNotTakenOver: process A's run of /p is not
// stored and marks the lease; the backend ends the mark at once (memcached
// may end a 1 s item within a tick), and B's miss adds the key's lease and
// runs. A's next miss, while B runs, found the Add refused, took the lease
// for its own mark, set it over B's lease and ran beside B; its stored run
// then deleted B's lease, which a third process's miss would then take.
// Now A's miss is no takeover: it writes no lease, reads B's, and waits
// for B's run, whose response it serves.
func TestLeaseOwnMarkEndedEarlyIsNotTakenOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shared := newSimple(t, nil)
		wrapped := &marksEndAtOnce{Backend: &remote{Backend: shared}}
		newCache := func() *Cache {
			c := Must(&Options{Backend: wrapped, Lease: time.Hour, Timeout: 10 * time.Second})
			t.Cleanup(func() { _ = c.Clear(context.Background()); _ = c.Close() })
			return c
		}
		a, b := newCache(), newCache()
		gate := make(chan struct{})
		h := &counter{body: "page"}
		h.fn = func(w http.ResponseWriter, _ *http.Request) {
			switch h.calls.Load() {
			case 1: // A's first run: not stored, marked
				w.WriteHeader(http.StatusInternalServerError)
			case 2: // B's run, under the lease it added
				<-gate
			}
		}
		va, vb := a.Cached(time.Hour)(h), b.Cached(time.Hour)(h)

		require.Equal(t, http.StatusInternalServerError, get(va, "/p").Code)
		a.background.wait() // its release: the mark, ended at once

		var fromB, fromA *httptest.ResponseRecorder
		bDone, aDone := make(chan struct{}), make(chan struct{})
		go func() { defer close(bDone); fromB = get(vb, "/p") }()
		synctest.Wait() // B holds the lease, its run at the gate
		require.EqualValues(t, 2, h.calls.Load())
		require.EqualValues(t, 1, b.Stats().Leases)

		go func() { defer close(aDone); fromA = get(va, "/p") }()
		synctest.Wait() // A's miss: waiting for B's run, or run (before)
		assert.EqualValues(t, 2, h.calls.Load(), "A ran beside B's run")
		assert.Zero(t, wrapped.leaseSets.Load(), "A set the lease over B's")
		v, err := shared.Get(context.Background(), wrapped.leaseKey())
		assert.NoError(t, err, "B's lease is gone while B runs")
		assert.Equal(t, leaseHeldValue, v)

		close(gate)
		<-bDone
		<-aDone
		require.Equal(t, http.StatusOK, fromB.Code)
		require.Equal(t, http.StatusOK, fromA.Code)
		assert.Equal(t, "page #2", fromA.Body.String(), "A serves B's run")
		assert.EqualValues(t, 2, h.calls.Load(), "one run of /p after the mark")
		assert.EqualValues(t, 1, a.Stats().LeaseWaits, "A waits for B's lease")
	})
}

// TestLeaseOwnMarkSkipsARefresh: a view's background refresh that finds the
// key's lease held is skipped, this process's own "not stored" mark
// included (its run just failed: the waiters of the other processes run
// at once). It took the mark over: it set the lease over it and ran.
func TestLeaseOwnMarkSkipsARefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		wrapped := &marksEndAtOnce{Backend: &remote{Backend: newSimple(t, nil)}, keepMarks: true}
		c := Must(&Options{Backend: wrapped, Lease: time.Hour, Timeout: 10 * time.Second})
		t.Cleanup(func() { _ = c.Clear(context.Background()); _ = c.Close() })
		h := &counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }}
		require.Equal(t, http.StatusInternalServerError, get(c.Cached(time.Hour)(h), "/p").Code)
		c.background.wait() // its release: the mark

		lk := wrapped.leaseKey()
		key := c.prefix + lk[len(c.prefix)+len(kindLease):]
		require.Equal(t, lk, c.leaseKey(key))
		l, ok := c.takeLease(t.Context(), key, time.Hour)
		assert.False(t, ok, "a refresh runs over the mark")
		assert.Nil(t, l)
		assert.Zero(t, wrapped.leaseSets.Load(), "the refresh set the lease over the mark")
		assert.EqualValues(t, 1, c.Stats().Leases)
		v, err := wrapped.Get(t.Context(), lk)
		require.NoError(t, err)
		assert.Equal(t, leaseMarkedValue, v, "the mark is gone")
	})
}
