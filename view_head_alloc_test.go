package caching

import (
	"bytes"
	"net/http"
	"runtime"
	"testing"
	"time"
)

// allocPerRequest returns the bytes h allocates per request of method for
// target, over n requests.
func allocPerRequest(h http.Handler, method, target string) uint64 {
	const n = 50
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	for range n {
		send(h, method, target)
	}
	runtime.ReadMemStats(&m1)
	return (m1.TotalAlloc - m0.TotalAlloc) / n
}

// TestSharedCacheHeadDoesNotAllocateDeclaredLength: a HEAD that no fresh
// entry answers runs the handler to revalidate the stored GET. Its response
// repeats the GET's Content-Length, and the cache allocated a buffer of
// that size (up to MaxBodySize) for a body a HEAD never has: a loop of
// HEADs on a no-cache entry allocated 1 MiB each. A HEAD through the cache
// now costs about what the handler alone costs.
func TestSharedCacheHeadDoesNotAllocateDeclaredLength(t *testing.T) {
	e := newViewEnv(t, viewStores[0])
	body := bytes.Repeat([]byte("x"), 1<<20-1)
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	})
	ch := e.sharedView(origin)
	if w := get(ch, "/big"); w.Body.Len() != len(body) {
		t.Fatalf("the GET got %d bytes", w.Body.Len())
	}
	if w := send(ch, http.MethodHead, "/big"); w.Code != http.StatusOK || w.Header().Get("Content-Length") != "1048575" {
		t.Fatalf("the HEAD got %d, Content-Length %q", w.Code, w.Header().Get("Content-Length"))
	}
	direct, cached := allocPerRequest(origin, http.MethodHead, "/big"), allocPerRequest(ch, http.MethodHead, "/big")
	if cached > direct+64<<10 {
		t.Errorf("a HEAD through the cache allocates %d bytes more than the handler alone (%d)", cached-direct, direct)
	}
}

// TestSharedCacheHeadBodyNotRecorded: a handler that writes its body for a
// HEAD too (net/http drops it) has it passed through, never also copied by
// the cache, which reads only the header of a HEAD.
func TestSharedCacheHeadBodyNotRecorded(t *testing.T) {
	e := newViewEnv(t, viewStores[0])
	body := bytes.Repeat([]byte("x"), 512<<10)
	origin := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", `"v1"`)
		w.Write(body)
	})
	ch := e.sharedView(origin)
	get(ch, "/naive")
	direct, cached := allocPerRequest(origin, http.MethodHead, "/naive"), allocPerRequest(ch, http.MethodHead, "/naive")
	if cached > direct+64<<10 {
		t.Errorf("a HEAD through the cache allocates %d bytes more than the handler alone (%d)", cached-direct, direct)
	}
}
