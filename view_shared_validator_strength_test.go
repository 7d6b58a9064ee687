package caching

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
	"github.com/go-caching/caching/internal/testutil"
)

// TestSharedCacheHEADOfIdentityKeepsGzipEntryWeak: SharedCache around
// compress (ETagWeaken), and a handler that answers HEAD with its header
// only. compress sends that HEAD unencoded with the handler's strong
// "v1" (it has no size to decide on), while the stored gzip GET has
// W/"v1". RFC 9111 section 4.3.5 selects stored responses by the same
// strong validator, and the HEAD describes the identity representation
// (no Content-Encoding): it must not freshen the gzip entry. It did, and
// gzip clients then got gzip bytes under the identity's strong "v1",
// which a resume with If-Range "v1" trusts for a range of the unencoded
// bytes (a corrupt download). The unencoded entry, which the HEAD does
// describe, is still freshened by it, and the stale gzip entry is
// revalidated by compress's 304, which carries its weak tag.
func TestSharedCacheHEADOfIdentityKeepsGzipEntryWeak(t *testing.T) {
	clock := testutil.NewClock()
	c, err := New(&Options{Clock: clock.Now})
	require.NoError(t, err)
	defer c.Close()
	mod := clock.Now().Add(-time.Hour)
	var gets, unconditional atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("ETag", `"v1"`)
		if r.Method == http.MethodHead {
			return // the header is all a HEAD needs
		}
		gets.Add(1)
		if r.Header.Get("If-None-Match") == "" {
			unconditional.Add(1)
		}
		http.ServeContent(w, r, "", mod, strings.NewReader(catalogJSON))
	})
	view := c.Cached(time.Minute, SharedCache(), CacheStatusHeader("X-Cache"))(compress.Middleware(compress.Options{})(h))
	do := func(method, acceptEncoding string, kv ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/export.json", nil)
		if acceptEncoding != "" {
			r.Header.Set("Accept-Encoding", acceptEncoding)
		}
		for i := 0; i < len(kv); i += 2 {
			r.Header.Set(kv[i], kv[i+1])
		}
		w := httptest.NewRecorder()
		view.ServeHTTP(w, r)
		return w
	}

	t.Run("gzip entry", func(t *testing.T) {
		w := do(http.MethodGet, "gzip")
		require.Equal(t, "gzip", w.Header().Get("Content-Encoding"))
		require.Equal(t, `W/"v1"`, w.Header().Get("Etag"), "compress weakens the tag of what it encodes")

		clock.Advance(11 * time.Second) // the stored GET is stale
		hw := do(http.MethodHead, "gzip")
		require.Equal(t, http.StatusOK, hw.Code)
		require.Empty(t, hw.Header().Get("Content-Encoding"), "compress answers this HEAD unencoded")
		require.Equal(t, `"v1"`, hw.Header().Get("Etag"))

		w = do(http.MethodGet, "gzip")
		assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"))
		assert.Equal(t, `W/"v1"`, w.Header().Get("Etag"), "gzip bytes never carry the identity's strong tag")
		assert.Equal(t, catalogJSON, decodeBody(t, w))
		assert.Equal(t, int64(1), unconditional.Load(), "revalidated with compress's 304, which carries W/\"v1\"")
		w = do(http.MethodGet, "gzip")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.Equal(t, `W/"v1"`, w.Header().Get("Etag"))
	})

	t.Run("identity entry", func(t *testing.T) {
		clock.Advance(2 * time.Minute) // past the view's ttl: both entries gone
		w := do(http.MethodGet, "")
		require.Empty(t, w.Header().Get("Content-Encoding"))
		require.Equal(t, `"v1"`, w.Header().Get("Etag"))
		clock.Advance(11 * time.Second)
		require.Equal(t, http.StatusOK, do(http.MethodHead, "").Code)
		before := gets.Load()
		w = do(http.MethodGet, "")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the HEAD of the same representation freshened it")
		assert.Equal(t, `"v1"`, w.Header().Get("Etag"))
		assert.Equal(t, before, gets.Load())
	})
}

