package caching

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// TestViewMissAnswersClientValidators: every run of the view (a miss,
// a request's own no-store run, a response the cache then refuses) sends
// the handler the client's request without its If-None-Match and
// If-Modified-Since (view.run: withoutValidators; SharedCache:
// conditional), so that a full 200 comes back to store. When nothing is
// stored (the body is over MaxBodySize, the response says private or
// no-store), the client, which holds the representation and only asked
// whether it changed, is sent the whole body again, where the origin
// (http.ServeContent, Rails' fresh_when, Django's condition) answers 304
// without the cache. Behind examples/proxy (-max-body 8 MiB), every
// browser revalidation of a large download, and of every private page with
// an ETag (Rails' default headers), downloads it in full: the cache makes
// the service slower than no cache. Nor does the view answer the client's
// validators from the 200 it just received (Varnish's hit-for-pass sends
// an uncacheable object's requests on with their validators). A response
// the view refuses at commit is answered 304 now; one it may store still
// reaches its client whole (TestViewMiss304OuterVary says why), and the
// hits answer the validators.
func TestViewMissAnswersClientValidators(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	modified := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", r.URL.Query().Get("cc"))
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "file.bin", modified, bytes.NewReader(big))
	})
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		ch := e.sharedView(origin, MaxBodySize(32<<10))
		for _, cc := range []string{
			"max-age=60",           // over MaxBodySize: never stored
			"private, max-age=600", // never stored
			"no-store",             // never stored
		} {
			target := "/file.bin?cc=" + strings.ReplaceAll(cc, " ", "")
			direct := get(origin, target, "If-None-Match", `"v1"`)
			assert.Equal(t, http.StatusNotModified, direct.Code, "without the cache")
			for i := range 2 {
				w := get(ch, target, "If-None-Match", `"v1"`)
				assert.Equal(t, http.StatusNotModified, w.Code,
					"%s, request %d: the client holds \"v1\"; sent %d bytes again (X-Cache %s)", cc, i+1, w.Body.Len(), w.Header().Get("X-Cache"))
			}
		}
		// A cacheable miss: stored, and the client that holds its ETag
		// gets the whole body (a middleware outside the view must see
		// the 200 stored); the hits answer it 304.
		small := e.sharedView(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("ETag", `"s1"`)
			http.ServeContent(w, r, "s.txt", modified, strings.NewReader("small body"))
		}))
		w := get(small, "/small", "If-None-Match", `"s1"`)
		assert.Equal(t, http.StatusOK, w.Code, "a miss that may be stored (X-Cache %s)", w.Header().Get("X-Cache"))
		assert.Equal(t, "small body", w.Body.String())
		w = get(small, "/small", "If-None-Match", `"s1"`)
		assert.Equal(t, http.StatusNotModified, w.Code, "a hit whose ETag the client holds (X-Cache %s)", w.Header().Get("X-Cache"))
	})
}

// TestViewMissNotModifiedStillStores: a miss whose client holds the
// response it may store gets the whole 200 (never a 304 made from it,
// which the middleware outside the view would not see as the 200 stored),
// and the response is stored: the next request is a hit with the body.
// One the view refuses (private) is answered 304, which carries the fields
// RFC 9110 section 15.4.5 asks for, not those that describe the body it
// does not send.
func TestViewMissNotModifiedStillStores(t *testing.T) {
	for name, opts := range map[string][]ViewOption{
		"default":     {CacheStatusHeader("X-Cache")},
		"SharedCache": {CacheStatusHeader("X-Cache"), SharedCache()},
	} {
		t.Run(name, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e := newViewEnv(t, k)
				h := &counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
					cc := "max-age=60"
					if r.URL.Query().Has("cc") {
						cc = r.URL.Query().Get("cc")
					}
					w.Header().Set("Cache-Control", cc)
					w.Header().Set("ETag", `"e1"`)
					w.Header().Set("Vary", "Accept-Language")
					w.Header().Set("Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT")
				}}
				ch := e.c.Cached(time.Minute, opts...)(h)

				w := get(ch, "/p?cc=private", "If-None-Match", `W/"e1"`)
				assert.Equal(t, http.StatusNotModified, w.Code)
				assert.Empty(t, w.Body.String())
				assert.Equal(t, "BYPASS", w.Header().Get("X-Cache"))
				assert.Equal(t, `"e1"`, w.Header().Get("Etag"))
				assert.Equal(t, "private", w.Header().Get("Cache-Control"))
				assert.Equal(t, "Accept-Language", w.Header().Get("Vary"))
				for _, k := range []string{"Content-Type", "Content-Length", "Last-Modified"} {
					assert.Empty(t, w.Header()[k], k)
				}

				w = get(ch, "/p", "If-None-Match", `W/"e1"`)
				assert.Equal(t, http.StatusOK, w.Code)
				assert.Equal(t, "page #2", w.Body.String(), "a miss that may be stored is sent whole")
				assert.Equal(t, "MISS", w.Header().Get("X-Cache"))

				w = get(ch, "/p")
				assert.Equal(t, http.StatusOK, w.Code)
				assert.Equal(t, "page #2", w.Body.String(), "the whole body was stored")
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
				assert.Equal(t, "text/plain", w.Header().Get("Content-Type"))

				w = get(ch, "/p", "If-None-Match", `"e1"`)
				assert.Equal(t, http.StatusNotModified, w.Code)
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
				assert.EqualValues(t, 2, h.calls.Load())
			})
		})
	}
}

