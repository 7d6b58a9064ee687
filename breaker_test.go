package caching

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// TestBreakerDeadBackendEveryRequest: with the backend down, every request
// tried it (and paid its timeouts); the catalog fell from 16,700 req/s to
// 335. After Threshold consecutive failures the Cache leaves the backend
// alone for a cool-down, then probes it once, and caches again when it
// answers: no restart.
func TestBreakerDeadBackendEveryRequest(t *testing.T) {
	clock := testutil.NewClock()
	r := &remote{Backend: newSimple(t, clock)}
	var logs bytes.Buffer
	c := Must(&Options{Backend: r, Clock: clock.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Breaker: BreakerOptions{Threshold: 3, Cooldown: 10 * time.Second}})
	defer c.Close()
	h := &counter{}
	ch := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(h)
	m := Memoize(c, "f", func(_ context.Context, i int) (int, error) { return i, nil })

	r.fail.Store(true)
	for range 10 {
		require.Equal(t, http.StatusOK, get(ch, "/p").Code)
		v, err := m.Get(t.Context(), 7)
		require.NoError(t, err)
		require.Equal(t, 7, v)
	}
	assert.EqualValues(t, 3, r.trips.Load(), "the backend is called until the breaker opens, then left alone")
	assert.EqualValues(t, 10, h.calls.Load(), "every request served by the handler")
	assert.Equal(t, "open", c.Stats().Breaker)
	_, err := c.Get(t.Context(), "k")
	assert.ErrorIs(t, err, ErrUnavailable, "the direct API says why")
	assert.Equal(t, 1, strings.Count(logs.String(), "circuit breaker open"), "logged once: %s", logs.String())

	clock.Advance(11 * time.Second) // the probe fails: open again
	get(ch, "/p")
	assert.EqualValues(t, 4, r.trips.Load(), "one probe")
	get(ch, "/p")
	assert.EqualValues(t, 4, r.trips.Load())

	r.fail.Store(false) // the server is back
	clock.Advance(11 * time.Second)
	get(ch, "/p")
	assert.Equal(t, "closed", c.Stats().Breaker)
	assert.Equal(t, "HIT", get(ch, "/p").Header().Get("X-Cache"), "caching again, without a restart")
	assert.Contains(t, logs.String(), "circuit breaker closed")
}

// TestBreakerIgnoresAnswers: misses and the backend's own refusals are
// answers, not failures; a cancelled caller says nothing of the backend.
func TestBreakerIgnoresAnswers(t *testing.T) {
	r := &remote{Backend: newSimple(t, nil)}
	c := Must(&Options{Backend: r, Breaker: BreakerOptions{Threshold: 1}})
	defer c.Close()
	for i := range 5 {
		_, err := c.Get(t.Context(), fmt.Sprint("missing", i))
		require.ErrorIs(t, err, ErrNotFound)
	}
	require.NoError(t, c.Set(t.Context(), "s", []byte("x"), 0))
	_, err := c.Incr(t.Context(), "s", 1)
	require.Error(t, err, "not an integer")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _ = c.Get(ctx, "k")
	assert.Equal(t, "closed", c.Stats().Breaker)
}

func TestBreakerOptions(t *testing.T) {
	_, err := New(&Options{Backend: &remote{Backend: newSimple(t, nil)}, Breaker: BreakerOptions{Cooldown: -1}})
	require.ErrorIs(t, err, ErrInvalidOption)
	c := Must(&Options{Backend: &remote{Backend: newSimple(t, nil)}, Breaker: BreakerOptions{Threshold: -1}})
	assert.Empty(t, c.Stats().Breaker, "off")
	assert.Empty(t, Must(nil).Stats().Breaker, "in-process stores have none")
}

