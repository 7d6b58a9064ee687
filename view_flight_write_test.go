package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFlightWaiterSeesAWriteBeforeIt: a GET that joined the flight of a
// miss after a write (and its invalidation) was handed the leader's
// response, read before the write: a client read the data it had just
// replaced. A waiter now takes the leader's response only while the
// versions the leader read are current.
func TestFlightWaiterSeesAWriteBeforeIt(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		var db atomic.Value
		db.Store("v1")
		readDone, release := make(chan struct{}), make(chan struct{})
		var first atomic.Bool
		h := e.c.Cached(time.Minute, InvalidateOnWrite(), CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				db.Store("v2")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			val := db.Load().(string)
			if first.CompareAndSwap(false, true) {
				close(readDone)
				<-release // a slow render after the read
			}
			_, _ = io.WriteString(w, val)
		}))
		srv := httptest.NewServer(h)
		defer srv.Close()
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = http.Get(srv.URL + "/item") }) // the leader: reads v1
		<-readDone
		resp, err := http.Post(srv.URL+"/item", "text/plain", strings.NewReader("v2"))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		var got string
		wg.Go(func() { // the writer reads its write back
			resp, err := http.Get(srv.URL + "/item")
			if err != nil {
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got = string(b)
		})
		// The second GET joins the leader's flight: nothing is stored
		// while the leader runs. (Were it slower to come, it would find
		// the leader's entry and miss it, as invalidated: the test would
		// pass without exercising the flight.)
		time.Sleep(200 * time.Millisecond)
		close(release)
		wg.Wait()
		assert.Equal(t, "v2", got, "a GET after a write got the response read before it")
	})
}