// TestViewMissValidatorPrecedence: a miss answers 304 only where the
// client's condition matches this response's own validators, with RFC 9110
// section 13.2.2's precedence: If-None-Match over If-Modified-Since (a
// response the view refuses: no-store).
func TestViewMissValidatorPrecedence(t *testing.T) {
	const lm = "Thu, 01 Jan 2026 00:00:00 GMT"
	c := Must(nil)
	defer c.Close()
	h := &counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("ETag", `"e1"`)
		w.Header().Set("Last-Modified", lm)
	}}
	ch := c.Cached(time.Minute)(h)
	for _, tc := range []struct {
		target string
		hdr    []string
		want   int
	}{
		{"/a", []string{"If-None-Match", `"other"`, "If-Modified-Since", lm}, http.StatusOK},
		{"/b", []string{"If-None-Match", `"other", "e1"`}, http.StatusNotModified},
		{"/c", []string{"If-None-Match", "*"}, http.StatusNotModified},
		{"/d", []string{"If-Modified-Since", lm}, http.StatusNotModified},
		{"/e", []string{"If-Modified-Since", "Wed, 31 Dec 2025 23:59:59 GMT"}, http.StatusOK},
		{"/f", []string{"If-Modified-Since", "not a date"}, http.StatusOK},
		{"/g", []string{"If-Match", `"e1"`}, http.StatusOK},
	} {
		w := get(ch, tc.target, tc.hdr...)
		assert.Equal(t, tc.want, w.Code, "%s %q", tc.target, tc.hdr)
		if tc.want == http.StatusOK {
			assert.Contains(t, w.Body.String(), "page #", tc.target)
		} else {
			assert.Empty(t, w.Body.String(), tc.target)
		}
	}
	w := send(ch, http.MethodPost, "/h", "If-None-Match", `"e1"`)
	assert.Equal(t, http.StatusOK, w.Code, "not a GET or HEAD")
	// Where the handler makes no 200 (here a 404), nothing is answered 304.
	nf := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("ETag", `"e1"`)
		http.Error(w, "gone", http.StatusNotFound)
	}))
	assert.Equal(t, http.StatusNotFound, get(nf, "/nf", "If-None-Match", `"e1"`).Code)
}

