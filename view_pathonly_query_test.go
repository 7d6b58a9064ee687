package caching

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seenQuery is a handler that echoes the query parameter x, read the ways a
// handler may read it, and records every request target it answered.
type seenQuery struct {
	mu   sync.Mutex
	seen []string
}

func (s *seenQuery) fn(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "max-age=60")
	w.Header().Set("ETag", `"v1"`)
	w.Header().Set("Link", "<"+r.RequestURI+">; rel=canonical")
	seen := fmt.Sprintf("raw=%q uri=%q query=%q form=%q formvalue=%q",
		r.URL.RawQuery, r.RequestURI, r.URL.Query().Get("x"), r.Form["x"], r.FormValue("x"))
	s.mu.Lock()
	s.seen = append(s.seen, seen)
	s.mu.Unlock()
	fmt.Fprintf(w, "x=%s uri=%s ", html.EscapeString(r.FormValue("x")), html.EscapeString(r.RequestURI))
}

// all returns what the handler saw, one line a request.
func (s *seenQuery) all() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.seen, "\n")
}

// parseFirst is an outer middleware that parses the form before the view.
func parseFirst(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		h.ServeHTTP(w, r)
	})
}

// TestViewPathOnlyQueryReachesHandler: PathOnly leaves the whole query out
// of the key, but handed it to the handler: a page echoing ?x= was stored
// with one client's value and served to every client of the path. The
// handler of a miss, a background refresh, a SharedCache revalidating HEAD
// and a HEAD miss now gets the request without any query (its URL,
// RequestURI and a form an outer middleware parsed).
func TestViewPathOnlyQueryReachesHandler(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		t.Run("miss", func(t *testing.T) {
			for _, shared := range []bool{false, true} {
				e := newViewEnv(t, k)
				s := &seenQuery{}
				opts := []ViewOption{PathOnly(), CacheStatusHeader("X-Cache")}
				if shared {
					opts = append(opts, SharedCache())
				}
				ch := parseFirst(e.c.Cached(time.Hour, opts...)(&counter{body: "page", fn: s.fn}))
				r := httptest.NewRequest(http.MethodGet, "/p?x=evil", nil)
				ch.ServeHTTP(httptest.NewRecorder(), r) // the attacker
				assert.Equal(t, "x=evil", r.URL.RawQuery, "the caller's request is left as it is")
				assert.Equal(t, "/p?x=evil", r.RequestURI)
				assert.Equal(t, "evil", r.Form.Get("x"))

				w := get(ch, "/p") // every other client
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the same key")
				assert.NotContains(t, w.Body.String(), "evil", "shared %v", shared)
				assert.Equal(t, "</p>; rel=canonical", w.Header().Get("Link"))
				assert.NotContains(t, s.all(), "evil", "shared %v: the handler saw the query", shared)
				assert.Contains(t, s.all(), `raw="" uri="/p" query="" form=[] formvalue=""`)
			}
		})
		t.Run("refresh", func(t *testing.T) {
			e := newViewEnv(t, k)
			s := &seenQuery{}
			ch := e.c.Cached(time.Minute, PathOnly(), StaleWhileRevalidate(time.Hour), CacheStatusHeader("X-Cache"))(&counter{body: "page", fn: s.fn})
			get(ch, "/p")
			e.clock.Advance(2 * time.Minute)
			assert.Equal(t, "STALE", get(ch, "/p?x=evil").Header().Get("X-Cache"))
			e.c.wait()
			w := get(ch, "/p")
			assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
			assert.Contains(t, w.Body.String(), "#2", "refreshed")
			assert.NotContains(t, w.Body.String(), "evil")
			assert.NotContains(t, s.all(), "evil")
		})
		t.Run("shared HEAD", func(t *testing.T) {
			e := newViewEnv(t, k)
			s := &seenQuery{}
			ch := e.sharedView(&counter{body: "page", fn: s.fn}, PathOnly())
			get(ch, "/p")
			e.clock.Advance(2 * time.Minute)
			send(ch, http.MethodHead, "/p?x=evil") // freshens the GET
			w := get(ch, "/p")
			require.Equal(t, "HIT", w.Header().Get("X-Cache"), "freshened by the HEAD")
			assert.Equal(t, "</p>; rel=canonical", w.Header().Get("Link"))
			assert.NotContains(t, s.all(), "evil")
		})
		t.Run("HEAD miss", func(t *testing.T) {
			e := newViewEnv(t, k)
			s := &seenQuery{}
			ch := e.c.Cached(time.Hour, PathOnly())(&counter{body: "page", fn: s.fn})
			w := send(ch, http.MethodHead, "/p?x=evil")
			assert.Equal(t, "</p>; rel=canonical", w.Header().Get("Link"))
			assert.NotContains(t, s.all(), "evil")
		})
	})
}

