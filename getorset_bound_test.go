package caching

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// hungSet is a remote store whose Sets, once hang is set, never answer:
// each waits until its context ends (as a client of a server that hung
// does) or release is closed. entered gets one value per hung Set.
type hungSet struct {
	backend.Backend
	hang    atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func newHungSet(t *testing.T) *hungSet {
	return &hungSet{Backend: newSimple(t, nil), entered: make(chan struct{}, 16), release: make(chan struct{})}
}

func (b *hungSet) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if b.hang.Load() {
		b.entered <- struct{}{}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-b.release:
		}
	}
	return b.Backend.Set(ctx, key, v, ttl)
}

// TestGetOrSetSaveBoundedByTimeout: the store of a GetOrSet load's value
// ran under no deadline at all (the load goes on for the other callers,
// detached from its caller's context), so that on a backend that hung it
// never ended: every GetOrSet caller without a deadline of its own waited
// for ever, as did any Set or Delete of the key (see the next test). Now
// it is bounded by Options.Timeout, as Memoize's and Fragment's stores are:
// the callers get the load's value and the store's error.
func TestGetOrSetSaveBoundedByTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newHungSet(t)
		defer close(b.release) // without the bound: lets the hung store end
		c := Must(&Options{Backend: b, Timeout: time.Second})
		defer c.Close()
		ctx := t.Context() // no deadline
		b.hang.Store(true)
		type result struct {
			v   string
			err error
		}
		got := make(chan result, 1)
		go func() {
			v, err := GetOrSet(ctx, c, "user:42", time.Hour, func(context.Context) (string, error) { return "loaded", nil })
			got <- result{v, err}
		}()
		select {
		case r := <-got:
			assert.Equal(t, "loaded", r.v, "the load's value, though it could not be stored")
			assert.ErrorIs(t, r.err, context.DeadlineExceeded)
		case <-time.After(time.Hour): // the bubble's clock: no wait
			t.Fatal("GetOrSet still waits for the store of a backend that hung, an hour on")
		}
		b.hang.Store(false)
		require.NoError(t, c.Delete(ctx, "user:42"))
	})
}

// TestDeleteDuringHungGetOrSetSave: a Delete (or any write) of a key waits
// for a GetOrSet store of that key under way, so that the store does not
// land after it. That store had no deadline: with a backend that hung, the
// Delete waited for ever, whatever its own context. Now it waits at most
// Options.Timeout, the bound of the store.
func TestDeleteDuringHungGetOrSetSave(t *testing.T) {
	b := newHungSet(t)
	defer close(b.release)
	c := Must(&Options{Backend: b, Timeout: 10 * time.Millisecond})
	defer c.Close()
	ctx := context.Background()
	b.hang.Store(true)
	loaded := make(chan error, 1)
	go func() {
		_, err := GetOrSet(ctx, c, "user:42", time.Hour, func(context.Context) (string, error) { return "old", nil })
		loaded <- err
	}()
	<-b.entered // the store is under way, and hangs
	deleted := make(chan error, 1)
	go func() { deleted <- c.Delete(ctx, "user:42") }()
	select {
	case err := <-deleted:
		require.NoError(t, err)
	case <-time.After(time.Minute): // a liveness guard, not a measure
		t.Fatal("Delete still waits for the store of a backend that hung")
	}
	assert.ErrorIs(t, <-loaded, context.DeadlineExceeded)
	_, err := GetAs[string](ctx, c, "user:42")
	assert.ErrorIs(t, err, ErrNotFound)
}

// TestGetOrSetStoresAfterCallerLeft: a GetOrSet caller whose context ends
// right after its load returned does not take the store with it: the load
// runs on (as Memoize's computations do) and its value is stored for the
// callers that come next, and given to those that joined it.
func TestGetOrSetStoresAfterCallerLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(&Options{Backend: &remote{Backend: newSimple(t, nil)}})
		defer c.Close()
		ctx, cancel := context.WithCancel(t.Context())
		release := make(chan struct{})
		first := make(chan error, 1)
		go func() {
			_, err := GetOrSet(ctx, c, "user:42", time.Hour, func(context.Context) (string, error) {
				<-release
				cancel() // the caller leaves as the load returns
				return "loaded", nil
			})
			first <- err
		}()
		synctest.Wait()
		joined := make(chan string, 1)
		go func() {
			v, err := GetOrSet(t.Context(), c, "user:42", time.Hour, func(context.Context) (string, error) { return "second load", nil })
			assert.NoError(t, err)
			joined <- v
		}()
		synctest.Wait()
		close(release)
		<-first // its value, or its context's error
		assert.Equal(t, "loaded", <-joined)
		synctest.Wait() // the load has ended
		v, err := GetAs[string](t.Context(), c, "user:42")
		require.NoError(t, err)
		assert.Equal(t, "loaded", v, "the value was lost with the caller that left")
	})
}