// TestViewMissNotModifiedPastLimit: a response whose Content-Length passes
// MaxBodySize is refused at commit, and reaches a client that holds it as
// the 304 alone. One that passes it only while it is written (no
// Content-Length: the recorder gives up half-way) was committed as a 200
// that may be stored: it is sent whole, as a client without validators
// gets it.
func TestViewMissNotModifiedPastLimit(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	chunk := bytes.Repeat([]byte("x"), 1024)
	ch := c.Cached(time.Minute, MaxBodySize(8<<10), CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"big"`)
		if r.URL.Query().Has("declared") {
			w.Header().Set("Content-Length", strconv.Itoa(20*len(chunk)))
		}
		for range 20 {
			_, _ = w.Write(chunk)
		}
	}))
	w := get(ch, "/big?declared", "If-None-Match", `"big"`)
	assert.Equal(t, http.StatusNotModified, w.Code)
	assert.Zero(t, w.Body.Len())
	w = get(ch, "/big", "If-None-Match", `"big"`)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, 20*len(chunk), w.Body.Len())
	w = get(ch, "/big")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "MISS", w.Header().Get("X-Cache"), "not stored: past the limit")
	assert.Equal(t, 20*len(chunk), w.Body.Len())
}

// TestViewMissNotModifiedFlushed: in a SharedCache view (which keeps
// recording through flushes, from a goroutine of its own), a refused
// response the handler flushes as it goes is answered 304 all the same; a
// response it may store is sent whole, and stored whole.
func TestViewMissNotModifiedFlushed(t *testing.T) {
	e := newViewEnv(t, viewStores[0])
	ch := e.sharedView(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", r.URL.Query().Get("cc"))
		w.Header().Set("ETag", `"f1"`)
		for i := range 3 {
			_, _ = fmt.Fprintf(w, "part %d;", i)
			w.(http.Flusher).Flush()
		}
	}))
	w := get(ch, "/f?cc=private", "If-None-Match", `"f1"`)
	assert.Equal(t, http.StatusNotModified, w.Code)
	assert.Zero(t, w.Body.Len())
	w = get(ch, "/f?cc=max-age=60", "If-None-Match", `"f1"`)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "part 0;part 1;part 2;", w.Body.String())
	w = get(ch, "/f?cc=max-age=60")
	assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
	assert.Equal(t, "part 0;part 1;part 2;", w.Body.String())
}

// TestViewMissNotModifiedWaiters: the requests that wait for a run are
// answered from its response as hits are: 304 for those that hold it,
// the body for the others; the leader's client, whose response may be
// stored, gets it whole.
func TestViewMissNotModifiedWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		release := make(chan struct{})
		h := &counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) {
			<-release
			w.Header().Set("ETag", `"w1"`)
		}}
		ch := c.Cached(time.Minute)(h)
		var wg sync.WaitGroup
		codes := make([]int, 3)
		bodies := make([]string, 3)
		for i, hdr := range [][]string{{"If-None-Match", `"w1"`}, {"If-None-Match", `"w1"`}, nil} {
			wg.Go(func() {
				w := get(ch, "/w", hdr...)
				codes[i], bodies[i] = w.Code, w.Body.String()
			})
			synctest.Wait() // the first leads, the others wait for it
		}
		close(release)
		wg.Wait()
		assert.EqualValues(t, 1, h.calls.Load())
		assert.Equal(t, []int{http.StatusOK, http.StatusNotModified, http.StatusOK}, codes)
		assert.Equal(t, []string{"page #1", "", "page #1"}, bodies)
	})
}

// TestViewMissNotModifiedCodedVariant: a client that holds the gzip
// variant revalidates it on a miss with the ETag it was sent (weakened or
// suffixed), with compress outside the view and inside it: the entry
// stored is the whole response, and the hits answer it with a 304 that
// names that variant.
func TestViewMissNotModifiedCodedVariant(t *testing.T) {
	body := strings.Repeat("<p>hello</p>\n", 200)
	page := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("ETag", `"v1"`)
		_, _ = w.Write([]byte(body))
	})
	for _, outside := range []bool{true, false} {
		for _, mode := range []compress.ETagMode{compress.ETagSuffix, compress.ETagWeaken} {
			for _, shared := range []bool{false, true} {
				name := fmt.Sprintf("outside=%v mode=%v shared=%v", outside, mode, shared)
				opts := []ViewOption{CacheStatusHeader("X-Cache")}
				if shared {
					opts = append(opts, SharedCache())
				}
				cz := compress.Must(compress.Options{ETag: mode})
				send := func(h http.Handler, inm string) *httptest.ResponseRecorder {
					r := httptest.NewRequest(http.MethodGet, "/p", nil)
					r.Header.Set("Accept-Encoding", "gzip")
					if inm != "" {
						r.Header.Set("If-None-Match", inm)
					}
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					return w
				}
				// The tag the client holds: the one it was sent.
				held := send(cz.Handler(page), "").Header().Get("Etag")
				require.NotEqual(t, `"v1"`, held, name)

				c := Must(nil)
				var h http.Handler
				if outside {
					h = cz.Handler(c.Cached(time.Minute, opts...)(page))
				} else {
					h = c.Cached(time.Minute, opts...)(cz.Handler(page))
				}
				w := send(h, held)
				if outside {
					// compress answers the tag it sent itself.
					assert.Equal(t, http.StatusNotModified, w.Code, name)
					assert.Zero(t, w.Body.Len(), name)
				} else {
					// A response the view may store reaches its client whole.
					assert.Equal(t, http.StatusOK, w.Code, name)
					assert.NotZero(t, w.Body.Len(), name)
				}
				assert.Equal(t, "MISS", w.Header().Get("X-Cache"), name)
				assert.Equal(t, held, w.Header().Get("Etag"), name)
				w = send(h, held)
				assert.Equal(t, http.StatusNotModified, w.Code, name)
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"), name)
				assert.Equal(t, held, w.Header().Get("Etag"), name)
				assert.Zero(t, w.Body.Len(), name)
				w = send(h, "")
				assert.Equal(t, http.StatusOK, w.Code, name)
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"), name)
				assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"), name)
				assert.Equal(t, held, w.Header().Get("Etag"), name)
				zr, err := gzip.NewReader(w.Body)
				require.NoError(t, err, name)
				got, _ := io.ReadAll(zr)
				assert.Equal(t, body, string(got), name)
				c.Close()
			}
		}
	}
}
