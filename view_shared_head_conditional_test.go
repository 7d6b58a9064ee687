package caching

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharedCacheConditionalHEADAnsweredByHandler: a conditional HEAD that
// no fresh entry answers reaches the handler with the client's own
// If-None-Match, as the package doc says; the handler's 304 answers that
// client, for the representation its own request selects, and is neither
// stored nor used to freshen the stored GET, which the next clients get
// whole.
func TestSharedCacheConditionalHEADAnsweredByHandler(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		var seen atomic.Value // the If-None-Match the handler got
		h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
			seen.Store(r.Header.Get("If-None-Match"))
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"x"`)
			if r.Header.Get("If-None-Match") == `"x"` {
				w.WriteHeader(http.StatusNotModified)
			}
		}}
		ch := e.sharedView(h)
		require.Equal(t, "b #1", get(ch, "/a").Body.String())
		e.clock.Advance(11 * time.Second)

		w := send(ch, http.MethodHead, "/a", "If-None-Match", `"x"`)
		assert.Equal(t, http.StatusNotModified, w.Code, "the handler's answer to the client's own validator")
		assert.Equal(t, `"x"`, seen.Load(), "the client's If-None-Match reached the handler")

		w = get(ch, "/a", "If-None-Match", `"y"`)
		assert.Equal(t, http.StatusOK, w.Code, "another client's validator: the whole response")
		assert.Equal(t, "b #1", w.Body.String(), "the stored body, revalidated by the cache's own conditional GET")
		assert.Equal(t, `"x"`, seen.Load(), "with the stored validator, not the client's")
		w = get(ch, "/a")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.Equal(t, "b #1", w.Body.String(), "no 304 stored")
	})
}
