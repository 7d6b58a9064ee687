package caching

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lazyOuterForSession is lazyOuter for signed-in clients only: its writer
// adds field: value to a 2xx at its first Write (or at the handler's
// return) for a request with a "session" cookie, and nothing for others.
func lazyOuterForSession(field, value string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lw := &lazyOuterWriter{ResponseWriter: w}
		if _, err := r.Cookie("session"); err == nil {
			lw.field, lw.value = field, value
		}
		next.ServeHTTP(lw, r)
		lw.commit()
	})
}

// lazyRevalidationServer serves a page of size bytes, public for 10 s
// with the ETag "v1" and a 304 to a matching If-None-Match (no body to a
// HEAD, as http.ServeContent), through a SharedCache view of a Cache over
// store kind k with e's clock, behind lazyOuterForSession(field, value).
// It returns the server and the handler's call count.
func lazyRevalidationServer(t *testing.T, e *viewEnv, size int, field, value string) (*httptest.Server, *atomic.Int64) {
	calls := new(atomic.Int64)
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Cache-Control", "public, max-age=10")
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if r.Method != http.MethodHead {
			io.WriteString(w, lazyPage("page", size))
		}
	})
	srv := httptest.NewServer(lazyOuterForSession(field, value, e.sharedView(page)))
	t.Cleanup(srv.Close)
	return srv, calls
}

// lazyDo sends method to url with the Cookie cookie (none when ""), and
// returns the response and its body.
func lazyDo(t *testing.T, method, url, cookie string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	require.NoError(t, err)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// TestSharedCacheLazyOuterWriterRevalidationJudged: a signed-in client
// revalidates the stale shared entry (a GET the handler answers 304, or a
// HEAD it answers 200 with the entry's validator), and a middleware
// outside the view adds Set-Cookie, Cache-Control: private or Vary: Cookie
// to her response only at its writer's first Write. outerJudge judged the
// fields added as the status passed, before that Write (a HEAD's header
// was judged before the writer committed at all): her private response
// freshened the entry, and the next anonymous client got it as a hit,
// aged from her request. The view now has the writer below commit (the
// first stored bytes, or a zero-length write) before it judges: the entry
// is left stale (or dropped, for a private HEAD 200: mayDrop), and the
// anonymous client's own request refreshes it.
func TestSharedCacheLazyOuterWriterRevalidationJudged(t *testing.T) {
	fields := []struct{ field, value string }{
		{"Set-Cookie", "session=alice-rotated; HttpOnly"},
		{"Cache-Control", "private"},
		{"Vary", "Cookie"},
	}
	forEachStore(t, func(t *testing.T, k storeKind) {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			for _, f := range fields {
				for _, size := range lazySizes {
					name := fmt.Sprintf("%s %s size=%d", method, f.field, size)
					e := newViewEnv(t, k)
					srv, calls := lazyRevalidationServer(t, e, size, f.field, f.value)
					url := srv.URL + "/page"
					want := lazyPage("page", size)

					resp, body := lazyDo(t, http.MethodGet, url, "") // anonymous: stored
					require.Equal(t, "MISS", resp.Header.Get("X-Cache"), name)
					require.Equal(t, want, body, name)

					e.clock.Advance(20 * time.Second)
					resp, body = lazyDo(t, method, url, "session=alice") // stale: alice revalidates
					require.EqualValues(t, 2, calls.Load(), name)
					require.Contains(t, resp.Header.Values(f.field), f.value, name+": test setup: alice got the field")
					if method == http.MethodGet {
						assert.Equal(t, want, body, name+": the stored body, once")
					}

					e.clock.Advance(5 * time.Second)
					resp, body = lazyDo(t, http.MethodGet, url, "") // bob, anonymous
					assert.EqualValues(t, 3, calls.Load(),
						"%s: bob was served the entry alice's private response freshened (X-Cache %s, Age %s)",
						name, resp.Header.Get("X-Cache"), resp.Header.Get("Age"))
					assert.Contains(t, []string{"0", ""}, resp.Header.Get("Age"),
						name+": bob's own revalidation (or miss, where her private dropped the entry)")
					assert.NotContains(t, resp.Header.Values(f.field), f.value, name)
					assert.Equal(t, want, body, name)

					resp, body = lazyDo(t, http.MethodGet, url, "") // bob's 304 freshened it
					assert.Equal(t, "HIT", resp.Header.Get("X-Cache"), name)
					assert.EqualValues(t, 3, calls.Load(), name)
					assert.Equal(t, want, body, name)
				}
			}
		}
	})
}

// TestSharedCacheLazyOuterWriterRevalidationAddingNothing: behind a lazy
// writer that adds nothing, a 304 (or a HEAD's 200) still freshens the
// entry, and the stored body reaches the revalidating client once,
// byte-exact: the first bytes written below before the judgement are not
// sent again with the rest.
func TestSharedCacheLazyOuterWriterRevalidationAddingNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			for _, size := range lazySizes {
				name := fmt.Sprintf("%s size=%d", method, size)
				e := newViewEnv(t, k)
				srv, calls := lazyRevalidationServer(t, e, size, "Set-Cookie", "session=alice-rotated")
				url := srv.URL + "/page"
				want := lazyPage("page", size)
				lazyDo(t, http.MethodGet, url, "")
				e.clock.Advance(20 * time.Second)
				resp, body := lazyDo(t, method, url, "") // anonymous: freshens
				require.EqualValues(t, 2, calls.Load(), name)
				if method == http.MethodGet {
					assert.Equal(t, want, body, name)
					assert.Equal(t, fmt.Sprint(size), resp.Header.Get("Content-Length"), name)
				}
				e.clock.Advance(5 * time.Second)
				resp, body = lazyDo(t, http.MethodGet, url, "")
				assert.Equal(t, "HIT", resp.Header.Get("X-Cache"), name)
				assert.Equal(t, "5", resp.Header.Get("Age"), name)
				assert.EqualValues(t, 2, calls.Load(), name)
				assert.Equal(t, want, body, name)
			}
		}
	})
}