// TestSharedCache304StrongTagKeepsGzipEntryWeak: an origin that encodes on
// the fly and weakens the tag of what it encodes (nginx's gzip), but
// answers a conditional request with a 304 carrying its strong tag
// (nginx's 304 is made before its gzip filter). The view revalidates its
// stored gzip W/"v1" with If-None-Match W/"v1" and gets a 304 with "v1".
// It had freshened the gzip entry with "v1", which every gzip client then
// got (a resume with If-Range "v1" was handed identity bytes). Then the
// 304 freshened nothing and every revalidation ran the handler twice (a
// 304, then a full body). The 304 answers the view's weak condition, so
// it validates the entry, which keeps its weak tag: one run.
func TestSharedCache304StrongTagKeepsGzipEntryWeak(t *testing.T) {
	clock := testutil.NewClock()
	c, err := New(&Options{Clock: clock.Now})
	require.NoError(t, err)
	defer c.Close()
	var gz strings.Builder
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(catalogJSON))
	require.NoError(t, zw.Close())
	var runs, notModified atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("Vary", "Accept-Encoding")
		if inm := r.Header.Get("If-None-Match"); inm == `"v1"` || inm == `W/"v1"` {
			notModified.Add(1)
			w.Header().Set("ETag", `"v1"`) // as nginx: its 304 skips the gzip filter
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("ETag", `W/"v1"`)
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = io.WriteString(w, gz.String())
			return
		}
		w.Header().Set("ETag", `"v1"`)
		_, _ = io.WriteString(w, catalogJSON)
	})
	view := c.Cached(time.Minute, SharedCache(), CacheStatusHeader("X-Cache"))(h)
	get := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/export.json", nil)
		r.Header.Set("Accept-Encoding", "gzip")
		w := httptest.NewRecorder()
		view.ServeHTTP(w, r)
		return w
	}
	w := get()
	require.Equal(t, `W/"v1"`, w.Header().Get("Etag"))
	for range 3 {
		clock.Advance(11 * time.Second)
		w = get() // revalidated: the 304 "v1" validates the weak entry
		assert.Equal(t, `W/"v1"`, w.Header().Get("Etag"), "a stale gzip hit keeps its weak tag")
		assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"))
	}
	assert.Equal(t, int64(3), notModified.Load(), "the view revalidated each time")
	assert.Equal(t, int64(4), runs.Load(), "one run per revalidation")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, `W/"v1"`, w.Header().Get("Etag"))
	assert.Equal(t, catalogJSON, decodeBody(t, w))
	w = get()
	assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
	assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"))
	assert.Equal(t, `W/"v1"`, w.Header().Get("Etag"), "the stored gzip response keeps its weak tag")
	assert.Equal(t, catalogJSON, decodeBody(t, w))
}

// TestSharedCache304WithoutValidatorRuns: RFC 9111 section 4.3.4 selects a
// stored response for a 304 without a validator only when that response
// has none either. The stored response has ETag "x": a 304 without ETag
// or Last-Modified (a handler that answers the condition and sets the
// validator only on its 200) says nothing of it, and the handler runs
// again without conditions. It freshened the entry, with the 304's
// fields, whatever the 304 was about.
func TestSharedCache304WithoutValidatorRuns(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=10")
			if r.Header.Get("If-None-Match") != "" {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", `"x"`)
		}}
		ch := e.sharedView(h)
		get(ch, "/a")
		e.clock.Advance(20 * time.Second)
		w := get(ch, "/a")
		assert.EqualValues(t, 3, h.calls.Load(), "the 304 without a validator selected nothing: the handler ran again")
		assert.Equal(t, "b #3", w.Body.String())
		w = get(ch, "/a")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.Equal(t, "b #3", w.Body.String(), "the unconditional run's response is stored")
	})
}

// TestSharedCacheHEADOtherLastModifiedFreshensNothing: RFC 9111 section
// 4.3.5: every validator the HEAD response carries must match the stored
// response's. A HEAD with the stored ETag but another Last-Modified (an
// origin whose tag names a version and whose Last-Modified follows the
// data) does not describe the stored GET; only its ETag was compared,
// and it freshened the GET with its fields.
func TestSharedCacheHEADOtherLastModifiedFreshensNothing(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		getLM := e.httpDate(-time.Hour)
		h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"x"`)
			w.Header().Set("Last-Modified", getLM)
			if r.Method == http.MethodHead {
				w.Header().Set("Last-Modified", e.httpDate(0))
				w.Header().Set("X-Head", "1")
			}
		}}
		ch := e.sharedView(h)
		get(ch, "/a")
		e.clock.Advance(20 * time.Second)
		send(ch, http.MethodHead, "/a")
		require.EqualValues(t, 2, h.calls.Load())
		w := get(ch, "/a")
		assert.EqualValues(t, 3, h.calls.Load(), "the HEAD freshened the GET: no revalidation (X-Cache %q)", w.Header().Get("X-Cache"))
		assert.Empty(t, w.Header().Get("X-Head"), "the HEAD's fields were stored")
		assert.Equal(t, getLM, w.Header().Get("Last-Modified"))

		// The same HEAD with both of the stored validators freshens it.
		getLM = e.httpDate(-2 * time.Hour)
		get(ch, "/b")
		e.clock.Advance(20 * time.Second)
		calls := h.calls.Load()
		h.fn = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"x"`)
			w.Header().Set("Last-Modified", getLM)
		}
		send(ch, http.MethodHead, "/b")
		w = get(ch, "/b")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.Equal(t, calls+1, h.calls.Load(), "the HEAD with both validators freshened the GET")
	})
}
