package caching

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRevalidationRefusedDropsTheEntry: a stored public response, later
// revalidated by a 304 (or a HEAD's 200) whose header says private or
// no-store, was left in the store with its stale window: served STALE to
// everyone, each stale hit revalidating to the same refusal, or served in
// place of the origin's next error. The origin no longer shares it: the
// entry is dropped.
func TestRevalidationRefusedDropsTheEntry(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		t.Run("304 private, stale-while-revalidate", func(t *testing.T) {
			e := newViewEnv(t, k)
			private := false
			h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("ETag", `"x"`)
				if private && r.Header.Get("If-None-Match") == `"x"` {
					w.Header().Set("Cache-Control", "private, max-age=60")
					w.WriteHeader(http.StatusNotModified)
					return
				}
				if private {
					w.Header().Set("Cache-Control", "private, max-age=60")
					return
				}
				w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=600")
			}}
			ch := e.sharedView(h, StaleWhileRevalidate(time.Hour))
			get(ch, "/a")
			private = true
			e.clock.Advance(20 * time.Second)
			// Stale: served, and revalidated in the background.
			require.Equal(t, "STALE", get(ch, "/a").Header().Get("X-Cache"))
			require.Eventually(t, func() bool {
				_, _, err := e.c.Peek(httptest.NewRequest(http.MethodGet, "/a", nil), SharedCache(), StaleWhileRevalidate(time.Hour))
				return errors.Is(err, ErrNotFound)
			}, 5*time.Second, time.Millisecond, "the background revalidation drops the entry")
			require.EqualValues(t, 2, h.calls.Load())
			for i := range 3 {
				e.clock.Advance(20 * time.Second)
				w := get(ch, "/a")
				assert.Equal(t, "BYPASS", w.Header().Get("X-Cache"), "the shared copy is gone: the origin answers, privately")
				assert.Equal(t, "private, max-age=60", w.Header().Get("Cache-Control"))
				assert.EqualValues(t, 3+i, h.calls.Load())
			}
		})
		t.Run("304 no-store, then an error", func(t *testing.T) {
			e := newViewEnv(t, k)
			mode := 0
			h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
				switch mode {
				case 0:
					w.Header().Set("Cache-Control", "max-age=10, stale-if-error=600")
					w.Header().Set("ETag", `"x"`)
				case 1:
					w.Header().Set("Cache-Control", "no-store")
					w.Header().Set("ETag", `"x"`)
					w.WriteHeader(http.StatusNotModified)
				case 2:
					w.WriteHeader(http.StatusInternalServerError)
				}
			}}
			ch := e.sharedView(h, StaleIfError(time.Hour))
			get(ch, "/a")
			e.clock.Advance(20 * time.Second)
			mode = 1
			assert.Equal(t, http.StatusOK, get(ch, "/a").Code, "the 304 answers this client")
			mode = 2
			e.clock.Advance(time.Second)
			assert.Equal(t, http.StatusInternalServerError, get(ch, "/a").Code, "the old copy is not served in place of the error")
		})
		t.Run("HEAD 200 private, then an error", func(t *testing.T) {
			e := newViewEnv(t, k)
			mode := 0
			h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("ETag", `"x"`)
				switch mode {
				case 0:
					w.Header().Set("Cache-Control", "max-age=10, stale-if-error=600")
				case 1:
					w.Header().Set("Cache-Control", "private, max-age=60")
				case 2:
					w.WriteHeader(http.StatusInternalServerError)
				}
			}}
			ch := e.sharedView(h, StaleIfError(time.Hour))
			get(ch, "/a")
			e.clock.Advance(20 * time.Second)
			mode = 1
			send(ch, http.MethodHead, "/a")
			mode = 2
			assert.Equal(t, http.StatusInternalServerError, get(ch, "/a").Code, "the HEAD that said private dropped the shared copy")
		})
	})
}