// rewriteQuery is an outer middleware that replaces the query the view
// keys (r.URL.RawQuery) with to, leaving r.RequestURI as the client sent it.
func rewriteQuery(to string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.RawQuery = to
		h.ServeHTTP(w, r)
	})
}

// TestViewOuterQueryRewriteRequestURI: a middleware outside the view that
// rewrites r.URL.RawQuery (dropping what the site does not use, or making
// a value canonical) left r.RequestURI with the query the client sent: the
// view keyed the rewritten query, and a handler that read the request
// target (to build a canonical link, a redirect, a log line in the page)
// stored the client's query for every client of the key. The handler's
// RequestURI now carries the query the key was made of.
func TestViewOuterQueryRewriteRequestURI(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		for _, tc := range []struct {
			name string
			opts []ViewOption
		}{
			{"default", nil},
			{"Allow", []ViewOption{QueryString(QueryKeyOptions{Allow: []string{"x"}})}},
			{"shared", []ViewOption{SharedCache()}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := newViewEnv(t, k)
				s := &seenQuery{}
				ch := e.c.Cached(time.Hour, append(tc.opts, CacheStatusHeader("X-Cache"))...)(&counter{body: "page", fn: s.fn})
				rewritten := rewriteQuery("x=1", ch)
				r := httptest.NewRequest(http.MethodGet, "/p?x=evil", nil)
				rewritten.ServeHTTP(httptest.NewRecorder(), r) // the attacker
				assert.Equal(t, "/p?x=evil", r.RequestURI, "the caller's request is left as it is")

				w := get(ch, "/p?x=1") // every other client
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the same key")
				assert.NotContains(t, w.Body.String(), "evil")
				assert.Equal(t, "</p?x=1>; rel=canonical", w.Header().Get("Link"))
				assert.NotContains(t, s.all(), "evil")
			})
		}
	})
}

// TestViewFormParsedBeforeQueryRewrite: a form an outer middleware parsed
// before another rewrote r.URL.RawQuery kept the client's query: the
// handler read r.Form values the key was not made of.
func TestViewFormParsedBeforeQueryRewrite(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		s := &seenQuery{}
		ch := e.c.Cached(time.Hour, CacheStatusHeader("X-Cache"))(&counter{body: "page", fn: s.fn})
		outer := parseFirst(rewriteQuery("x=1", ch))
		r := httptest.NewRequest(http.MethodGet, "/p?x=evil", nil)
		outer.ServeHTTP(httptest.NewRecorder(), r) // the attacker
		assert.Equal(t, "evil", r.Form.Get("x"), "the caller's request is left as it is")

		w := get(ch, "/p?x=1") // every other client
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the same key")
		assert.NotContains(t, w.Body.String(), "evil")
		assert.NotContains(t, s.all(), "evil")
		assert.Contains(t, s.all(), `raw="x=1" uri="/p?x=1" query="1" form=["1"] formvalue="1"`)
	})
}
