package caching

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharedAuthorizationNeverLeadsTheFlight: in SharedCache without
// UserKey, a request with Authorization led its key's flight; when its
// response was not shareable (no public, s-maxage or must-revalidate: the
// usual answer to a logged-in user), it was not stored, and every
// anonymous request that had waited for it then ran the handler itself,
// each after the whole run: one Authorization header at expiry made N
// clients wait twice. Such a request now joins a flight in progress and
// never starts one.
func TestSharedAuthorizationNeverLeadsTheFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		release := make(chan struct{})
		var calls atomic.Int32
		ch := c.Cached(time.Hour, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			<-release
			w.Header().Set("Cache-Control", "max-age=60")
			_, _ = w.Write([]byte("page"))
		}))
		var wg sync.WaitGroup
		wg.Go(func() { get(ch, "/a", "Authorization", "Bearer alice") })
		synctest.Wait()
		require.EqualValues(t, 1, calls.Load())
		const n = 5
		for range n {
			wg.Go(func() { get(ch, "/a") })
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		assert.EqualValues(t, 2, calls.Load(), "the Authorization request's run and one for the %d others", n)
		get(ch, "/a")
		assert.EqualValues(t, 2, calls.Load(), "the others' response was stored")
	})
}

// TestSharedAuthorizationJoinsAFlight: a request with Authorization still
// waits for an anonymous run of its key in progress, and gets its response
// when the response says it may be shared with it.
func TestSharedAuthorizationJoinsAFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		release := make(chan struct{})
		var calls atomic.Int32
		ch := c.Cached(time.Hour, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			<-release
			w.Header().Set("Cache-Control", "public, max-age=60")
			_, _ = w.Write([]byte("page"))
		}))
		var wg sync.WaitGroup
		wg.Go(func() { get(ch, "/a") })
		synctest.Wait()
		var body string
		wg.Go(func() { body = get(ch, "/a", "Authorization", "Bearer alice").Body.String() })
		synctest.Wait()
		close(release)
		wg.Wait()
		assert.EqualValues(t, 1, calls.Load(), "one run for both")
		assert.Equal(t, "page", body)
	})
}
