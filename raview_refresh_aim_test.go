package caching

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestRefreshDropsAIM: a background refresh ran the handler with the A-IM
// of the client whose stale hit started it. A handler that serves deltas
// (RFC 3229) answered the refresh with its 226 for that client, which is
// never stored: the entry stayed stale, and each stale hit of such a
// client ran the handler again for nothing. A-IM asks for a response to
// that client alone, as Range does: the refresh drops it now, and stores
// the page every client gets.
func TestRefreshDropsAIM(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		env := newViewEnv(t, k)
		var n atomic.Int64
		page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("A-IM") != "" {
				w.WriteHeader(http.StatusIMUsed)
				io.WriteString(w, "delta")
				return
			}
			fmt.Fprintf(w, "page #%d", n.Add(1))
		})
		srv := httptest.NewServer(env.c.Cached(time.Minute, CacheStatusHeader("X-Cache"), StaleWhileRevalidate(time.Hour))(page))
		defer srv.Close()
		body, _ := fetch(t, srv, http.MethodGet, "/feed", "")
		assert.Equal(t, "page #1", body)
		env.clock.Advance(2 * time.Minute) // stale, within the window
		body, cs := fetch(t, srv, http.MethodGet, "/feed", "", "A-IM", "feed")
		assert.Equal(t, "STALE", cs)
		assert.Equal(t, "page #1", body)
		env.c.background.wait()
		body, cs = fetch(t, srv, http.MethodGet, "/feed", "")
		assert.Equal(t, "HIT", cs, "the refresh stored the page")
		assert.Equal(t, "page #2", body)
	})
}
