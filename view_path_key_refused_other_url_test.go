package caching

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestRefusedRunKeepsPathKeyOfOtherURL: the path version key is
// shared by every query string (and host, user, variant) of a path. A run
// that leads no flight (Authorization in a SharedCache view; a Range
// request with no flight; a request's no-store with
// HonorRequestCacheControl) and created the key checks only its own URL's
// key (adopt, entryStored) before deleting it: an entry another URL of the
// same path stored under the key meanwhile (the anonymous /page, while a
// logged-in /page?tab=2 ran) is lost. A client sending such requests with
// random query strings after each InvalidatePath keeps deleting the key
// under the popular page's entry. A run leading its own URL's flight
// (a cookie, a renewed session) deletes it at the flight's end alike
// (viewFlight.end looks at its own call's result only). Before 2abe7c4
// only a refusal for status or freshness deleted the key: all pass there.
func TestRefusedRunKeepsPathKeyOfOtherURL(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []ViewOption
		hdr  []string
	}{
		{"shared-authorization", []ViewOption{SharedCache()}, []string{"Authorization", "Bearer alice"}},
		{"shared-range", []ViewOption{SharedCache()}, []string{"Range", "bytes=0-1"}},
		{"default-request-no-store", []ViewOption{HonorRequestCacheControl()}, []string{"Cache-Control", "no-store"}},
		// Runs that lead their URL's flight: a logged-in user's page.
		{"shared-cookie-flight", []ViewOption{SharedCache()}, []string{"Cookie", "session=alice"}},
		{"default-cookie-flight", nil, []string{"Cookie", "session=alice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newSimple(t, nil)
				c := Must(&Options{Backend: b})
				defer c.Close()
				hold := make(chan struct{})
				var calls atomic.Int32
				ch := c.Cached(time.Hour, tc.opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					if r.URL.RawQuery != "" {
						<-hold // the refused run of /page?tab=2
						if r.Header.Get("Range") != "" {
							w.Header().Set("Cache-Control", "max-age=60")
							w.Header().Set("Content-Range", "bytes 0-1/4")
							w.WriteHeader(http.StatusPartialContent)
							fmt.Fprint(w, "pa")
							return
						}
						w.Header().Set("Cache-Control", "private, max-age=60")
						if r.Header.Get("Cookie") != "" {
							w.Header().Set("Set-Cookie", "session=alice; Max-Age=3600") // renewed
						}
						fmt.Fprint(w, "private page")
						return
					}
					w.Header().Set("Cache-Control", "max-age=60")
					fmt.Fprint(w, "page")
				}))
				var wg sync.WaitGroup
				wg.Go(func() { get(ch, "/page?tab=2", tc.hdr...) })
				synctest.Wait() // its run created the path key of /page, and is held
				assert.Equal(t, "page", get(ch, "/page").Body.String())
				assert.EqualValues(t, 2, calls.Load())
				assert.Equal(t, "page", get(ch, "/page").Body.String())
				assert.EqualValues(t, 2, calls.Load(), "stored: a hit")
				close(hold)
				wg.Wait() // the refused run of /page?tab=2 ends
				assert.Equal(t, "page", get(ch, "/page").Body.String())
				assert.EqualValues(t, 2, calls.Load(), "the stored /page is still a hit: the refused run of /page?tab=2 deleted the path key under it")
			})
		})
	}
}
