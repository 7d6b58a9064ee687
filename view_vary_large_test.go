package caching

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/httpcache"
)

// TestViewVaryLargeFieldAllocationBounded: a request whose field a Vary
// names is large (net/http allows 1 MiB of header by default) costs no
// more than a few times that field's size, whether it is past
// httpcache.MaxVaryBytes (passed through) or at it (a miss, then hits).
// The variant key, which holds every byte of it, used to be rebuilt byte by
// byte several times a request: 23 MiB allocated, and 33 ms, for a 1 MiB
// Accept-Language.
func TestViewVaryLargeFieldAllocationBounded(t *testing.T) {
	for _, size := range []int{1 << 20, httpcache.MaxVaryBytes - len("Accept-Language") - 1} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			c := Must(&Options{})
			defer c.Close()
			h := c.Cached(time.Hour)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Vary", "Accept-Language")
				_, _ = w.Write([]byte("hello"))
			}))
			const n = 20
			reqs := make([]*http.Request, n)
			for i := range reqs {
				reqs[i] = httptestRequest("/p")
				// Two requests of each variant: a miss and a hit.
				reqs[i].Header.Set("Accept-Language", fmt.Sprintf("%02d", i/2)+strings.Repeat("x", size-2))
			}
			h.ServeHTTP(httptest.NewRecorder(), httptestRequest("/p")) // the Vary record
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			for _, r := range reqs {
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
			took := time.Since(start) / n
			runtime.ReadMemStats(&after)
			per := (after.TotalAlloc - before.TotalAlloc) / n
			t.Logf("a %d-byte Accept-Language: %.1f KiB allocated and %v per request", size, float64(per)/(1<<10), took)
			if per > 4*uint64(size) {
				t.Errorf("a %d-byte header costs %.1f KiB of allocation per request (%.1fx its size); want at most 4x", size, float64(per)/(1<<10), float64(per)/float64(size))
			}
		})
	}
}

// TestViewVaryLargeFieldBypassed: a request whose fields named by the
// page's Vary total more than httpcache.MaxVaryBytes is passed through to
// the handler, neither answered from the cache nor stored, in a default
// view and in a SharedCache one, whether the Vary record is known or the
// response tells it; one at the bound is cached as any other.
func TestViewVaryLargeFieldBypassed(t *testing.T) {
	// The name and one separator count, as VaryTooLarge counts them.
	atBound := strings.Repeat("a", httpcache.MaxVaryBytes-len("Accept-Language")-1)
	over := atBound + "b"
	for name, opts := range map[string][]ViewOption{
		"default": nil,
		"shared":  {SharedCache()},
	} {
		t.Run(name, func(t *testing.T) {
			c := Must(&Options{})
			defer c.Close()
			runs := 0
			h := c.Cached(time.Hour, append(opts, CacheStatusHeader("X-Cache"))...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				runs++
				w.Header().Set("Vary", "Accept-Language")
				w.Header().Set("Cache-Control", "public, max-age=3600")
				_, _ = fmt.Fprint(w, len(r.Header.Get("Accept-Language")))
			}))
			get := func(field, value string) (string, string) {
				t.Helper()
				r := httptestRequest("/p")
				if field != "" {
					r.Header.Set(field, value)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				require.Equal(t, http.StatusOK, w.Code)
				return w.Header().Get("X-Cache"), w.Body.String()
			}

			// No record yet: the response says it varies, which refuses it
			// as its header is committed (BYPASS); not stored.
			st, body := get("Accept-Language", over)
			assert.Equal(t, "BYPASS", st)
			assert.Equal(t, fmt.Sprint(len(over)), body)
			assert.Equal(t, 1, runs)
			st, _ = get("Accept-Language", over)
			assert.Equal(t, "BYPASS", st, "an oversize variant was stored")
			assert.Equal(t, 2, runs)

			// At the bound: stored and served.
			st, _ = get("Accept-Language", atBound)
			assert.Equal(t, "MISS", st)
			st, body = get("Accept-Language", atBound)
			assert.Equal(t, "HIT", st)
			assert.Equal(t, fmt.Sprint(len(atBound)), body)
			assert.Equal(t, 3, runs)

			// The record known: passed through, not stored.
			for i := range 2 {
				st, body = get("Accept-Language", over)
				assert.Equal(t, "BYPASS", st, "request %d", i)
				assert.Equal(t, fmt.Sprint(len(over)), body)
			}
			assert.Equal(t, 5, runs)
			// Its other spelling counts (CGI-style origins read it as the
			// field).
			st, _ = get("Accept_language", over)
			assert.Equal(t, "BYPASS", st)
			assert.Equal(t, 6, runs)

			// The others' variants are untouched.
			st, _ = get("Accept-Language", atBound)
			assert.Equal(t, "HIT", st)
			st, _ = get("", "")
			assert.Equal(t, "MISS", st)
			st, _ = get("", "")
			assert.Equal(t, "HIT", st)
			assert.Equal(t, 7, runs)
		})
	}
}

