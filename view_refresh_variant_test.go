package caching

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestCachedStaleVariantsRefreshApart: the background refresh of a stale
// entry was keyed by the path alone, so while the "en" variant of a page
// refreshed, a stale "fr" variant's refresh was skipped (and, with Lease,
// took the lease another variant's refresh held). Each variant now
// refreshes under its own key.
func TestCachedStaleVariantsRefreshApart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		release := make(chan struct{})
		var runs [2]atomic.Int64 // en, fr
		ch := c.Cached(10*time.Second, StaleWhileRevalidate(time.Minute), CacheStatusHeader("X-Cache"))(
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Vary", "Accept-Language")
				lang := r.Header.Get("Accept-Language")
				i := 0
				if lang == "fr" {
					i = 1
				}
				n := runs[i].Add(1)
				if lang == "en" && n == 2 {
					<-release // the en refresh is slow
				}
				fmt.Fprintf(w, "%s #%d", lang, n)
			}))
		get(ch, "/page", "Accept-Language", "en")
		get(ch, "/page", "Accept-Language", "fr")
		time.Sleep(15 * time.Second)
		assert.Equal(t, "STALE", get(ch, "/page", "Accept-Language", "en").Header().Get("X-Cache"))
		synctest.Wait() // the en refresh runs, blocked
		assert.Equal(t, "STALE", get(ch, "/page", "Accept-Language", "fr").Header().Get("X-Cache"))
		synctest.Wait()
		assert.EqualValues(t, 2, runs[1].Load(), "the fr variant refreshed while en's refresh ran")
		w := get(ch, "/page", "Accept-Language", "fr")
		assert.Equal(t, "fr #2", w.Body.String())
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		close(release)
		synctest.Wait()
		assert.Equal(t, "en #2", get(ch, "/page", "Accept-Language", "en").Body.String())
	})
}

// TestRefreshWithCookieRefreshesItsVariant: a background refresh carries
// the client's Cookie, as the client's own miss would (README: requests
// with cookies are shared unless the handler says otherwise). A page that
// depends on the cookie says Vary: Cookie: the logged-in client's stale
// hit then refreshes its own variant, and the anonymous one stays
// anonymous.
func TestRefreshWithCookieRefreshesItsVariant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var runs atomic.Int64
		h := c.Cached(10*time.Second, StaleWhileRevalidate(time.Minute))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			who := "guest"
			if ck, err := r.Cookie("session"); err == nil {
				who = ck.Value
			}
			w.Header().Set("Vary", "Cookie")
			fmt.Fprintf(w, "hello %s #%d", who, runs.Add(1))
		}))
		assert.Equal(t, "hello guest #1", get(h, "/").Body.String())
		assert.Equal(t, "hello alice #2", get(h, "/", "Cookie", "session=alice").Body.String())
		time.Sleep(15 * time.Second)
		assert.Equal(t, "hello alice #2", get(h, "/", "Cookie", "session=alice").Body.String(), "stale, refreshed in the background")
		synctest.Wait()
		assert.Equal(t, "hello alice #3", get(h, "/", "Cookie", "session=alice").Body.String(), "her variant refreshed")
		assert.Equal(t, "hello guest #1", get(h, "/").Body.String(), "the anonymous variant untouched (stale)")
	})
}
