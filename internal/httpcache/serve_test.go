package httpcache

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	t0      = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	lastMod = "Thu, 01 Jan 2026 00:00:00 GMT"
)

func serve(s *Snapshot, method string, reqHeader http.Header, at time.Time) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/", nil)
	for k, v := range reqHeader {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	s.Serve(w, r, at, "X-Cache", Hit)
	return w
}

func TestServe(t *testing.T) {
	s := NewSnapshot(200, http.Header{
		"Content-Type":  {"application/json"},
		"Cache-Control": {"public"},
		"Last-Modified": {lastMod},
		"X-Custom":      {"1"},
	}, []byte(`{"a":1}`), t0)

	t.Run("full", func(t *testing.T) {
		w := serve(s, http.MethodGet, nil, t0.Add(42*time.Second+500*time.Millisecond))
		assert.Equal(t, 200, w.Code)
		assert.Equal(t, `{"a":1}`, w.Body.String())
		assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
		assert.Equal(t, "1", w.Header().Get("X-Custom"))
		assert.Equal(t, "7", w.Header().Get("Content-Length"))
		assert.Equal(t, "42", w.Header().Get("Age"))
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.Equal(t, s.ETag, w.Header().Get("ETag"))
	})
	t.Run("age never negative and large", func(t *testing.T) {
		assert.Equal(t, "0", serve(s, http.MethodGet, nil, t0.Add(-time.Hour)).Header().Get("Age"))
		assert.Equal(t, "86400", serve(s, http.MethodGet, nil, t0.Add(24*time.Hour)).Header().Get("Age"))
	})
	t.Run("HEAD", func(t *testing.T) {
		w := serve(s, http.MethodHead, nil, t0)
		assert.Equal(t, 200, w.Code)
		assert.Empty(t, w.Body.String())
		assert.Equal(t, "7", w.Header().Get("Content-Length"))
		assert.Equal(t, s.ETag, w.Header().Get("ETag"))
	})
	t.Run("no status header", func(t *testing.T) {
		w := httptest.NewRecorder()
		s.Serve(w, httptest.NewRequest("GET", "/", nil), t0, "", Hit)
		assert.NotContains(t, w.Header(), "X-Cache")
	})
	t.Run("stale", func(t *testing.T) {
		w := httptest.NewRecorder()
		s.Serve(w, httptest.NewRequest("GET", "/", nil), t0, "X-Cache", Stale)
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
	})

	weak := `W/` + s.ETag
	conditional := []struct {
		name   string
		method string
		header http.Header
		want   int
	}{
		{"INM match", "GET", http.Header{"If-None-Match": {s.ETag}}, 304},
		{"INM weak comparison", "GET", http.Header{"If-None-Match": {weak}}, 304},
		{"INM list", "GET", http.Header{"If-None-Match": {`"a", ` + s.ETag + `, "b"`}}, 304},
		{"INM several lines", "GET", http.Header{"If-None-Match": {`"a"`, s.ETag}}, 304},
		{"INM star", "GET", http.Header{"If-None-Match": {"*"}}, 304},
		{"INM no match", "GET", http.Header{"If-None-Match": {`"other"`}}, 200},
		{"INM malformed", "GET", http.Header{"If-None-Match": {`abc, "unterminated`}}, 200},
		{"INM HEAD", "HEAD", http.Header{"If-None-Match": {s.ETag}}, 304},
		{"INM precedes IMS", "GET", http.Header{"If-None-Match": {`"other"`}, "If-Modified-Since": {lastMod}}, 200},
		{"IMS equal", "GET", http.Header{"If-Modified-Since": {lastMod}}, 304},
		{"IMS later", "GET", http.Header{"If-Modified-Since": {"Fri, 02 Jan 2026 00:00:00 GMT"}}, 304},
		{"IMS earlier", "GET", http.Header{"If-Modified-Since": {"Wed, 31 Dec 2025 00:00:00 GMT"}}, 200},
		{"IMS unparsable", "GET", http.Header{"If-Modified-Since": {"yesterday"}}, 200},
	}
	for _, tt := range conditional {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(s, tt.method, tt.header, t0.Add(time.Second))
			assert.Equal(t, tt.want, w.Code)
			if tt.want == 304 {
				assert.Empty(t, w.Body.String())
				assert.Equal(t, s.ETag, w.Header().Get("ETag"))
				assert.Equal(t, "public", w.Header().Get("Cache-Control"))
				assert.Equal(t, "1", w.Header().Get("Age"))
				for _, k := range []string{"Content-Type", "Content-Length", "X-Custom", "Last-Modified"} {
					assert.NotContains(t, w.Header(), k)
				}
			}
		})
	}

	t.Run("IMS ignored without Last-Modified", func(t *testing.T) {
		s := NewSnapshot(200, nil, []byte("x"), t0)
		assert.Equal(t, 200, serve(s, "GET", http.Header{"If-Modified-Since": {lastMod}}, t0).Code)
	})
	t.Run("304 keeps Last-Modified without ETag", func(t *testing.T) {
		s := NewSnapshot(200, http.Header{"Last-Modified": {lastMod}}, []byte("x"), t0)
		s.Header = s.Header.Clone()
		delete(s.Header, "Etag")
		s.ETag = ""
		s.prepare()
		w := serve(s, "GET", http.Header{"If-Modified-Since": {lastMod}}, t0)
		assert.Equal(t, 304, w.Code)
		assert.Equal(t, lastMod, w.Header().Get("Last-Modified"))
	})
	t.Run("no 304 for a stored 404", func(t *testing.T) {
		s := NewSnapshot(404, http.Header{"Etag": {`"x"`}}, []byte("gone"), t0)
		w := serve(s, "GET", http.Header{"If-None-Match": {`"x"`}}, t0)
		assert.Equal(t, 404, w.Code)
		assert.Equal(t, "gone", w.Body.String())
	})
}

