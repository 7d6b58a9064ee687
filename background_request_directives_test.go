package caching

import (
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/go-caching/caching/internal/httpcache"
)

// TestRefreshRunsWithoutClientDirectives: a background refresh kept the
// Cache-Control and Pragma of the client whose hit started it, which a
// proxying handler passes on to the cache behind it: a client's
// "only-if-cached" made that cache answer the refresh 504, so the refresh
// failed and the stale page stayed (and a client's max-stale could have had a
// stale copy stored). A refresh is the view's own request for the response
// every client gets: it carries no client's directives.
func TestRefreshRunsWithoutClientDirectives(t *testing.T) {
	for _, mode := range refreshModes {
		for _, fields := range [][]string{
			{"Cache-Control", "only-if-cached"},
			{"Cache_Control", "only-if-cached"},
			{"Pragma", "no-cache"},
		} {
			t.Run(mode.name+"/"+fields[0], func(t *testing.T) {
				forEachViewStore(t, func(t *testing.T, k storeKind) {
					synctest.Test(t, func(t *testing.T) {
						e := newViewEnv(t, k)
						var moved atomic.Bool
						page := movedPage(http.StatusMovedPermanently, &moved)
						// The cache behind a proxying handler: a request
						// directive it cannot satisfy fails the request.
						upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
							if httpcache.HasField(r.Header, "Cache-Control") || httpcache.HasField(r.Header, "Pragma") {
								w.WriteHeader(http.StatusGatewayTimeout)
								return
							}
							page(w, r)
						})
						view := e.sharedView(upstream, mode.opts...)
						checkRefreshOfPreconditionStores(t, view, &moved, http.StatusMovedPermanently, fields,
							func() { e.clock.Advance(mode.wait) }, synctest.Wait)
					})
				})
			})
		}
	}
}
