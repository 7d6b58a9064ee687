package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharedHeadPersonalRefusalKeepsEntry: a HEAD that revalidates a
// stale shared entry with a Cookie or Authorization the key does not hold,
// or whose client left, may get that client's own answer (a logged-in
// user's "private" page, with the stored validators). Its refusal is not
// the resource's: the entry stays for everyone, and the origin's next
// error is answered with it (STALE), as after the same GET.
func TestSharedHeadPersonalRefusalKeepsEntry(t *testing.T) {
	for _, c := range []struct {
		name     string
		cc       string
		hdr      []string
		canceled bool
	}{
		{"Cookie private", "private, max-age=60", []string{"Cookie", "s=forged"}, false},
		{"Cookie no-store", "no-store", []string{"Cookie", "s=forged"}, false},
		{"Authorization private, must-revalidate", "private, must-revalidate, max-age=0", []string{"Authorization", "Bearer t"}, false},
		{"client left, private", "private, max-age=60", nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e := newViewEnv(t, k)
				// Mode 1: a logged-in (or forged) session, the same resource, private.
				h, mode := revalidationModes(c.cc)
				ch := e.sharedView(h, StaleIfError(time.Hour))
				get(ch, "/a")
				e.clock.Advance(20 * time.Second)
				*mode = 1
				r := httptest.NewRequest(http.MethodHead, "/a", nil)
				for i := 0; i+1 < len(c.hdr); i += 2 {
					r.Header.Set(c.hdr[i], c.hdr[i+1])
				}
				if c.canceled {
					// The client left while the handler ran.
					ctx, cancel := context.WithCancel(r.Context())
					r = r.WithContext(ctx)
					fn := h.fn
					h.fn = func(w http.ResponseWriter, r *http.Request) { cancel(); fn(w, r) }
				}
				ch.ServeHTTP(httptest.NewRecorder(), r)
				require.EqualValues(t, 2, h.calls.Load(), "the HEAD reached the handler")
				*mode = 2
				w := get(ch, "/a")
				assert.Equal(t, "STALE", w.Header().Get("X-Cache"),
					"one client's HEAD removed the shared copy: everyone now gets %d", w.Code)
			})
		})
	}
}

// TestSharedHeadPersonalRefusalControl: the same steps with a GET with a
// Cookie (or no request) in place of the HEAD keep the entry too.
func TestSharedHeadPersonalRefusalControl(t *testing.T) {
	for _, method := range []string{"", http.MethodGet} {
		e := newViewEnv(t, viewStores[0])
		h, mode := revalidationModes("private, max-age=60")
		ch := e.sharedView(h, StaleIfError(time.Hour))
		get(ch, "/a")
		e.clock.Advance(20 * time.Second)
		*mode = 1
		if method != "" {
			send(ch, method, "/a", "Cookie", "s=forged")
		}
		*mode = 2
		w := get(ch, "/a")
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"), "method %q", method)
	}
}

// TestSharedHeadRefusalWithoutCredentialsDrops: a HEAD without credentials
// whose 200 says the resource is now private is the resource's answer: the
// shared entry is dropped, as for a GET's 304 (the next error is not
// answered with the old copy).
func TestSharedHeadRefusalWithoutCredentialsDrops(t *testing.T) {
	e := newViewEnv(t, viewStores[0])
	h, mode := revalidationModes("private, max-age=60")
	ch := e.sharedView(h, StaleIfError(time.Hour))
	get(ch, "/a")
	e.clock.Advance(20 * time.Second)
	*mode = 1
	send(ch, http.MethodHead, "/a")
	*mode = 2
	w := get(ch, "/a")
	assert.Equal(t, http.StatusInternalServerError, w.Code, "X-Cache %s", w.Header().Get("X-Cache"))
}

// TestSharedHeadAfterClientLeftFreshensNothing: a HEAD whose client left
// while the handler ran gets the answer to a cancelled request, which may
// be anything: its 200 with the stored validators does not freshen the
// stored GET, as a GET's 304 made then does not (the next GET revalidates
// rather than being served the entry as fresh).
func TestSharedHeadAfterClientLeftFreshensNothing(t *testing.T) {
	e := newViewEnv(t, viewStores[0])
	h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=10")
		w.Header().Set("ETag", `"x"`)
	}}
	ch := e.sharedView(h)
	get(ch, "/a")
	e.clock.Advance(20 * time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	fn := h.fn
	h.fn = func(w http.ResponseWriter, r *http.Request) { cancel(); fn(w, r) }
	r := httptest.NewRequest(http.MethodHead, "/a", nil).WithContext(ctx)
	ch.ServeHTTP(httptest.NewRecorder(), r)
	h.fn = fn
	require.EqualValues(t, 2, h.calls.Load(), "the HEAD reached the handler")
	w := get(ch, "/a")
	assert.NotEqual(t, "HIT", w.Header().Get("X-Cache"), "a cancelled HEAD's 200 freshened the shared entry")
}

// revalidationModes is a handler in three modes: 0 stores a public entry
// with an ETag and stale-if-error; 1 answers the same resource with cc (a
// logged-in user's private page, say) and the same ETag; 2 fails (500).
func revalidationModes(cc string) (h *counter, mode *int) {
	mode = new(int)
	h = &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
		switch *mode {
		case 0:
			w.Header().Set("Cache-Control", "public, max-age=10, stale-if-error=600")
			w.Header().Set("ETag", `"x"`)
		case 1:
			w.Header().Set("Cache-Control", cc)
			w.Header().Set("ETag", `"x"`)
		case 2:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}}
	return h, mode
}
