package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// corsHandler is a handler whose response varies on Origin only when the
// request has one (as CORS middlewares do): it then adds the fields made
// for that Origin and "Vary: Origin" (spelled vary). It answers
// If-None-Match itself when notModified.
func corsHandler(vary string, notModified bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("ETag", `"v1"`)
		if o := r.Header.Get("Origin"); o != "" {
			w.Header().Set("Access-Control-Allow-Origin", o)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Vary", vary)
		}
		if notModified && r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "public data")
	})
}

// TestSharedNotModifiedWithNewVaryDoesNotFreshen: a 304 that says it
// varies on a field the stored response did not vary on does not freshen
// it with the fields made for this client's Origin, which every client
// would then be served: it is taken as a 304 that does not validate, and
// the full response is stored under its own variant.
func TestSharedNotModifiedWithNewVaryDoesNotFreshen(t *testing.T) {
	e := newViewEnv(t, viewStores[0])
	ch := e.sharedView(corsHandler("Origin", true))
	get(ch, "/api/data")
	e.clock.Advance(11 * time.Second)
	w := get(ch, "/api/data", "Origin", "https://evil.example") // revalidates: 304
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != "https://evil.example" {
		t.Errorf("the revalidating client got Access-Control-Allow-Origin %q", got)
	}
	// The full response is stored under its own variant: another Origin
	// is a miss that gets its own fields. (Asked before a request without
	// Origin: the handler's response to that has no Vary, and replaces the
	// Vary record for every client, as it would without any revalidation.)
	w = get(ch, "/api/data", "Origin", "https://app.example")
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != "https://app.example" {
		t.Errorf("a client from https://app.example got Access-Control-Allow-Origin %q (X-Cache %s)",
			got, w.Header().Get("X-Cache"))
	}
	w = get(ch, "/api/data", "Origin", "https://evil.example")
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != "https://evil.example" || w.Header().Get("X-Cache") != "HIT" {
		t.Errorf("the first Origin again got Access-Control-Allow-Origin %q (X-Cache %s); want its own stored variant",
			got, w.Header().Get("X-Cache"))
	}
	w = get(ch, "/api/data")
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("a client without Origin got Access-Control-Allow-Origin %q (X-Cache %s); the handler sends it none",
			got, w.Header().Get("X-Cache"))
	}
}

// TestSharedNotModifiedSameVaryFreshens: a 304 whose Vary names what the
// stored response varies on, in another case, order or with duplicates,
// validates it as before: the entry is freshened, and the handler is not
// asked for the full response.
func TestSharedNotModifiedSameVaryFreshens(t *testing.T) {
	e := newViewEnv(t, viewStores[0])
	calls := 0
	full := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.Header().Set("Vary", "origin, ACCEPT-LANGUAGE, Origin")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		full++
		w.Header().Set("Vary", "Accept-Language, Origin")
		io.WriteString(w, "data")
	})
	ch := e.sharedView(h)
	get(ch, "/d", "Origin", "https://app.example")
	e.clock.Advance(11 * time.Second)
	get(ch, "/d", "Origin", "https://app.example") // revalidates: 304
	if w := get(ch, "/d", "Origin", "https://app.example"); w.Header().Get("X-Cache") != "HIT" {
		t.Errorf("after the 304: X-Cache %s", w.Header().Get("X-Cache"))
	}
	if calls != 2 || full != 1 {
		t.Errorf("handler ran %d times, %d full responses; want 2 and 1 (the 304 freshened the entry)", calls, full)
	}
}

// TestSharedHeadWithNewVaryDoesNotFreshen: as
// TestSharedNotModifiedWithNewVaryDoesNotFreshen, through a HEAD whose 200
// validates the stored GET (RFC 9111 section 4.3.5): the HEAD is answered,
// and nothing of it is stored.
func TestSharedHeadWithNewVaryDoesNotFreshen(t *testing.T) {
	e := newViewEnv(t, viewStores[0])
	ch := e.sharedView(corsHandler("Origin", false))
	get(ch, "/api/data")
	e.clock.Advance(11 * time.Second)
	r := httptest.NewRequest(http.MethodHead, "/api/data", nil)
	r.Header.Set("Origin", "https://evil.example")
	hw := httptest.NewRecorder()
	ch.ServeHTTP(hw, r)
	if got := hw.Header().Get("Access-Control-Allow-Origin"); hw.Code != http.StatusOK || got != "https://evil.example" {
		t.Errorf("the HEAD got %d, Access-Control-Allow-Origin %q", hw.Code, got)
	}
	w := get(ch, "/api/data")
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("a client without Origin got Access-Control-Allow-Origin %q (X-Cache %s) after another client's HEAD",
			got, w.Header().Get("X-Cache"))
	}
}
