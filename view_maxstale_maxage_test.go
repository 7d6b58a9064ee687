package caching

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// httpGet sends a GET for url, for the host cache.test, with the request
// Cache-Control cc (none when empty) and returns the response with its body
// read. The client's timeout turns a request that would wait forever into a
// failure, not a hang.
func httpGet(t *testing.T, url, cc string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Host = "cache.test" // one key on every test server, whatever its port
	if cc != "" {
		req.Header.Set("Cache-Control", cc)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp, string(body)
}

// TestSharedCacheMaxStaleWithMaxAge: with HonorRequestCacheControl, a
// request whose max-stale accepts the entry's staleness is served the stale
// entry at once (RFC 9111 section 5.2.1.2) even when it also carries max-age
// (within which the entry's age falls) or min-fresh: those refuse a stale
// response only "unless the max-stale request directive is also present".
// The request never waits for the handler, and max-stale never lifts a
// response's must-revalidate, proxy-revalidate, s-maxage or no-cache, nor
// serves what max-stale does not accept, nor an entry older than max-age.
func TestSharedCacheMaxStaleWithMaxAge(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		const swr = "max-age=10, stale-while-revalidate=60"
		tests := []struct {
			name      string
			cc        string // the response's Cache-Control
			reqCC     string // the request's
			wantStale bool   // answered with the stored entry, stale
		}{
			{"max-age and max-stale=N", swr, "max-age=100, max-stale=30", true},
			{"max-age and max-stale", swr, "max-age=100, max-stale", true},
			{"min-fresh and max-stale=N", swr, "min-fresh=5, max-stale=30", true},
			{"max-stale=N without stale-while-revalidate", "max-age=10", "max-age=100, max-stale=30", true},
			{"max-stale=N too short", swr, "max-age=100, max-stale=2", false},
			{"older than max-age", swr, "max-age=12, max-stale=30", false},
			{"max-age alone", swr, "max-age=100", false},
			{"min-fresh alone", swr, "min-fresh=5", false},
			{"must-revalidate", "max-age=10, must-revalidate, stale-while-revalidate=60", "max-age=100, max-stale=30", false},
			{"proxy-revalidate", "max-age=10, proxy-revalidate, stale-while-revalidate=60", "max-age=100, max-stale", false},
			{"s-maxage", "s-maxage=10, stale-while-revalidate=60", "max-age=100, max-stale=30", false},
			{"the request's no-cache", swr, "no-cache, max-age=100, max-stale=30", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newViewEnv(t, k)
				h := &counter{body: "b", fn: func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Cache-Control", tt.cc)
					w.Header().Set("ETag", `"x"`) // kept past freshness
				}}
				srv := httptest.NewServer(e.sharedView(h, HonorRequestCacheControl(), StaleWhileRevalidate(time.Minute)))
				defer srv.Close()

				resp, body := httpGet(t, srv.URL+"/a", "")
				require.Equal(t, "b #1", body)
				require.Equal(t, "MISS", resp.Header.Get("X-Cache"))
				e.clock.Advance(15 * time.Second) // stale by 5s, age 15s

				resp, body = httpGet(t, srv.URL+"/a", tt.reqCC)
				require.Equal(t, http.StatusOK, resp.StatusCode)
				if tt.wantStale {
					assert.Equal(t, "b #1", body, "max-stale accepts the entry: the handler's new response is not waited for")
					assert.Equal(t, "STALE", resp.Header.Get("X-Cache"))
					assert.Equal(t, "15", resp.Header.Get("Age"))
				} else {
					assert.Equal(t, "b #2", body, "the request, or the response, refuses the stale entry")
					assert.NotEqual(t, "STALE", resp.Header.Get("X-Cache"))
					assert.EqualValues(t, 2, h.calls.Load())
				}
			})
		}
	})
}