// TestViewVaryOrdinaryFieldsHit: the fields browsers send, a long
// Accept-Language and a few KiB of Cookie, stay well within
// httpcache.MaxVaryBytes: their variant is stored and served.
func TestViewVaryOrdinaryFieldsHit(t *testing.T) {
	c := Must(&Options{})
	defer c.Close()
	runs := 0
	h := c.Cached(time.Hour, CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs++
		w.Header().Set("Vary", "Accept-Language, Accept-Encoding, Cookie")
		_, _ = w.Write([]byte("hello"))
	}))
	get := func() string {
		r := httptestRequest("/p")
		r.Header.Set("Accept-Language", "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5")
		r.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
		r.Header.Set("Cookie", "session="+strings.Repeat("s", 4000)+"; prefs="+strings.Repeat("p", 4000))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Header().Get("X-Cache")
	}
	assert.Equal(t, "MISS", get())
	assert.Equal(t, "HIT", get())
	assert.Equal(t, 1, runs)
}

// TestViewVaryLargeFieldStreamedThrough: a response whose Vary names
// fields of the request that total more than httpcache.MaxVaryBytes, with
// no Vary record stored yet, cannot be stored, which is known as soon as
// its header is committed: its body goes to the client as the handler
// writes it (as for any response passed through), rather than being held
// in the recorder up to MaxBodySize and refused at the end. The status
// header says BYPASS, and nothing is stored.
func TestViewVaryLargeFieldStreamedThrough(t *testing.T) {
	over := strings.Repeat("a", httpcache.MaxVaryBytes)
	chunk := []byte(strings.Repeat("x", 32<<10))
	for name, opts := range map[string][]ViewOption{
		"default": nil,
		"shared":  {SharedCache()},
	} {
		t.Run(name, func(t *testing.T) {
			c := Must(&Options{})
			defer c.Close()
			runs := 0
			var client *httptest.ResponseRecorder
			h := c.Cached(time.Hour, append(opts, CacheStatusHeader("X-Cache"))...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				runs++
				w.Header().Set("Vary", "Accept-Language")
				w.Header().Set("Cache-Control", "public, max-age=3600")
				for i := range 4 {
					_, _ = w.Write(chunk)
					assert.Equal(t, (i+1)*len(chunk), client.Body.Len(), "the client has not got the body written so far")
				}
			}))
			for i := range 2 {
				client = httptest.NewRecorder()
				r := httptestRequest("/p")
				r.Header.Set("Accept-Language", over)
				h.ServeHTTP(client, r)
				assert.Equal(t, "BYPASS", client.Header().Get("X-Cache"), "request %d", i)
				assert.Equal(t, 4*len(chunk), client.Body.Len())
			}
			assert.Equal(t, 2, runs, "an oversize variant was stored")
			key, err := c.ViewKey(httptestRequest("/p"), opts...)
			require.NoError(t, err)
			_, err = c.store.lookup(t.Context(), key, nil, time.Now())
			assert.ErrorIs(t, err, ErrNotFound, "a Vary record was stored")
		})
	}
}
