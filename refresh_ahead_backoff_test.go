package caching

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The ways a refresh of RefreshAhead's fails: the handler or function
// fails (an error status, an error), panics, or makes a result that is
// not stored (StoreIf refuses it; a view's body is past MaxBodySize).
const (
	refreshWorks = iota
	refreshErrors
	refreshPanics
	refreshUnstored
	refreshTooLarge
)

var refreshFailures = map[string]int32{"error": refreshErrors, "panic": refreshPanics, "unstored": refreshUnstored, "too-large": refreshTooLarge}

// aheadWindow and aheadTTL: an entry is due for its refresh 40 s after it
// was stored, and a failed refresh holds off the next for a second
// (aheadBackoff).
const (
	aheadTTL    = time.Minute
	aheadWindow = 20 * time.Second
)

// checkAheadBackoff runs, in a synctest bubble, the steps of the backoff
// tests on a handler or function that runs set to mode (refreshWorks at
// first), counted in runs, whose result number n is fmt.Sprintf(result,
// n), got by hit: a hit within RefreshAhead whose refresh fails (as
// failure says) holds off the refreshes of the next hits; past the
// backoff, a hit refreshes again; one that works stores its result.
func checkAheadBackoff(t *testing.T, mode *atomic.Int32, runs *atomic.Int64, failure int32, result string, hit func() string) {
	t.Helper()
	first := fmt.Sprintf(result, 1)
	require.Equal(t, first, hit())
	time.Sleep(aheadTTL - aheadWindow + time.Second) // due
	mode.Store(failure)
	for range 10 {
		require.Equal(t, first, hit())
		synctest.Wait() // the refresh it started, if any, ended
	}
	assert.Equal(t, int64(2), runs.Load(), "one refresh ran for ten hits")

	time.Sleep(aheadBackoff(aheadWindow) + time.Millisecond)
	synctest.Wait() // the backoff's timer ran
	hit()
	synctest.Wait()
	assert.Equal(t, int64(3), runs.Load(), "past the backoff, a hit refreshes again")

	mode.Store(refreshWorks)
	time.Sleep(aheadBackoff(aheadWindow) + time.Millisecond)
	synctest.Wait()
	hit()
	synctest.Wait()
	assert.Equal(t, int64(4), runs.Load())
	assert.Equal(t, fmt.Sprintf(result, 4), hit(), "the refresh that worked stored its result")
	synctest.Wait()
	assert.Equal(t, int64(4), runs.Load(), "the new entry is fresh")
}

// TestRefreshAheadBackoffView: a hit within RefreshAhead of the end of an
// entry whose refresh just failed starts no other refresh until the
// backoff is over: the handler of a failing origin runs once, not once per
// hit. After the backoff a hit refreshes again, and a refresh that works
// stores at once.
func TestRefreshAheadBackoffView(t *testing.T) {
	for name, failure := range refreshFailures {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(&Options{Backend: newSimple(t, nil)})
				defer c.Close()
				var mode atomic.Int32
				var runs atomic.Int64
				h := c.Cached(aheadTTL, RefreshAhead(aheadWindow), MaxBodySize(64),
					StoreIf(func(r *Response) bool { return !strings.HasPrefix(string(r.Body), "refuse") }))(
					http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
						n := runs.Add(1)
						switch mode.Load() {
						case refreshErrors:
							http.Error(w, "down", http.StatusServiceUnavailable)
						case refreshPanics:
							panic("origin down")
						case refreshUnstored:
							fmt.Fprintf(w, "refuse #%d", n)
						case refreshTooLarge:
							fmt.Fprintf(w, "page #%d%s", n, strings.Repeat(" ", 100))
						default:
							fmt.Fprintf(w, "page #%d", n)
						}
					}))
				checkAheadBackoff(t, &mode, &runs, failure, "page #%d", func() string { return get(h, "/p").Body.String() })
			})
		})
	}
}

