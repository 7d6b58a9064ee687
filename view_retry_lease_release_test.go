package caching

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-caching/caching/backend/simple"
	"github.com/stretchr/testify/assert"
)

// hungLeases is a Store whose lease calls (Add, Delete) hang until their
// context ends while hangs is set: a backend that stopped answering.
type hungLeases struct {
	*simple.Store
	hangs    atomic.Bool
	deadline atomic.Bool // a hung call's context had none
}

func (s *hungLeases) hold(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if strings.Contains(k, kindLease) && s.hangs.Load() {
			if _, ok := ctx.Deadline(); !ok {
				s.deadline.Store(true)
			}
			<-ctx.Done()
			return ctx.Err()
		}
	}
	return nil
}

func (s *hungLeases) Delete(ctx context.Context, keys ...string) error {
	if err := s.hold(ctx, keys...); err != nil {
		return err
	}
	return s.Store.Delete(ctx, keys...)
}

func (s *hungLeases) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := s.hold(ctx, key); err != nil {
		return false, err
	}
	return s.Store.Add(ctx, key, value, ttl)
}

// TestRetryLeaseHungReleaseBoundsWaiters: under a Lease, a leader's client
// leaves while a request waits for its run, and the backend stops
// answering. The run's lease is handed on (deleted) before the waiter
// wakes (viewCall.finish): the hung delete must hold the waiter for the
// Cache's Timeout at most, and the waiter's own lease Add another, after
// which it runs the handler (fail open), not wait for the lease's minute;
// its lease's release a third.
func TestRetryLeaseHungReleaseBoundsWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		joined := onWaiterJoined(t)
		var retried atomic.Bool
		hook := func(string, *http.Request) { retried.Store(true) }
		waiterRetryHook.Store(&hook)
		defer waiterRetryHook.Store(nil)
		b := &hungLeases{Store: newSimple(t, nil)}
		c := Must(&Options{Backend: &remote{Backend: b}, Lease: time.Minute})
		defer c.Close()
		var calls atomic.Int32
		vh := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				<-r.Context().Done() // its client leaves
				return
			}
			fmt.Fprint(w, "page")
		}))
		leaderReturned := make(chan struct{})
		hangUp := serveLeader(vh, "/popular", leaderReturned) // under the lease
		w := httptest.NewRecorder()
		waiterReturned := make(chan struct{})
		go func() {
			defer close(waiterReturned)
			vh.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/popular", nil))
		}()
		<-joined
		synctest.Wait() // the waiter waits for the leader's run
		b.hangs.Store(true)
		hangUp()
		synctest.Wait() // the lease's delete hangs
		assert.False(t, retried.Load(), "the lease is handed on before the waiter wakes")
		time.Sleep(c.store.timeout)
		synctest.Wait()
		assert.True(t, retried.Load(), "the waiter is released once the Cache's Timeout ends the delete")
		// Its own lease Add, a Timeout; the release of that lease is made
		// after its response, off its request's path (releaseLeaseLater).
		time.Sleep(c.store.timeout)
		synctest.Wait()
		select {
		case <-waiterReturned:
		default:
			t.Fatal("the waiter still waits, past two Timeouts of a hung backend")
		}
		<-leaderReturned
		assert.Equal(t, "page", w.Body.String(), "the waiter's own run")
		assert.EqualValues(t, 2, calls.Load())
		assert.False(t, b.deadline.Load(), "every lease call is bounded by the Cache's Timeout")
	})
}

// panicsOnLeaseDelete is a Store whose next lease Delete panics once armed:
// a Backend with a bug.
type panicsOnLeaseDelete struct {
	*simple.Store
	armed atomic.Bool
}

func (s *panicsOnLeaseDelete) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if strings.Contains(k, kindLease) && s.armed.CompareAndSwap(true, false) {
			panic("the backend's Delete broke")
		}
	}
	return s.Store.Delete(ctx, keys...)
}

// TestRetryLeasePanickingReleaseWakesWaiters: under a Lease, a leader that
// asked with Range fails (its 500 may be its Range's alone) and hands its
// waiters on, its lease first (viewCall.finish); the Backend's Delete of
// that lease panics. The waiters are woken at once and answered (the lease
// the panic left held reads as another process's run: they serve their
// stale entry), not left waiting for the collapse's timeout.
func TestRetryLeasePanickingReleaseWakesWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &panicsOnLeaseDelete{Store: newSimple(t, nil)}
		c := Must(&Options{Backend: &remote{Backend: b}, Lease: time.Minute})
		defer c.Close()
		var changed atomic.Bool
		gate := make(chan struct{})
		h := c.Cached(10*time.Second, StaleIfError(time.Minute))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !changed.Load() {
				w.Write([]byte("page"))
				return
			}
			if r.Header.Get("Range") != "" {
				<-gate
				w.WriteHeader(http.StatusInternalServerError) // it breaks on Range
				return
			}
			w.Write([]byte("new page"))
		}))
		assert.Equal(t, "page", get(h, "/p").Body.String())
		time.Sleep(15 * time.Second) // stale, within stale-if-error
		changed.Store(true)
		b.armed.Store(true)
		start := time.Now()
		type answer struct {
			code int
			took time.Duration // synctest's clock: no load moves it
		}
		_, got := leadWithWaiters(gate, 2,
			func() int { return sendRecovered(h, http.MethodGet, "/p", "Range", "bytes=0-1").Code },
			func() answer {
				w := get(h, "/p")
				return answer{w.Code, time.Since(start)}
			})
		assert.False(t, b.armed.Load(), "the lease's Delete ran (and panicked)")
		for i, a := range got {
			assert.Equal(t, http.StatusOK, a.code, "waiter %d", i)
			assert.Zero(t, a.took, "waiter %d waited for the collapse's timeout", i)
		}
	})
}
