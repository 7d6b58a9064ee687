package caching

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Views mounted under a middleware that rewrites the path (http.StripPrefix):
// the view sees "/users" for the client's "/v1/users" and "/v2/users".

// mountedAPIs mounts v1 and v2, each behind its own view of e's Cache made
// with opts, under /v1/ and /v2/ with http.StripPrefix.
func mountedAPIs(e *viewEnv, v1, v2 http.Handler, opts ...ViewOption) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/v1/", http.StripPrefix("/v1", e.c.Cached(time.Hour, opts...)(v1)))
	mux.Handle("/v2/", http.StripPrefix("/v2", e.c.Cached(time.Hour, opts...)(v2)))
	return mux
}

// TestMountedViewsKeptApart: the key was built from the stripped path, so
// that GET /v2/users was answered with /v1/users's response, a HIT.
func TestMountedViewsKeptApart(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		v1, v2 := &counter{body: "v1 users"}, &counter{body: "v2 users"}
		mux := mountedAPIs(e, v1, v2, CacheStatusHeader("X-Cache"))

		assert.Equal(t, "v1 users #1", get(mux, "http://api.example/v1/users").Body.String())
		w := get(mux, "http://api.example/v2/users")
		assert.Equal(t, "v2 users #1", w.Body.String(), "another mount's response (%s)", w.Header().Get("X-Cache"))
		for _, target := range []string{"/v1/users", "/v2/users", "/v1/users?a=1"} {
			get(mux, "http://api.example"+target)
		}
		w = get(mux, "http://api.example/v1/users")
		assert.Equal(t, "v1 users #1", w.Body.String())
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "a mounted view still hits")
		assert.EqualValues(t, 2, v1.calls.Load(), "/v1/users and /v1/users?a=1")
		assert.EqualValues(t, 1, v2.calls.Load())
	})
}

// TestMountedViewInvalidatePath: the entry recorded the version of the
// stripped path only, so that InvalidatePath of the path the clients ask
// for did not reach it. It records both now.
func TestMountedViewInvalidatePath(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		v1 := &counter{body: "v1 users"}
		mux := mountedAPIs(e, v1, &counter{body: "v2 users"})
		ctx := context.Background()

		get(mux, "/v1/users")
		require.NoError(t, e.c.InvalidatePath(ctx, "/v1/users"))
		assert.Equal(t, "v1 users #2", get(mux, "/v1/users").Body.String(), "the path the client asked for")
		require.NoError(t, e.c.InvalidatePath(ctx, "/users"))
		assert.Equal(t, "v1 users #3", get(mux, "/v1/users").Body.String(), "the path the handler sees")
		assert.Equal(t, "v1 users #3", get(mux, "/v1/users").Body.String())

		// Decoded as net/http decodes URL.Path.
		get(mux, "/v1/a%20b")
		require.NoError(t, e.c.InvalidatePath(ctx, "/v1/a b"))
		assert.Equal(t, "v1 users #5", get(mux, "/v1/a%20b").Body.String())
	})
}

// TestMountedViewWrites: InvalidateOnWrite's writes reach a mounted view's
// entries through the mount and through a route of the full path, and,
// under Options.HostScopedWrites, on the write's host.
func TestMountedViewWrites(t *testing.T) {
	for _, scoped := range []bool{false, true} {
		t.Run(fmt.Sprintf("HostScopedWrites=%v", scoped), func(t *testing.T) { testMountedViewWrites(t, scoped) })
	}
}