// TestServeSharedHeaderSlices: a hit hands the stored slices to the response;
// downstream code appending to them must not change the stored entry.
func TestServeSharedHeaderSlices(t *testing.T) {
	s := NewSnapshot(200, http.Header{"Vary": {"Accept"}, "X-List": {"a", "b"}}, []byte("x"), t0)
	w := serve(s, "GET", nil, t0)
	w.Header().Add("Vary", "Accept-Encoding")
	w.Header()["X-List"] = append(w.Header()["X-List"], "c")
	w.Header().Set("Age", "999")
	w.Header()["X-Cache"] = append(w.Header()["X-Cache"], "more")

	w2 := serve(s, "GET", nil, t0)
	assert.Equal(t, []string{"Accept"}, w2.Header()["Vary"])
	assert.Equal(t, []string{"a", "b"}, w2.Header()["X-List"])
	assert.Equal(t, []string{"0"}, w2.Header()["Age"])
	assert.Equal(t, []string{"HIT"}, w2.Header()["X-Cache"])
	assert.Equal(t, []string{"Accept"}, s.Header["Vary"])
}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

func TestServeAllocs(t *testing.T) {
	s := NewSnapshot(200, http.Header{"Content-Type": {"application/json"}}, []byte(strings.Repeat("x", 2048)), t0)
	r := httptest.NewRequest("GET", "/", nil)
	w := &nopWriter{h: make(http.Header)}
	allocs := testing.AllocsPerRun(100, func() { s.Serve(w, r, t0.Add(time.Minute), "X-Cache", Hit) })
	assert.Zero(t, allocs)
	r.Header.Set("If-None-Match", s.ETag)
	allocs = testing.AllocsPerRun(100, func() { require.True(t, s.Serve(w, r, t0, "X-Cache", Hit)) })
	assert.Zero(t, allocs)
}

func TestCacheStatus(t *testing.T) {
	for st, want := range map[CacheStatus]string{Hit: "HIT", Stale: "STALE", Miss: "MISS", Bypass: "BYPASS", 99: "BYPASS"} {
		assert.Equal(t, want, st.String())
		assert.Equal(t, 1, cap(st.Values()))
	}
}
