package caching_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestFailOpenWhenTheServerDies runs the response cache and Memoize on a
// real Redis and a real memcached of the test's own, kills the server, and
// checks what a user sees: every request still answered by the handler,
// every memoized call still answered by the function, fast, with the errors
// counted; then, with the server back and the same Cache, caching again.
func TestFailOpenWhenTheServerDies(t *testing.T) {
	servers := []struct {
		name    string
		start   func(t *testing.T) *testutil.Process
		backend func(t *testing.T, addr string) backend.Backend
	}{
		{"redis", func(t *testing.T) *testutil.Process {
			return testutil.StartProcess(t, "redis-server", func(port int) []string {
				return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
			})
		}, func(t *testing.T, addr string) backend.Backend {
			return redisstore.Must(redisstore.Options{URL: "redis://" + addr})
		}},
		{"memcached", func(t *testing.T) *testutil.Process {
			return testutil.StartProcess(t, "memcached", func(port int) []string {
				return []string{"-u", "root", "-l", "127.0.0.1", "-p", strconv.Itoa(port), "-m", "16"}
			})
		}, func(t *testing.T, addr string) backend.Backend {
			return memcached.Must(memcached.Options{Servers: []string{addr}})
		}},
	}
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			srv := s.start(t)
			c := caching.Must(&caching.Options{Backend: s.backend(t, srv.Addr), Timeout: time.Hour})
			t.Cleanup(func() { c.Close() })

			var runs, calls atomic.Int64
			h := c.Cached(time.Minute, caching.CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				runs.Add(1)
				fmt.Fprint(w, "products")
			}))
			stats := caching.Memoize(c, "stats", func(ctx context.Context, user int) (int, error) {
				calls.Add(1)
				return user * 10, nil
			})
			get := func(ctx context.Context) (string, string) {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("GET", "/products", nil).WithContext(ctx))
				if w.Code != http.StatusOK {
					t.Fatalf("status %d: a dead cache must not fail the request", w.Code)
				}
				b, _ := io.ReadAll(w.Body)
				return string(b), w.Header().Get("X-Cache")
			}
			memo := func(ctx context.Context) {
				t.Helper()
				v, err := stats.Get(ctx, 4)
				if err != nil || v != 40 {
					t.Fatalf("memoized Get = %d, %v; want the function's 40", v, err)
				}
			}

			bg := context.Background()
			get(bg)
			if body, xc := get(bg); xc != "HIT" || body != "products" {
				t.Fatalf("with the server up: %q %s, want a HIT", body, xc)
			}
			memo(bg)
			memo(bg)
			if calls.Load() != 1 {
				t.Fatalf("function ran %d times with the server up, want 1", calls.Load())
			}

			// With the server down every call fails at once, never
			// waiting for the backend: a call that waited for its
			// Options.Timeout of an hour would outlast the minute the
			// calls are given (thousands of times what they take).
			srv.Stop()
			down, cancel := context.WithTimeout(bg, time.Minute)
			defer cancel()
			for range 5 {
				if body, _ := get(down); body != "products" {
					t.Fatalf("with the server down the body is %q", body)
				}
				memo(down)
			}
			if down.Err() != nil {
				t.Fatal("10 calls with the server down outlasted a minute: failing open must not wait for Options.Timeout")
			}
			if runs.Load() != 6 || calls.Load() != 6 {
				t.Fatalf("with the server down the handler ran %d times and the function %d; want 5 more each", runs.Load()-1, calls.Load()-1)
			}
			if c.Stats().Errors == 0 {
				t.Fatal("backend errors were not counted")
			}

			// Start waits until the server answers. What is waited for
			// here runs on the wall clock, in the Cache: the breaker's
			// cool-down (a second) and, for memcached, its Store's
			// serverRetry (a second), which a test of package caching
			// cannot step; the Cache caches again about a second after
			// the server is back. The bound is a hundred times that.
			srv.Start()
			deadline := time.Now().Add(2 * time.Minute)
			for {
				get(bg)
				if _, xc := get(bg); xc == "HIT" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the Cache did not cache again after the server came back")
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}