// TestLeaseMaxStaleWithMaxAge: under a Lease, while another process
// refreshes a stale entry, a request whose max-stale accepts the entry's
// staleness is answered with it at once, max-age or min-fresh besides: it
// does not wait for the lease as a request that refuses stale does
// (TestLeaseStaleRefusedByTheRequest).
func TestLeaseMaxStaleWithMaxAge(t *testing.T) {
	for _, reqCC := range []string{"max-age=100, max-stale=30", "min-fresh=5, max-stale", "max-stale=30"} {
		t.Run(reqCC, func(t *testing.T) {
			clock := testutil.NewClock()
			s := &remote{Backend: newSimple(t, clock)}
			open := func() *Cache {
				c, err := New(&Options{Backend: s, Lease: time.Minute, Clock: clock.Now})
				require.NoError(t, err)
				t.Cleanup(func() { c.Close() })
				return c
			}
			a, b := open(), open()
			var n atomic.Int64
			entered := make(chan struct{}, 1)
			gate := make(chan struct{})
			h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				k := n.Add(1)
				if k > 1 {
					entered <- struct{}{}
					<-gate // process a holds the lease meanwhile
				}
				w.Header().Set("Cache-Control", "max-age=10, stale-if-error=60")
				w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, k))
				fmt.Fprintf(w, "v%d", k)
			})
			opts := []ViewOption{SharedCache(), StaleIfError(time.Hour), HonorRequestCacheControl(), CacheStatusHeader("X-Cache")}
			sa := httptest.NewServer(a.Cached(time.Hour, opts...)(h))
			defer sa.Close()
			sb := httptest.NewServer(b.Cached(time.Hour, opts...)(h))
			defer sb.Close()
			release := sync.OnceFunc(func() { close(gate) })
			defer release() // before the servers close, should an assertion fail

			_, body := httpGet(t, sa.URL+"/p", "")
			require.Equal(t, "v1", body)
			clock.Advance(15 * time.Second) // stale by 5s, within stale-if-error

			refreshed := make(chan string, 1)
			go func() {
				_, body := httpGet(t, sa.URL+"/p", "")
				refreshed <- body
			}()
			<-entered // a's handler runs, under the lease

			resp, body := httpGet(t, sb.URL+"/p", reqCC)
			assert.Equal(t, "v1", body, "max-stale accepts the entry: it is served while a refreshes")
			assert.Equal(t, "STALE", resp.Header.Get("X-Cache"))
			assert.Equal(t, "15", resp.Header.Get("Age"))
			release()
			assert.Equal(t, "v2", <-refreshed)
			assert.EqualValues(t, 2, n.Load(), "b ran no handler")
		})
	}
}

// TestLeaseMaxStaleWithMaxAgeScene plays the scene of
// TestLeaseStaleRefusedByTheRequest (the entry stale by 4s, within the
// response's stale-if-error, while another process refreshes it under the
// Lease) with max-age and max-stale together: a max-stale that accepts the
// staleness is served the stale entry at once; one too short waits for the
// refresh, as max-age alone does.
func TestLeaseMaxStaleWithMaxAgeScene(t *testing.T) {
	const cc = "max-age=1, stale-if-error=60"
	t.Run("accepted", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w1, _, calls := leaseStaleRun(t, cc, false, []string{"Cache-Control", "max-age=100, max-stale=30"}, nil)
			assert.Equal(t, "STALE", w1.Header().Get("X-Cache"))
			assert.Equal(t, "v1", w1.Body.String())
			assert.EqualValues(t, 2, calls, "only the other process's refresh ran")
		})
	})
	t.Run("too short", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w1, _, calls := leaseStaleRun(t, cc, false, []string{"Cache-Control", "max-age=100, max-stale=2"}, nil)
			assert.Equal(t, "HIT", w1.Header().Get("X-Cache"), "a stale entry its max-stale does not accept was served")
			assert.Equal(t, "v2", w1.Body.String())
			assert.EqualValues(t, 2, calls)
		})
	})
}

// TestMaxStaleStartsTheRefresh: a request whose own max-stale accepts an
// entry that is also within its stale-while-revalidate window is served
// it STALE, and starts the background refresh that window allows, as a
// request without max-stale does: the entry does not stay stale until a
// request without max-stale comes.
func TestMaxStaleStartsTheRefresh(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				h := &counter{body: "b", fn: cacheControl("max-age=10, stale-while-revalidate=30")}
				opts := []ViewOption{CacheStatusHeader("X-Cache"), HonorRequestCacheControl(), StaleWhileRevalidate(time.Minute)}
				ttl := time.Hour
				if shared {
					opts = append(opts, SharedCache())
				} else {
					ttl = 10 * time.Second
				}
				ch := c.Cached(ttl, opts...)(h)
				get(ch, "/a")
				time.Sleep(15 * time.Second)
				w := get(ch, "/a", "Cache-Control", "max-stale=30")
				assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
				assert.Equal(t, "b #1", w.Body.String())
				synctest.Wait()
				assert.EqualValues(t, 2, h.calls.Load(), "one background refresh")
				w = get(ch, "/a")
				assert.Equal(t, "b #2", w.Body.String())
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"))

			})
		})
	}
}
