package caching

import (
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestMaxStaleWiderThanEntryKeepsSWR: default mode (no SharedCache),
// HonorRequestCacheControl and the view's own StaleWhileRevalidate. The
// response says must-revalidate, which the view's own
// stale-while-revalidate serves past (the program's choice), so a request
// without Cache-Control is answered STALE at once. A request whose
// max-stale=3600 accepts the entry (stale by 5s) is more lenient than that
// one, yet 63a2637 counted any max-stale=N in refusesStale: it was refused
// the stale-while-revalidate answer and waited for the handler. A
// max-stale refuses only an entry staler than it accepts.
func TestMaxStaleWiderThanEntryKeepsSWR(t *testing.T) {
	for _, reqCC := range []string{"", "max-stale=3600"} {
		t.Run(fmt.Sprintf("%q", reqCC), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				h := &counter{body: "b", fn: func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Cache-Control", "max-age=10, must-revalidate")
				}}
				ch := c.Cached(10*time.Second, CacheStatusHeader("X-Cache"), HonorRequestCacheControl(), StaleWhileRevalidate(time.Minute))(h)
				get(ch, "/a")
				time.Sleep(15 * time.Second) // stale by 5s, within the view's SWR
				var hdr []string
				if reqCC != "" {
					hdr = []string{"Cache-Control", reqCC}
				}
				w := get(ch, "/a", hdr...)
				synctest.Wait()
				assert.Equal(t, "STALE", w.Header().Get("X-Cache"), "a request accepting 3600s of staleness was refused what one without max-stale gets")
				assert.Equal(t, "b #1", w.Body.String())
			})
		})
	}
}
