package caching

import (
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A cold page that varies on Accept-Encoding asked for by many clients at
// once: one gzip client leads the flight of the base key (the Vary record
// is not known yet), and 20 br clients wait in it. When its run ends with
// the gzip variant, the br clients share one run of theirs rather than each
// run the handler: one run per variant.
func TestFlightWaitersOfAnotherVariantShareOneRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{Backend: newSimple(t, nil)})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		open := make(chan struct{})
		h := &counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Accept-Encoding") == "gzip" {
				<-open
			}
			w.Header().Set("Vary", "Accept-Encoding")
		}}
		v := c.Cached(time.Hour)(h)
		var wg sync.WaitGroup
		wg.Go(func() { assert.Equal(t, http.StatusOK, get(v, "/p", "Accept-Encoding", "gzip").Code) })
		synctest.Wait() // the gzip client leads, its handler runs
		bodies := make([]string, 20)
		for i := range bodies {
			wg.Go(func() {
				w := get(v, "/p", "Accept-Encoding", "br")
				assert.Equal(t, http.StatusOK, w.Code)
				bodies[i] = w.Body.String()
			})
		}
		synctest.Wait() // the br clients wait in the flight
		close(open)
		wg.Wait()
		assert.Equal(t, int64(2), h.calls.Load(), "one run per variant")
		for _, b := range bodies {
			assert.Equal(t, "page #2", b, "every br client got the br run's response")
		}
		assert.Equal(t, "page #2", get(v, "/p", "Accept-Encoding", "br").Body.String(), "the br variant is stored")
	})
}