// TestRefreshAheadBackoffMemoize: as TestRefreshAheadBackoffView, for a
// memoized function. (A result StoreIf refuses removes the entry it was to
// replace, as Refresh's does: the next call is a miss, and there is no
// refresh to hold off.)
func TestRefreshAheadBackoffMemoize(t *testing.T) {
	for name, failure := range refreshFailures {
		if failure == refreshUnstored || failure == refreshTooLarge {
			continue
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(&Options{Backend: newSimple(t, nil)})
				defer c.Close()
				var mode atomic.Int32
				var runs atomic.Int64
				m := Memoize(c, "backoff", func(context.Context, int) (string, error) {
					n := runs.Add(1)
					switch mode.Load() {
					case refreshErrors:
						return "", errors.New("origin down")
					case refreshPanics:
						panic("origin down")
					}
					return fmt.Sprintf("result #%d", n), nil
				}, TTL(aheadTTL), RefreshAhead(aheadWindow))
				checkAheadBackoff(t, &mode, &runs, failure, "result #%d", func() string {
					v, err := m.Get(t.Context(), 1)
					require.NoError(t, err)
					return v
				})
			})
		})
	}
}

// TestRefreshAheadBackoffLeavesStaleRefresh: the backoff holds off only
// RefreshAhead's refreshes: once the entry is stale, a hit within
// StaleWhileRevalidate refreshes it as before, and one that works is
// stored at once.
func TestRefreshAheadBackoffLeavesStaleRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(&Options{Backend: newSimple(t, nil)})
		defer c.Close()
		// RefreshAhead of a whole minute: a backoff of a second, past the
		// entry's TTL.
		m, o := memoizeFailing(c, "backoff-stale", TTL(2*time.Second), RefreshAhead(time.Minute), StaleWhileRevalidate(time.Minute))
		fail, runs := &o.fail, &o.runs
		_, err := m.Get(t.Context(), 1)
		require.NoError(t, err)
		time.Sleep(1900 * time.Millisecond) // due
		fail.Store(true)
		_, err = m.Get(t.Context(), 1)
		require.NoError(t, err)
		synctest.Wait()
		require.Equal(t, int64(2), runs.Load(), "the refresh failed")
		fail.Store(false)
		time.Sleep(200 * time.Millisecond) // stale, within the backoff
		v, err := m.Get(t.Context(), 1)
		require.NoError(t, err)
		require.Equal(t, "result #1", v, "served stale")
		synctest.Wait()
		assert.Equal(t, int64(3), runs.Load(), "the stale entry's refresh ran")
		v, err = m.Get(t.Context(), 1)
		require.NoError(t, err)
		assert.Equal(t, "result #3", v)
	})
}

// TestRefreshKeepsRemoteAddr: a view's refresh is made for the request
// whose key it refreshes, its RemoteAddr included: under a key made of the
// client's address (UserKey), each address's entry is refreshed with the
// page for that address, never with another's or an anonymous one.
func TestRefreshKeepsRemoteAddr(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(&Options{Backend: newSimple(t, nil)})
		defer c.Close()
		var runs atomic.Int64
		h := c.Cached(aheadTTL, RefreshAhead(aheadWindow),
			UserKey(func(r *http.Request) string { return r.RemoteAddr }))(
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, "page #%d for %s", runs.Add(1), r.RemoteAddr)
			}))
		from := func(addr string) string {
			r := httptest.NewRequest(http.MethodGet, "/near-me", nil)
			r.RemoteAddr = addr
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w.Body.String()
		}
		require.Equal(t, "page #1 for 198.51.100.1:1000", from("198.51.100.1:1000"))
		require.Equal(t, "page #2 for 198.51.100.2:2000", from("198.51.100.2:2000"))
		time.Sleep(aheadTTL - aheadWindow + time.Second) // due
		require.Equal(t, "page #1 for 198.51.100.1:1000", from("198.51.100.1:1000"))
		synctest.Wait()
		assert.Equal(t, "page #3 for 198.51.100.1:1000", from("198.51.100.1:1000"), "refreshed for its address")
		assert.Equal(t, "page #2 for 198.51.100.2:2000", from("198.51.100.2:2000"), "the other's entry is its own")
	})
}
