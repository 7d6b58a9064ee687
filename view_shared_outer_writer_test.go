package caching

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// signedInKey is the context key of signInOuter's flag.
type signedInKey struct{}

// signInWriter does what alexedwards/scs's LoadAndSave writer does: at the
// response's WriteHeader, when the handler modified the session, it adds
// its fields (add) to the header before passing WriteHeader on. The view
// sees them only once the status has passed it.
type signInWriter struct {
	http.ResponseWriter
	modified *bool
	add      http.Header
	written  bool
}

func (s *signInWriter) WriteHeader(code int) {
	if !s.written {
		s.written = true
		if *s.modified {
			for k, vs := range s.add {
				for _, v := range vs {
					s.Header().Add(k, v)
				}
			}
		}
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *signInWriter) Write(p []byte) (int, error) {
	if !s.written {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(p)
}

// signInOuter is a session middleware outside the view: it hands the
// handler a flag to set when it signs a client in (session.Put), and adds
// the fields add in its writer's WriteHeader when it did.
func signInOuter(add http.Header, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		modified := new(bool)
		r = r.WithContext(context.WithValue(r.Context(), signedInKey{}, modified))
		next.ServeHTTP(&signInWriter{ResponseWriter: w, modified: modified, add: add}, r)
	})
}

// rememberHandler answers with max-age=10 and ETag "x", a 304 to the
// cache's If-None-Match. A client with a "remember" cookie is signed in
// (the session is modified) and its response, the 304 or a HEAD's 200
// included, carries X-User with its name.
func rememberHandler() *counter {
	return &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("ETag", `"x"`)
		if ck, err := r.Cookie("remember"); err == nil {
			*r.Context().Value(signedInKey{}).(*bool) = true
			w.Header().Set("X-User", ck.Value)
		}
		if r.Header.Get("If-None-Match") == `"x"` {
			w.WriteHeader(http.StatusNotModified)
		}
	}}
}

// outerAdditions are what a middleware outside the view may add to a
// signed-in client's response as its status passes: each makes the
// response that client's alone, or says it may not be shared.
var outerAdditions = []struct {
	name string
	add  http.Header
}{
	{"Set-Cookie", http.Header{"Set-Cookie": {"session=alice-secret; HttpOnly"}}},
	{"scs", http.Header{"Set-Cookie": {"session=alice-secret"}, "Vary": {"Cookie"}, "Cache-Control": {`no-cache="Set-Cookie"`}}},
	{"private", http.Header{"Cache-Control": {"private"}}},
	{"Vary", http.Header{"Vary": {"Cookie"}}},
}

// TestSharedCache304OuterWriterFieldsNotShared: a 304 that answers a
// signed-in client's revalidation, to which a session middleware outside
// the view adds Set-Cookie (or private, or Vary: Cookie) only as the
// status passes its writer, freshened the entry with that client's
// fields before they were added: X-User: alice reached every later
// client as a HIT. The 304 is judged as its header leaves through the
// outer writers, as a 200 is.
func TestSharedCache304OuterWriterFieldsNotShared(t *testing.T) {
	for _, tc := range outerAdditions {
		t.Run(tc.name, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e := newViewEnv(t, k)
				h := rememberHandler()
				ch := signInOuter(tc.add, e.sharedView(h))
				get(ch, "/a")
				e.clock.Advance(20 * time.Second)
				w := get(ch, "/a", "Cookie", "remember=alice") // alice's request revalidates
				require.EqualValues(t, 2, h.calls.Load())
				assert.Equal(t, "alice", w.Header().Get("X-User"), "alice gets her 304's fields")
				assert.Equal(t, "b #1", w.Body.String())

				w = get(ch, "/a") // bob
				assert.Empty(t, w.Header().Get("X-User"), "alice's 304 fields served to bob (X-Cache %q)", w.Header().Get("X-Cache"))
				assert.Empty(t, w.Header().Values("Set-Cookie"))
				assert.Equal(t, "b #1", w.Body.String())
				assert.EqualValues(t, 3, h.calls.Load(), "alice's 304 freshened nothing: bob's request revalidates")
			})
		})
	}
}

// TestSharedCache304ThroughOuterWriterFreshens: the same middleware, when
// it adds nothing (an anonymous client), leaves the 304 to freshen the
// entry: the next request is a HIT.
func TestSharedCache304ThroughOuterWriterFreshens(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := rememberHandler()
		ch := signInOuter(outerAdditions[1].add, e.sharedView(h))
		get(ch, "/a")
		e.clock.Advance(20 * time.Second)
		w := get(ch, "/a")
		require.EqualValues(t, 2, h.calls.Load())
		assert.Equal(t, "b #1", w.Body.String())
		w = get(ch, "/a")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.Equal(t, "b #1", w.Body.String())
		assert.EqualValues(t, 2, h.calls.Load(), "the 304 freshened the entry")
		// A client's own conditional request gets its 304 from the
		// revalidated entry, and is judged the same way.
		e.clock.Advance(20 * time.Second)
		w = get(ch, "/a", "If-None-Match", `"x"`, "Cookie", "remember=alice")
		assert.Equal(t, http.StatusNotModified, w.Code)
		assert.EqualValues(t, 3, h.calls.Load())
		w = get(ch, "/a")
		assert.Empty(t, w.Header().Get("X-User"), "alice's 304 fields served to bob")
		assert.EqualValues(t, 4, h.calls.Load(), "alice's 304 freshened nothing")
	})
}

