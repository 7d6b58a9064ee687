package caching

import (
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharedCacheRequestStaleIfError is RFC 5861 section 4's request form:
// with HonorRequestCacheControl, a client's stale-if-error=N lets a stale
// entry answer the handler's error for its own request, within the
// StaleIfError option's bound, never for a response that forbids serving
// stale, and never beyond the life the response's own directives give the
// entry in the store.
func TestSharedCacheRequestStaleIfError(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		tests := []struct {
			name    string
			opts    []ViewOption
			cc      string // the response's Cache-Control
			etag    bool   // the response has a validator: kept for the ttl
			reqCC   string // the request's Cache-Control
			stale   time.Duration
			wantHit bool // the stale entry answers the 503
		}{
			{"the client's window", honorSIE, "max-age=1", true, "stale-if-error=30", 20 * time.Second, true},
			{"past the client's window", honorSIE, "max-age=1", true, "stale-if-error=30", 40 * time.Second, false},
			{"the option bounds the client's window", honorSIE, "max-age=1", true, "stale-if-error=600", 70 * time.Second, false},
			{"within the option's bound", honorSIE, "max-age=1", true, "stale-if-error=600", 50 * time.Second, true},
			{"without the directive", honorSIE, "max-age=1", true, "", 20 * time.Second, false},
			{"the response's own window still applies", honorSIE, "max-age=1, stale-if-error=50", true, "stale-if-error=5", 30 * time.Second, true},
			{"must-revalidate forbids it", honorSIE, "max-age=1, must-revalidate", true, "stale-if-error=30", 20 * time.Second, false},
			{"s-maxage forbids it", honorSIE, "s-maxage=1", true, "stale-if-error=30", 20 * time.Second, false},
			{"no-cache forbids it", honorSIE, "no-cache", true, "stale-if-error=30", 20 * time.Second, false},
			{"not kept longer for it", honorSIE, "max-age=1", false, "stale-if-error=30", 20 * time.Second, false},
			{"ignored without HonorRequestCacheControl", []ViewOption{StaleIfError(time.Minute)}, "max-age=1", true, "stale-if-error=30", 20 * time.Second, false},
			{"nothing stale without StaleIfError", []ViewOption{HonorRequestCacheControl()}, "max-age=1", true, "stale-if-error=30", 20 * time.Second, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newViewEnv(t, k)
				var fail atomic.Bool
				h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Cache-Control", tt.cc)
					if tt.etag {
						w.Header().Set("ETag", `"x"`)
					}
					if fail.Load() {
						w.WriteHeader(http.StatusServiceUnavailable)
					}
				}}
				ch := e.sharedView(h, tt.opts...)
				require.Equal(t, "b #1", get(ch, "/a").Body.String())
				fail.Store(true)
				e.clock.Advance(time.Second + tt.stale)
				w := get(ch, "/a", "Cache-Control", tt.reqCC)
				require.EqualValues(t, 2, h.calls.Load(), "the stale entry is revalidated first")
				if tt.wantHit {
					assert.Equal(t, http.StatusOK, w.Code)
					assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
					assert.Equal(t, "b #1", w.Body.String())
				} else {
					assert.Equal(t, http.StatusServiceUnavailable, w.Code)
				}
			})
		}
	})
}

// honorSIE are the options under which a client's stale-if-error counts.
var honorSIE = []ViewOption{HonorRequestCacheControl(), StaleIfError(time.Minute)}

// TestSharedCacheRequestStaleIfErrorIsTheClients: the stale entry a
// client's stale-if-error accepted answers that client only; the requests
// that waited for its run, which did not ask for it, each get the
// handler's error.
func TestSharedCacheRequestStaleIfErrorIsTheClients(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newViewEnv(t, viewStores[0])
		var fail atomic.Bool
		release := make(chan struct{})
		h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=1")
			w.Header().Set("ETag", `"x"`)
			if fail.Load() {
				<-release
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}}
		ch := e.sharedView(h, honorSIE...)
		get(ch, "/a")
		fail.Store(true)
		e.clock.Advance(10 * time.Second)
		asked := make(chan int, 1)
		go func() { asked <- get(ch, "/a", "Cache-Control", "stale-if-error=30").Code }()
		synctest.Wait()
		other := make(chan int, 1)
		go func() { other <- get(ch, "/a").Code }()
		synctest.Wait()
		close(release)
		assert.Equal(t, http.StatusOK, <-asked, "the client that asked gets the stale entry")
		assert.Equal(t, http.StatusServiceUnavailable, <-other, "the one that did not, the error")
	})
}
