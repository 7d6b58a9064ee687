package caching

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCachedStampede: 1000 concurrent misses of one key run the handler
// once and all get its response (Flask-Caching runs it 1000 times).
func TestCachedStampede(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		release := make(chan struct{})
		var calls atomic.Int64
		ch := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			calls.Add(1)
			<-release
			_, _ = w.Write([]byte("expensive"))
		}))
		const n = 1000
		bodies := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { bodies[i] = get(ch, "/report").Body.String() })
		}
		synctest.Wait() // every request is in the handler or waiting for it
		assert.EqualValues(t, 1, calls.Load())
		close(release)
		wg.Wait()
		assert.EqualValues(t, 1, calls.Load())
		for i, b := range bodies {
			require.Equal(t, "expensive", b, "request %d", i)
		}
	})
}

// TestCachedStampedeUncacheable: when the leader's response will not be
// stored, the waiters are released at once to run the handler themselves,
// not after the leader's handler returns.
func TestCachedStampedeUncacheable(t *testing.T) {
	for name, fn := range map[string]func(w http.ResponseWriter){
		"refused at commit": func(w http.ResponseWriter) {
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
		},
		"streaming": func(w http.ResponseWriter) {
			_, _ = w.Write([]byte("data: 1\n\n"))
			w.(http.Flusher).Flush()
		},
		"too large": func(w http.ResponseWriter) {
			_, _ = w.Write(make([]byte, 100))
		},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				release := make(chan struct{})
				var calls atomic.Int64
				ch := c.Cached(time.Minute, MaxBodySize(10))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					calls.Add(1)
					fn(w)
					<-release // the stream goes on
				}))
				var wg sync.WaitGroup
				for range 10 {
					wg.Go(func() { get(ch, "/events") })
				}
				synctest.Wait()
				assert.EqualValues(t, 10, calls.Load(), "every waiter runs the handler while the leader still streams")
				close(release)
				wg.Wait()
			})
		})
	}
}

func TestCachedStampedeLeaderPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		release := make(chan struct{})
		var calls atomic.Int64
		ch := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if calls.Add(1) == 1 {
				<-release
				panic("boom")
			}
			_, _ = w.Write([]byte("ok"))
		}))
		var wg sync.WaitGroup
		var panics atomic.Int64
		bodies := make(chan string, 10)
		for range 10 {
			wg.Go(func() {
				defer func() {
					if recover() != nil {
						panics.Add(1)
					}
				}()
				bodies <- get(ch, "/x").Body.String()
			})
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		close(bodies)
		assert.EqualValues(t, 1, panics.Load(), "the panic reaches the leader's caller only")
		for b := range bodies {
			assert.Equal(t, "ok", b)
		}
	})
}

// recoverer is the caller's panic recovery middleware.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprintf(w, "recovered: %v", p)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func TestCachedPanicReachesRecoverer(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		var calls atomic.Int64
		h := recoverer(e.c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			calls.Add(1)
			_, _ = w.Write([]byte("partial"))
			panic("boom")
		})))
		w := get(h, "/")
		assert.Contains(t, w.Body.String(), "recovered: boom")
		get(h, "/")
		assert.EqualValues(t, 2, calls.Load(), "nothing stored")
	})
}

// failingStore blocks (slow) or fails (down) on every call.
type failingStore struct {
	remote
	slow bool
}

func (f *failingStore) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	if f.slow {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return f.remote.GetMany(ctx, keys)
}