// TestBreakerRefusalsAreNotErrors: while the breaker was open every request
// counted a backend error (13,650 for 12,000 requests in the outage run), so
// Stats could not tell a failing backend from one left alone.
func TestBreakerRefusalsAreNotErrors(t *testing.T) {
	r := &remote{Backend: newSimple(t, nil)}
	c := Must(&Options{Backend: r, Breaker: BreakerOptions{Threshold: 1, Cooldown: time.Hour}})
	defer c.Close()
	ch := c.Cached(time.Minute)(&counter{})
	r.fail.Store(true)
	get(ch, "/p") // fails: the breaker opens
	errs := c.Stats().Errors
	for range 5 {
		get(ch, "/p")
	}
	st := c.Stats()
	assert.Equal(t, errs, st.Errors, "refusals are not errors")
	assert.EqualValues(t, 5, st.Unavailable)
}

// TestBreakerCountsDirectRefusals: Stats.Unavailable (and the metric
// caching_unavailable_total) counted only the refusals of callers that fail
// open, so a service on the direct API read 0 while the breaker refused
// every call it made.
func TestBreakerCountsDirectRefusals(t *testing.T) {
	ctx := context.Background()
	r := &remote{Backend: newSimple(t, nil)}
	c := Must(&Options{Backend: r, Breaker: BreakerOptions{Threshold: 1, Cooldown: time.Hour}})
	defer c.Close()
	r.fail.Store(true)
	_, _ = c.Get(ctx, "k") // fails: the breaker opens
	for range 4 {
		_, err := c.Get(ctx, "k")
		require.ErrorIs(t, err, ErrUnavailable)
	}
	require.ErrorIs(t, c.Set(ctx, "k", []byte("v"), time.Minute), ErrUnavailable)
	require.ErrorIs(t, SetAs(ctx, c, "n", 1, time.Minute), ErrUnavailable)
	_, err := GetAs[int](ctx, c, "n")
	require.ErrorIs(t, err, ErrUnavailable)
	assert.EqualValues(t, 7, c.Stats().Unavailable, "every call the breaker refused")
	assert.Zero(t, c.Stats().Errors, "refusals are not errors")
}

// slowRemote answers every read and write after delay, unless the call's
// context ends first: a backend that is slow, not down.
type slowRemote struct {
	remote
	delay time.Duration
	calls atomic.Int64
}

func (s *slowRemote) wait(ctx context.Context) error {
	s.calls.Add(1)
	t := time.NewTimer(s.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *slowRemote) Get(ctx context.Context, k string) ([]byte, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	return s.remote.Get(ctx, k)
}

func (s *slowRemote) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	return s.remote.GetMany(ctx, keys)
}

func (s *slowRemote) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.remote.Set(ctx, k, v, ttl)
}

// TestBreakerProbeIsBoundedByTimeout: the one call an open breaker lets
// through after its cool-down had no Options.Timeout (only the backend
// client's own timeouts, 500 ms on Redis, none on some), so that request
// waited on a slow backend far longer than any other; and a probe that
// succeeded slowly closed the breaker, so that every request paid the
// timeout again until it reopened. The backend takes 30s: a probe bounded
// by Timeout takes a small part of it, one that is not takes it whole. The
// test runs in a synctest bubble, whose clock moves only while every
// goroutine waits: the probe takes Timeout of it on any machine.
func TestBreakerProbeIsBoundedByTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout, delay = 50 * time.Millisecond, 30 * time.Second
		s := &slowRemote{remote: remote{Backend: newSimple(t, nil)}, delay: delay}
		c := Must(&Options{Backend: s, Timeout: timeout, Breaker: BreakerOptions{Threshold: 2, Cooldown: 100 * time.Millisecond}})
		defer c.Close()
		ch := c.Cached(time.Minute)(&counter{body: "ok"})
		for c.Stats().Breaker != "open" {
			require.Equal(t, http.StatusOK, get(ch, "/p").Code)
		}
		time.Sleep(150 * time.Millisecond) // the cool-down ends: the next call is the probe
		calls := s.calls.Load()
		start := time.Now()
		require.Equal(t, http.StatusOK, get(ch, "/p").Code)
		took := time.Since(start)
		require.Greater(t, s.calls.Load(), calls, "a probe reached the backend")
		assert.Less(t, took, delay/3, "the probe waited on the backend past Options.Timeout (%v)", timeout)
		assert.Equal(t, "open", c.Stats().Breaker, "a probe slower than Timeout failed: the breaker stays open")
	})
}
