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

// TestRequestPragmaNoCache: with HonorRequestCacheControl, a request's
// Pragma: no-cache without a Cache-Control field (an HTTP/1.0 client's
// reload, RFC 7234 section 5.4) is read as Cache-Control: no-cache: the
// handler runs for it (it is not answered from the entry unvalidated), and
// its run's failure is not answered with the stale entry. Where the
// request has a Cache-Control field, its Pragma is ignored. It used to be
// ignored always: a fresh entry answered the reload, and a stale one the
// reload's failure.
func TestRequestPragmaNoCache(t *testing.T) {
	modes := []struct {
		name string
		opts []ViewOption
	}{
		{name: "default", opts: []ViewOption{StaleIfError(time.Minute)}},
		{name: "shared", opts: []ViewOption{StaleIfError(time.Minute), SharedCache()}},
	}
	for _, m := range modes {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			t.Run(m.name+"/"+method, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					c := Must(nil)
					defer c.Close()
					var runs atomic.Int64
					var down atomic.Bool
					opts := append([]ViewOption{CacheStatusHeader("X-Cache"), HonorRequestCacheControl()}, m.opts...)
					h := c.Cached(10*time.Second, opts...)(headStaleHandler(&runs, &down, headStale500, "max-age=10, stale-if-error=60"))
					get(h, "/page")

					w := send(h, method, "/page", "Pragma", "no-cache")
					assert.Equal(t, http.StatusOK, w.Code)
					assert.Equal(t, "2", w.Header().Get("X-Run"), "a fresh entry: the handler runs for the reload")
					assert.NotEqual(t, "HIT", w.Header().Get("X-Cache"))

					w = send(h, method, "/page", "Pragma", "no-cache", "Cache-Control", "max-stale=5")
					assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "with Cache-Control, Pragma is ignored")

					time.Sleep(15 * time.Second) // stale, within stale-if-error
					down.Store(true)
					w = sendRecovered(h, method, "/page", "Pragma", "no-cache")
					synctest.Wait()
					assert.Equal(t, http.StatusInternalServerError, w.Code, "the origin's failure, not the unvalidated entry")
					assert.Empty(t, w.Header().Get("X-Run"))

					w = sendRecovered(h, method, "/page", "Pragma", "no-cache", "Cache-Control", "max-stale=5")
					synctest.Wait()
					assert.Equal(t, http.StatusOK, w.Code, fmt.Sprintf("with Cache-Control, Pragma is ignored: %s", w.Header().Get("X-Cache")))
				})
			})
		}
	}
}