func (f *failingStore) Get(ctx context.Context, key string) ([]byte, error) {
	if f.slow {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return f.remote.Get(ctx, key)
}

func TestCachedBackendFailure(t *testing.T) {
	for _, slow := range []bool{false, true} {
		t.Run(fmt.Sprintf("slow=%v", slow), func(t *testing.T) {
			logs := &recordHandler{}
			store := &failingStore{remote: remote{Backend: newSimple(t, nil)}, slow: slow}
			store.fail.Store(!slow)
			c, err := New(&Options{Backend: nopClose{store}, Logger: slog.New(logs), Timeout: 20 * time.Millisecond})
			require.NoError(t, err)
			defer c.Close()
			h := &counter{body: "served"}
			ch := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(h)
			for i := range 3 {
				w := get(ch, "/")
				assert.Equal(t, 200, w.Code)
				assert.Equal(t, fmt.Sprintf("served #%d", i+1), w.Body.String())
				assert.Equal(t, "BYPASS", w.Header().Get("X-Cache"))
			}
			assert.EqualValues(t, 3, c.Stats().Errors)
			logs.mu.Lock()
			defer logs.mu.Unlock()
			assert.Len(t, logs.records, 1, "rate-limited")
			for _, r := range logs.records {
				assert.NotContains(t, r.Message, "/")
			}
		})
	}
	t.Run("down while storing", func(t *testing.T) {
		store := &remote{Backend: newSimple(t, nil)}
		c, err := New(&Options{Backend: nopClose{store}})
		require.NoError(t, err)
		h := &counter{body: "ok"}
		ch := c.Cached(time.Minute)(h)
		get(ch, "/") // miss, stored
		store.fail.Store(true)
		assert.Equal(t, "ok #2", get(ch, "/other").Body.String())
		store.fail.Store(false)
		assert.Equal(t, "ok #1", get(ch, "/").Body.String())
	})
}

func TestCachedCorruptEntry(t *testing.T) {
	store := &remote{Backend: newSimple(t, nil)}
	c, err := New(&Options{Backend: nopClose{store}})
	require.NoError(t, err)
	h := &counter{body: "ok"}
	ch := c.Cached(time.Minute)(h)
	get(ch, "/")
	r := httptest.NewRequest("GET", "/", nil)
	key, err := c.ViewKey(r)
	require.NoError(t, err)
	raw, err := store.Backend.Get(t.Context(), key)
	require.NoError(t, err)
	e, err := decodeEntry(raw)
	require.NoError(t, err)
	e.Payload = []byte("HCS\x01garbage")
	require.NoError(t, store.Backend.Set(t.Context(), key, encodeEntry(e), 0))
	assert.Equal(t, "ok #2", get(ch, "/").Body.String(), "a corrupt entry is a miss")
	assert.EqualValues(t, 1, c.Stats().Corrupt)
	assert.Equal(t, "ok #2", get(ch, "/").Body.String(), "and is replaced")
}

func TestCachedStaleWhileRevalidate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		refreshing := make(chan struct{})
		var calls atomic.Int64
		ch := c.Cached(10*time.Second, StaleWhileRevalidate(time.Minute), CacheStatusHeader("X-Cache"))(
			http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				n := calls.Add(1)
				if n == 2 {
					<-refreshing
				}
				fmt.Fprintf(w, "v #%d", n)
			}))
		get(ch, "/")
		time.Sleep(15 * time.Second) // synctest: fake time
		w := get(ch, "/")
		assert.Equal(t, "v #1", w.Body.String())
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
		assert.Equal(t, "15", w.Header().Get("Age"))
		synctest.Wait() // the refresh is running, blocked in the handler
		w = get(ch, "/")
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"), "still stale while the refresh runs")
		close(refreshing)
		synctest.Wait()
		assert.EqualValues(t, 2, calls.Load(), "one background refresh")
		w = get(ch, "/")
		assert.Equal(t, "v #2", w.Body.String())
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.EqualValues(t, 2, c.Stats().StaleHits)
		time.Sleep(2 * time.Minute)
		assert.Equal(t, "v #3", get(ch, "/").Body.String(), "past the stale window: a plain miss")
	})
}

func TestCachedStaleIfError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var mode atomic.Value
		mode.Store("ok")
		var calls atomic.Int64
		ch := recoverer(c.Cached(10*time.Second, StaleIfError(time.Minute), CacheStatusHeader("X-Cache"))(
			http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				n := calls.Add(1)
				switch mode.Load() {
				case "500":
					w.Header().Set("X-Error", "db down")
					http.Error(w, "db down", http.StatusInternalServerError)
				case "panic":
					panic("boom")
				default:
					fmt.Fprintf(w, "good #%d", n)
				}
			})))
		get(ch, "/")
		time.Sleep(15 * time.Second)
		for _, m := range []string{"500", "panic"} {
			mode.Store(m)
			w := get(ch, "/")
			assert.Equal(t, 200, w.Code, m)
			assert.Equal(t, "good #1", w.Body.String(), m)
			assert.Equal(t, "STALE", w.Header().Get("X-Cache"), m)
			assert.Empty(t, w.Header().Get("X-Error"), "the failed response's header is dropped")
		}
		mode.Store("ok")
		assert.Equal(t, "good #4", get(ch, "/").Body.String(), "a working handler refreshes")
		time.Sleep(90 * time.Second)
		mode.Store("500")
		assert.Equal(t, 500, get(ch, "/").Code, "past the window the error passes")
	})
}

func TestCachedMux(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		var calls atomic.Int64
		mux := http.NewServeMux()
		handler := func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s id=%s #%d", r.Pattern, r.PathValue("id"), calls.Add(1))
		}
		mux.HandleFunc("GET /a", handler)
		mux.HandleFunc("GET /b/{id}", handler)
		mux.HandleFunc("GET /skip", handler)
		h := e.c.CachedMux(mux, time.Minute, RouteTTL("GET /b/{id}", 5*time.Second), SkipRoutes("GET /skip"))

		assert.Equal(t, "GET /a id= #1", get(h, "/a").Body.String())
		assert.Equal(t, "GET /b/{id} id=7 #2", get(h, "/b/7").Body.String())
		assert.Equal(t, "GET /skip id= #3", get(h, "/skip").Body.String())
		assert.Equal(t, "GET /a id= #1", get(h, "/a").Body.String())
		assert.Equal(t, "GET /b/{id} id=7 #2", get(h, "/b/7").Body.String())
		assert.Equal(t, "GET /skip id= #4", get(h, "/skip").Body.String())
		assert.Equal(t, "GET /b/{id} id=8 #5", get(h, "/b/8").Body.String())
		assert.Equal(t, 404, get(h, "/nowhere").Code)
		e.clock.Advance(6 * time.Second)
		assert.Equal(t, "GET /a id= #1", get(h, "/a").Body.String())
		assert.Equal(t, "GET /b/{id} id=7 #6", get(h, "/b/7").Body.String(), "per-route TTL")
	})
	c := Must(nil)
	defer c.Close()
	assert.Panics(t, func() { c.CachedMux(http.NewServeMux(), time.Minute, RouteTTL("GET /", -time.Second)) })
}