// TestSharedCacheHeadOuterWriterFieldsNotShared: the same through a HEAD
// whose 200 carries the stored validators (RFC 9111 section 4.3.5): the
// fields the outer writer adds as the status passes are judged before it
// freshens the stored GET.
func TestSharedCacheHeadOuterWriterFieldsNotShared(t *testing.T) {
	for _, tc := range outerAdditions {
		t.Run(tc.name, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e := newViewEnv(t, k)
				h := rememberHandler()
				ch := signInOuter(tc.add, e.sharedView(h))
				get(ch, "/a")
				e.clock.Advance(20 * time.Second)
				w := send(ch, http.MethodHead, "/a", "Cookie", "remember=alice") // alice's HEAD
				require.EqualValues(t, 2, h.calls.Load())
				assert.Equal(t, "alice", w.Header().Get("X-User"))

				w = get(ch, "/a") // bob
				assert.Empty(t, w.Header().Get("X-User"), "alice's HEAD fields served to bob (X-Cache %q)", w.Header().Get("X-Cache"))
				assert.Empty(t, w.Header().Values("Set-Cookie"))
				assert.EqualValues(t, 3, h.calls.Load(), "alice's HEAD freshened nothing: bob's GET revalidates")
			})
		})
	}
}

// TestSharedCacheHeadThroughOuterWriterFreshens: an anonymous HEAD through
// the same middleware still freshens the stored GET.
func TestSharedCacheHeadThroughOuterWriterFreshens(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := rememberHandler()
		ch := signInOuter(outerAdditions[1].add, e.sharedView(h))
		get(ch, "/a")
		e.clock.Advance(20 * time.Second)
		send(ch, http.MethodHead, "/a")
		require.EqualValues(t, 2, h.calls.Load())
		w := get(ch, "/a")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.Equal(t, "b #1", w.Body.String())
		assert.EqualValues(t, 2, h.calls.Load(), "the HEAD freshened the stored GET")
	})
}

// TestSharedCacheOuterNoTransformKeepsFreshness: an outer writer that adds
// a harmless directive to every response (Cache-Control: no-transform)
// as the status passes: the 304 that carries no Cache-Control of its own,
// and the HEAD likewise, still freshen the entry with its stored max-age,
// to which the directive is added, rather than replacing it.
func TestSharedCacheOuterNoTransformKeepsFreshness(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		t.Run(method, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e := newViewEnv(t, k)
				h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("ETag", `"x"`)
					if r.Header.Get("If-None-Match") == `"x"` {
						w.WriteHeader(http.StatusNotModified) // no Cache-Control: the stored one stays
						return
					}
					if r.Method != http.MethodHead {
						w.Header().Set("Cache-Control", "max-age=10")
					}
				}}
				view := e.sharedView(h)
				always := true
				ch := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					view.ServeHTTP(&signInWriter{ResponseWriter: w, modified: &always, add: http.Header{"Cache-Control": {"no-transform"}}}, r)
				})
				get(ch, "/a")
				e.clock.Advance(20 * time.Second)
				send(ch, method, "/a")
				require.EqualValues(t, 2, h.calls.Load())
				w := get(ch, "/a")
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
				assert.EqualValues(t, 2, h.calls.Load(), "the %s freshened the entry", method)
				assert.Contains(t, w.Header().Values("Cache-Control"), "max-age=10")
			})
		})
	}
}

// expiresWriter is an outer middleware's writer that stamps every response
// with its own Expires (now + 1h, a static-assets or "expires" middleware)
// as the status passes it, replacing whatever the response carried. It
// records how many Expires values the response had when it reached it.
type expiresWriter struct {
	http.ResponseWriter
	n       *int
	seen    *[]int
	written bool
}

func (s *expiresWriter) WriteHeader(code int) {
	if !s.written {
		s.written = true
		*s.seen = append(*s.seen, len(s.Header()["Expires"]))
		*s.n++
		s.Header().Set("Expires", time.Date(2030, 1, 1, 0, 0, *s.n, 0, time.UTC).Format(http.TimeFormat))
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *expiresWriter) Write(p []byte) (int, error) {
	if !s.written {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(p)
}

// TestSharedCacheOuterFieldsNotStoredOnFreshen: an outer writer sets its
// own Expires on every response as the status passes (a different value
// each time). Each 304 or HEAD 200 revalidation stored the outer value
// beside the stored Expires (withAdded judges with it), so the entry's
// header grew by one Expires per revalidation, for ever, every hit larger.
// The fields the outer writers add are judged, not stored, as a 200 is
// stored without them (freshenJudged).
func TestSharedCacheOuterFieldsNotStoredOnFreshen(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		t.Run(method, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e := newViewEnv(t, k)
				h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Cache-Control", "max-age=10")
					w.Header().Set("ETag", `"x"`)
					if r.Header.Get("If-None-Match") == `"x"` {
						w.WriteHeader(http.StatusNotModified)
					}
				}}
				view := e.sharedView(h)
				n := 0
				var seen []int
				ch := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					view.ServeHTTP(&expiresWriter{ResponseWriter: w, n: &n, seen: &seen}, r)
				})
				get(ch, "/a")
				for i := 0; i < 20; i++ {
					e.clock.Advance(20 * time.Second)
					w := send(ch, method, "/a")
					require.Equal(t, http.StatusOK, w.Code)
				}
				require.EqualValues(t, 21, h.calls.Load(), "each request revalidated")
				w := get(ch, "/a")
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
				last := seen[len(seen)-1]
				assert.LessOrEqual(t, last, 1, "stored Expires values after 20 revalidations: %d (seen %v)", last, seen)
			})
		})
	}
}
