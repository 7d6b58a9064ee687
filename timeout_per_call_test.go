package caching

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// laggingStore is a remote store that answers every call correctly, each after
// delay: a backend just under Options.Timeout (a loaded Redis, a far
// region).
type laggingStore struct {
	backend.Backend
	delay time.Duration
}

func (s *laggingStore) wait(ctx context.Context) error {
	select {
	case <-time.After(s.delay):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *laggingStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	return s.Backend.Get(ctx, key)
}

func (s *laggingStore) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	return s.Backend.(backend.GetManyer).GetMany(ctx, keys)
}

func (s *laggingStore) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.Backend.Set(ctx, key, v, ttl)
}

func (s *laggingStore) Add(ctx context.Context, key string, v []byte, ttl time.Duration) (bool, error) {
	if err := s.wait(ctx); err != nil {
		return false, err
	}
	return s.Backend.Add(ctx, key, v, ttl)
}

func (s *laggingStore) Delete(ctx context.Context, keys ...string) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.Backend.Delete(ctx, keys...)
}

// TestVersionsShareOneTimeout: the read of a new path's version and
// its creation are two round trips under one Options.Timeout (run:
// store.bound once around store.versions). On a backend answering every
// call in 60% of Timeout, the Add is cut short: no response of a new path
// is ever stored, and the cut calls count as failures, so the breaker opens
// and the cache is off for everyone, though no call was slower than Timeout.
func TestVersionsShareOneTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 100 * time.Millisecond
		store := &laggingStore{Backend: newSimple(t, nil), delay: 60 * time.Millisecond}
		c := Must(&Options{Backend: store, Timeout: timeout})
		defer c.Close()
		h := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("page"))
		}))
		serve := func(path string) string {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
			require.Equal(t, "page", w.Body.String())
			return w.Header().Get("X-Cache")
		}
		serve("/a")
		assert.Equal(t, "HIT", serve("/a"), "a backend answering each call within Timeout stores the response")
		for i := range 10 {
			serve(fmt.Sprint("/p/", i))
		}
		assert.Equal(t, "closed", c.Stats().Breaker, "no call was slower than Timeout")
		assert.Zero(t, c.Stats().Errors)
	})
}

// TestVaryStoreSharesOneTimeout: a varying response's store makes
// four round trips under one Options.Timeout (storeNow's bound): the Vary
// record's read (the record, then its tag versions), its write, and the
// variant's write. On a backend answering every call in 30% of Timeout
// (150 ms for the default 500 ms), no variant after the first is ever
// stored: each miss of one waits for a store that is cut short, counted
// and logged as a backend error.
func TestVaryStoreSharesOneTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 100 * time.Millisecond
		store := &laggingStore{Backend: newSimple(t, nil), delay: 30 * time.Millisecond}
		c := Must(&Options{Backend: store, Timeout: timeout})
		defer c.Close()
		h := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Accept-Language")
			w.Write([]byte("page in " + r.Header.Get("Accept-Language")))
		}))
		serve := func(lang string) string {
			r := httptest.NewRequest(http.MethodGet, "/page", nil)
			r.Header.Set("Accept-Language", lang)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			require.Equal(t, "page in "+lang, w.Body.String())
			return w.Header().Get("X-Cache")
		}
		serve("en")
		assert.Equal(t, "HIT", serve("en"))
		serve("fr")
		assert.Equal(t, "HIT", serve("fr"), "a second variant is stored on a backend answering each call in 30% of Timeout")
		assert.Zero(t, c.Stats().Errors, "no call was slower than Timeout")
	})
}

// TestFailOpenCallsEachHaveTheTimeout: Memoize, GetOrSet and Fragment read
// new tags' versions and then create them, calls in a row (without
// GetMany, one read per tag); each has its own Options.Timeout. On a
// backend answering every call in 60% of Timeout, the result is stored and
// found by the next call, and nothing fails.
func TestFailOpenCallsEachHaveTheTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		get  func(ctx context.Context, c *Cache, calls *int) error
	}{
		{"Memoize", func(ctx context.Context, c *Cache, calls *int) error {
			f := Memoize(c, "f", func(context.Context, int) (int, error) { *calls++; return 1, nil }, TTL(time.Minute), Tags("t1", "t2"))
			_, err := f.Get(ctx, 1)
			return err
		}},
		{"GetOrSet", func(ctx context.Context, c *Cache, calls *int) error {
			_, err := GetOrSet(ctx, c, "k", time.Minute, func(context.Context) (int, error) { *calls++; return 1, nil }, Tags("t1", "t2"))
			return err
		}},
		{"Fragment", func(ctx context.Context, c *Cache, calls *int) error {
			_, err := c.Fragment(ctx, "k", time.Minute, func(w io.Writer) error {
				*calls++
				_, err := io.WriteString(w, "<p>")
				return err
			}, Tags("t1", "t2"))
			return err
		}},
	} {
		for _, many := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/GetMany=%v", tc.name, many), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					const timeout = 100 * time.Millisecond
					var store backend.Backend = &laggingStore{Backend: newSimple(t, nil), delay: 60 * time.Millisecond}
					if !many {
						store = struct{ backend.Backend }{store} // Get, Set, Add, Delete only
					}
					c := Must(&Options{Backend: store, Timeout: timeout})
					defer c.Close()
					calls := 0
					for range 2 {
						require.NoError(t, tc.get(t.Context(), c, &calls))
					}
					assert.Equal(t, 1, calls, "the second call is a hit")
					assert.Zero(t, c.Stats().Errors, "no call was slower than Timeout")
				})
			})
		}
	}
}