func TestCachedComposes(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	var ids atomic.Int64
	// An outer middleware (request id) that sets a header before the
	// handler, and an inner one (chi/gorilla style func(http.Handler) http.Handler).
	requestID := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-Id", fmt.Sprint(ids.Add(1)))
			next.ServeHTTP(w, r)
		})
	}
	inner := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Inner", "1")
			next.ServeHTTP(w, r)
		})
	}
	chain := func(mws ...func(http.Handler) http.Handler) func(http.Handler) http.Handler {
		return func(h http.Handler) http.Handler {
			for i := len(mws) - 1; i >= 0; i-- {
				h = mws[i](h)
			}
			return h
		}
	}
	h := &counter{body: "page"}
	srv := chain(requestID, c.Cached(time.Minute), inner)(h)
	get(srv, "/")
	w := get(srv, "/")
	assert.Equal(t, "page #1", w.Body.String())
	assert.Equal(t, "2", w.Header().Get("X-Request-Id"), "the outer middleware's header of this request, not the stored one")
	assert.Equal(t, "1", w.Header().Get("X-Inner"), "the inner middleware's header is part of the response")
	assert.Panics(t, func() { c.Cached(-time.Second) })
	assert.Panics(t, func() { c.Cached(time.Minute, MaxBodySize(-1)) })
	assert.Panics(t, func() { c.Cached(time.Minute, StoreStatuses(100)) })
	assert.Panics(t, func() { c.Cached(time.Minute, CacheStatusHeader("X Cache")) })
}

// TestCachedEndToEnd runs the middleware behind a real server over HTTP/1.1
// and HTTP/2, with a real client.
func TestCachedEndToEnd(t *testing.T) {
	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
		t.Run(proto, func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			events := make(chan struct{})
			var calls atomic.Int64
			mux := http.NewServeMux()
			mux.Handle("GET /products", c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"page":%q,"call":%d}`, r.URL.Query().Get("page"), calls.Add(1))
			})))
			mux.Handle("GET /events", c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprintf(w, "data: %d\n\n", calls.Add(1))
				w.(http.Flusher).Flush()
				select {
				case <-events:
				case <-r.Context().Done():
				}
				fmt.Fprint(w, "data: end\n\n")
			})))
			srv := httptest.NewUnstartedServer(mux)
			if proto == "HTTP/2.0" {
				srv.EnableHTTP2 = true
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			client := srv.Client()
			if tr, ok := client.Transport.(*http.Transport); ok && proto == "HTTP/1.1" {
				tr.TLSClientConfig = &tls.Config{}
			}

			fetch := func(path string, hdr ...string) (*http.Response, string) {
				req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
				require.NoError(t, err)
				for i := 0; i+1 < len(hdr); i += 2 {
					req.Header.Set(hdr[i], hdr[i+1])
				}
				resp, err := client.Do(req)
				require.NoError(t, err)
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				assert.Equal(t, proto, resp.Proto)
				return resp, string(b)
			}
			resp, body := fetch("/products?page=2&sort=asc")
			assert.Equal(t, "MISS", resp.Header.Get("X-Cache"))
			resp2, body2 := fetch("/products?sort=asc&page=2")
			assert.Equal(t, "HIT", resp2.Header.Get("X-Cache"))
			assert.Equal(t, body, body2)
			assert.Equal(t, "application/json", resp2.Header.Get("Content-Type"))
			assert.Equal(t, fmt.Sprint(len(body)), resp2.Header.Get("Content-Length"))
			etag := resp2.Header.Get("ETag")
			require.NotEmpty(t, etag)
			resp3, body3 := fetch("/products?page=2&sort=asc", "If-None-Match", etag)
			assert.Equal(t, http.StatusNotModified, resp3.StatusCode)
			assert.Empty(t, body3)

			// Server-sent events stream through, first event before the end.
			resp4, err := client.Get(srv.URL + "/events")
			require.NoError(t, err)
			br := bufio.NewReader(resp4.Body)
			line, err := br.ReadString('\n')
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(line, "data: "), line)
			close(events)
			rest, err := io.ReadAll(br)
			require.NoError(t, err)
			assert.Contains(t, string(rest), "data: end")
			resp4.Body.Close()
			before := calls.Load()
			resp5, err := client.Get(srv.URL + "/events")
			require.NoError(t, err)
			_, _ = io.ReadAll(resp5.Body)
			resp5.Body.Close()
			assert.Equal(t, before+1, calls.Load(), "a stream is not cached")
		})
	}
}
