package caching

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestSharedIMUsedNotServedToOthers: a SharedCache view stored a 226 IM
// Used with freshness, a delta from the base instance one client named
// (A-IM with If-None-Match, RFC 3229), and served it to the next request,
// which had no base to apply it to. A 226 is not stored now, and its
// refusal is the answer to its client's A-IM, not the resource's: it does
// not drop the full response the view holds.
func TestSharedIMUsedNotServedToOthers(t *testing.T) {
	// delta answers a request with A-IM with a 226, varying on A-IM when
	// vary is set.
	delta := func(w http.ResponseWriter, r *http.Request, vary bool) bool {
		if r.Header.Get("A-IM") == "" {
			return false
		}
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("IM", "vcdiff")
		if vary {
			w.Header().Set("Vary", "A-IM")
		}
		w.WriteHeader(http.StatusIMUsed)
		return true
	}
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		for _, vary := range []bool{false, true} {
			t.Run(fmt.Sprintf("a delta on a miss, Vary A-IM %v", vary), func(t *testing.T) {
				e := newViewEnv(t, k)
				h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
					if !delta(w, r, vary) {
						w.Header().Set("Cache-Control", "max-age=60")
					}
				}}
				ch := e.sharedView(h)
				w := get(ch, "/a", "A-IM", "vcdiff", "If-None-Match", `"x"`)
				assert.Equal(t, http.StatusIMUsed, w.Code)
				// Another client, with another base or without A-IM.
				w = get(ch, "/a", "A-IM", "vcdiff", "If-None-Match", `"y"`)
				assert.NotEqual(t, "b #1", w.Body.String(), "the delta from another base")
				w = get(ch, "/a")
				assert.Equal(t, http.StatusOK, w.Code, "a request without A-IM gets the full response")
				assert.Equal(t, "b #3", w.Body.String())
			})
		}
		t.Run("a delta refreshing a stale entry", func(t *testing.T) {
			e := newViewEnv(t, k)
			failing := false
			h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
				switch {
				case failing:
					w.WriteHeader(http.StatusInternalServerError)
				case !delta(w, r, true):
					w.Header().Set("Cache-Control", "max-age=10, stale-if-error=600")
					w.Header().Set("ETag", `"x"`)
				}
			}}
			ch := e.sharedView(h, StaleIfError(time.Hour))
			get(ch, "/a")
			e.clock.Advance(20 * time.Second)
			w := get(ch, "/a", "A-IM", "vcdiff", "If-None-Match", `"x"`)
			assert.Equal(t, http.StatusIMUsed, w.Code)
			failing = true
			w = get(ch, "/a")
			assert.Equal(t, http.StatusOK, w.Code, "the full response the 226 did not replace answers the error")
			assert.Equal(t, "b #1", w.Body.String())
		})
	})
}
