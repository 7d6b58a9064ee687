package caching

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// TestRequestStatusStoredEarlierNotServed: an entry stored with one of
// raviewStatuses by an earlier version that stored what StoreStatuses
// listed (a 412 for one client's If-Match, a 429 of its rate limit),
// still in a Redis or file backend after an upgrade, was served to every
// client until it expired, as fresh, stale within StaleWhileRevalidate
// (each stale hit refreshing it) and within StaleIfError in place of the
// handler's own failure, and Peek returned it. The lookup is a miss now,
// as SharedCache's is for the statuses it no longer stores: the handler
// answers, and its page replaces the entry.
func TestRequestStatusStoredEarlierNotServed(t *testing.T) {
	for _, status := range raviewStatuses {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			clock := testutil.NewClock()
			b := &remote{Backend: newSimple(t, clock)}
			c, err := New(&Options{Backend: b, Clock: clock.Now})
			require.NoError(t, err)
			t.Cleanup(func() { c.Close() })
			var n atomic.Int64
			var down atomic.Bool
			page := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if down.Load() {
					w.WriteHeader(http.StatusBadGateway)
					io.WriteString(w, "origin down")
					return
				}
				fmt.Fprintf(w, "page #%d", n.Add(1))
			})
			opts := []ViewOption{CacheStatusHeader("X-Cache"), StoreStatuses(append([]int{200}, raviewStatuses...)...)}
			t.Run("fresh", func(t *testing.T) {
				srv := httptest.NewServer(c.Cached(time.Minute, opts...)(page))
				defer srv.Close()
				body, _ := fetch(t, srv, http.MethodGet, "/fresh", "")
				require.Equal(t, fmt.Sprintf("page #%d", n.Load()), body)
				storeStatusAs(t, c, b, srv.URL+"/fresh", status, opts...)
				res, err := srv.Client().Get(srv.URL + "/fresh")
				require.NoError(t, err)
				got, _ := io.ReadAll(res.Body)
				res.Body.Close()
				assert.Equal(t, http.StatusOK, res.StatusCode, "the stored %d was served (%s)", status, res.Header.Get("X-Cache"))
				body, cs := fetch(t, srv, http.MethodGet, "/fresh", "")
				assert.Equal(t, "HIT", cs, "the handler's page replaced the entry")
				assert.Equal(t, string(got), body)
			})
			t.Run("peek", func(t *testing.T) {
				srv := httptest.NewServer(c.Cached(time.Minute, opts...)(page))
				defer srv.Close()
				fetch(t, srv, http.MethodGet, "/peek", "")
				storeStatusAs(t, c, b, srv.URL+"/peek", status, opts...)
				_, _, err := c.Peek(httptest.NewRequest(http.MethodGet, srv.URL+"/peek", nil), opts...)
				assert.True(t, errors.Is(err, ErrNotFound), "Peek returned the stored %d: %v", status, err)
			})
			t.Run("stale-while-revalidate", func(t *testing.T) {
				srv := httptest.NewServer(c.Cached(time.Minute, append(opts, StaleWhileRevalidate(time.Hour))...)(page))
				defer srv.Close()
				fetch(t, srv, http.MethodGet, "/swr", "")
				storeStatusAs(t, c, b, srv.URL+"/swr", status, append(opts, StaleWhileRevalidate(time.Hour))...)
				clock.Advance(2 * time.Minute) // stale, within the window
				res, err := srv.Client().Get(srv.URL + "/swr")
				require.NoError(t, err)
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				assert.Equal(t, http.StatusOK, res.StatusCode, "the stored %d was served stale (%s)", status, res.Header.Get("X-Cache"))
				c.background.wait()
			})
			t.Run("stale-if-error", func(t *testing.T) {
				srv := httptest.NewServer(c.Cached(time.Minute, append(opts, StaleIfError(time.Hour))...)(page))
				defer srv.Close()
				fetch(t, srv, http.MethodGet, "/sie", "")
				storeStatusAs(t, c, b, srv.URL+"/sie", status, append(opts, StaleIfError(time.Hour))...)
				clock.Advance(2 * time.Minute)
				down.Store(true)
				defer down.Store(false)
				res, err := srv.Client().Get(srv.URL + "/sie")
				require.NoError(t, err)
				got, _ := io.ReadAll(res.Body)
				res.Body.Close()
				assert.Equal(t, http.StatusBadGateway, res.StatusCode, "the stored %d answered the handler's failure", status)
				assert.Equal(t, "origin down", string(got))
			})
		})
	}
}