func testMountedViewWrites(t *testing.T, scoped bool) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := hostEnv(t, k, scoped)
		v1 := &counter{body: "v1 users"}
		noContent := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
		// v1 answers the writes without counting them.
		reads := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				v1.ServeHTTP(w, r)
				return
			}
			noContent(w, r)
		})
		mux := mountedAPIs(e, reads, &counter{body: "v2 users"}, InvalidateOnWrite())
		// The same resource written by a handler that is not mounted.
		mux.Handle("POST /v1/users/{id}", e.c.Cached(time.Hour, InvalidateOnWrite())(noContent))
		const page = "http://api.example/v1/users/7"

		get(mux, page)
		send(mux, http.MethodPut, page) // through the mount
		assert.Equal(t, "v1 users #2", get(mux, page).Body.String(), "a write through the mount")
		send(mux, http.MethodPost, page) // the route of the full path
		assert.Equal(t, "v1 users #3", get(mux, page).Body.String(), "a write to the path the client asked for")
		send(mux, http.MethodPost, "http://other.example/v1/users/7")
		want := "v1 users #4"
		if scoped {
			want = "v1 users #3"
		}
		assert.Equal(t, want, get(mux, page).Body.String(), "another host's write (HostScopedWrites %v)", scoped)
	})
}

// TestMountedViewWarmAndPeek: Warm of a mounted URL stores what a client's
// request finds, and Peek finds it given the request as the view sees it.
func TestMountedViewWarmAndPeek(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		v1, v2 := &counter{body: "v1 users"}, &counter{body: "v2 users"}
		mux := mountedAPIs(e, v1, v2, CacheStatusHeader("X-Cache"))

		rep := e.c.Warm(context.Background(), mux, WarmTarget{URL: "http://api.example/v1/users"})
		require.Equal(t, 1, rep.Stored, "%+v", rep.Results)
		w := get(mux, "http://api.example/v1/users")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.Equal(t, "v1 users #1", w.Body.String())
		assert.Equal(t, "v2 users #1", get(mux, "http://api.example/v2/users").Body.String(), "warming v1 left v2 alone")

		r := httptest.NewRequest(http.MethodGet, "http://api.example/v1/users", nil)
		r.URL.Path = "/users" // as http.StripPrefix hands it on; RequestURI is the client's
		resp, fresh, err := e.c.Peek(r)
		require.NoError(t, err)
		assert.True(t, fresh)
		assert.Equal(t, "v1 users #1", string(resp.Body))
	})
}

// TestRewrittenPathKey: the key of a request whose path a middleware
// rewrote carries the path the client sent, escaped so that no client can
// spell it; the key of a request that was not rewritten is unchanged,
// whatever the spelling of its path.
func TestRewrittenPathKey(t *testing.T) {
	c := Must(&Options{KeyPrefix: "app:"})
	defer c.Close()
	key := func(target, path string) string {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, target, nil)
		if path != "" {
			r.URL.Path, r.URL.RawPath = path, ""
		}
		k, err := c.ViewKey(r)
		require.NoError(t, err)
		return k
	}
	assert.Equal(t, "app:v/http://example.com#view//users#o=/v1/users", key("/v1/users", "/users"))
	assert.Equal(t, "app:v/http://h.example#view//users?a=1#o=/v1/users", key("http://h.example/v1/users?a=1", "/users"), "absolute-form")
	assert.Equal(t, "app:v/http://example.com#view//a%20b#o=/v1/a%2520b", key("/v1/a%20b", "/a b"), "'%' escaped")
	assert.Equal(t, "app:v/http://example.com#view//p", key("/p", ""))
	assert.Equal(t, "app:v/http://example.com#view//%C3%A9", key("/%C3%A9", ""), "another spelling of the same path")
	assert.Equal(t, key("/%41", "/A"), key("/A", ""), "another spelling of the same path")
	assert.NotEqual(t, key("/users%23o=/v1/users", ""), key("/v1/users", "/users"), "a client cannot spell a rewritten key")

	r, err := http.NewRequest(http.MethodGet, "http://example.com/users", nil)
	require.NoError(t, err)
	k, err := c.ViewKey(r)
	require.NoError(t, err)
	assert.Equal(t, "app:v/http://example.com#view//users", k, "a request no server received (no RequestURI)")
}
