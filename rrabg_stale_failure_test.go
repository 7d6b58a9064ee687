package caching

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// rrabgCase is a stale hit within StaleWhileRevalidate of a request that
// starts no background refresh (a Cookie, an Authorization), whose run
// fails: whether the stale entry answers it (stale) or the origin's error
// does.
type rrabgCase struct {
	name   string
	opts   []ViewOption // beside StaleWhileRevalidate(time.Minute)
	cc     string       // the handler's Cache-Control
	stored []string     // the fields of the request that stores the entry
	asked  []string     // the fields of the request whose run fails
	stale  bool         // the stale entry answers it, not the 500
}

// rrabgUser names the user of an "Authorization: Bearer u" request.
func rrabgUser(r *http.Request) string {
	if a := r.Header.Get("Authorization"); len(a) > len("Bearer ") {
		return a[len("Bearer "):]
	}
	return ""
}

// rrabgRun stores the entry of c.stored's request, lets it go stale
// (within a minute's StaleWhileRevalidate and the response's
// stale-while-revalidate), fails the origin and sends c.asked's request.
func rrabgRun(t *testing.T, c rrabgCase) {
	synctest.Test(t, func(t *testing.T) {
		cache := Must(nil)
		defer cache.Close()
		var runs atomic.Int64
		var fail atomic.Bool
		h := cache.Cached(10*time.Second, append([]ViewOption{StaleWhileRevalidate(time.Minute)}, c.opts...)...)(
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := runs.Add(1)
				if fail.Load() {
					http.Error(w, "origin down", http.StatusInternalServerError)
					return
				}
				if c.cc != "" {
					w.Header().Set("Cache-Control", c.cc)
				}
				fmt.Fprintf(w, "page of %q #%d", rrabgUser(r), n)
			}))
		first := get(h, "/page", c.stored...)
		time.Sleep(15 * time.Second)
		fail.Store(true)
		w := get(h, "/page", c.asked...)
		synctest.Wait()
		if c.stale {
			assert.Equal(t, http.StatusOK, w.Code, "the stale entry, not the origin's error")
			assert.Equal(t, first.Body.String(), w.Body.String())
		} else {
			assert.Equal(t, http.StatusInternalServerError, w.Code, "the origin's error: no stale entry may answer this request")
		}
	})
}

var (
	rrabgCookie  = []string{"Cookie", "session=s1"}
	rrabgAuthA   = []string{"Authorization", "Bearer alice"}
	rrabgAuthB   = []string{"Authorization", "Bearer bob"}
	rrabgSWR     = "max-age=10, stale-while-revalidate=60"
	rrabgPublic  = "public, " + rrabgSWR
	rrabgNoCache = []string{"Cache-Control", "no-cache"}
	rrabgMaxAge0 = []string{"Cache-Control", "max-age=0"}
)

// rrabgWith is fields followed by more.
func rrabgWith(fields []string, more ...string) []string {
	return append(append([]string(nil), fields...), more...)
}

// TestRRABGSharedStaleOnFailure: in a SharedCache view, a request with a
// Cookie or an Authorization starts no refresh; its failed run is answered
// with the stale entry only where the window would have served it to that
// request: for an Authorization (without UserKey) only an entry that says
// public (RFC 9111 section 3.5), never one whose response forbids serving
// it stale (must-revalidate, proxy-revalidate, s-maxage, no-cache), nor
// any to a request whose own directives refuse stale responses.
func TestRRABGSharedStaleOnFailure(t *testing.T) {
	shared := []ViewOption{SharedCache()}
	honor := []ViewOption{SharedCache(), HonorRequestCacheControl()}
	byUser := []ViewOption{SharedCache(), UserKey(rrabgUser)}
	for _, c := range []rrabgCase{
		{name: "cookie", opts: shared, cc: rrabgSWR, asked: rrabgCookie, stale: true},
		{name: "cookie/stored-with-cookie", opts: shared, cc: rrabgSWR, stored: rrabgCookie, asked: rrabgCookie, stale: true},
		{name: "cookie/must-revalidate", opts: shared, cc: rrabgSWR + ", must-revalidate", asked: rrabgCookie},
		{name: "cookie/proxy-revalidate", opts: shared, cc: rrabgSWR + ", proxy-revalidate", asked: rrabgCookie},
		{name: "cookie/s-maxage", opts: shared, cc: "s-maxage=10, stale-while-revalidate=60", asked: rrabgCookie},
		{name: "cookie/no-cache", opts: shared, cc: "no-cache, " + rrabgSWR, asked: rrabgCookie},
		{name: "cookie/private", opts: shared, cc: "private, " + rrabgSWR, asked: rrabgCookie},
		{name: "cookie/no-cache-request", opts: honor, cc: rrabgSWR, asked: rrabgWith(rrabgCookie, rrabgNoCache...)},
		{name: "cookie/max-age=0-request", opts: honor, cc: rrabgSWR, asked: rrabgWith(rrabgCookie, rrabgMaxAge0...)},
		{name: "cookie/honor", opts: honor, cc: rrabgSWR, asked: rrabgCookie, stale: true},
		{name: "auth/public", opts: shared, cc: rrabgPublic, asked: rrabgAuthA, stale: true},
		{name: "auth/not-public", opts: shared, cc: rrabgSWR, asked: rrabgAuthA},
		{name: "auth/public-must-revalidate", opts: shared, cc: rrabgPublic + ", must-revalidate", asked: rrabgAuthA},
		{name: "auth/must-revalidate", opts: shared, cc: rrabgSWR + ", must-revalidate", asked: rrabgAuthA},
		{name: "auth/s-maxage", opts: shared, cc: "s-maxage=10, stale-while-revalidate=60", asked: rrabgAuthA},
		{name: "auth/public-no-cache", opts: shared, cc: "no-cache, " + rrabgPublic, asked: rrabgAuthA},
		{name: "auth/public-private", opts: shared, cc: "private, " + rrabgPublic, asked: rrabgAuthA},
		{name: "auth/no-cache-request", opts: honor, cc: rrabgPublic, asked: rrabgWith(rrabgAuthA, rrabgNoCache...)},
		{name: "auth/max-age=0-request", opts: honor, cc: rrabgPublic, asked: rrabgWith(rrabgAuthA, rrabgMaxAge0...)},
		{name: "auth/honor-public", opts: honor, cc: rrabgPublic, asked: rrabgAuthA, stale: true},
		{name: "auth/honor-not-public", opts: honor, cc: rrabgSWR, asked: rrabgAuthA},
		{name: "auth/userkey-own", opts: byUser, cc: rrabgSWR, stored: rrabgAuthA, asked: rrabgAuthA, stale: true},
		{name: "auth/userkey-other", opts: byUser, cc: rrabgSWR, stored: rrabgAuthA, asked: rrabgAuthB},
		{name: "auth/userkey-anonymous", opts: byUser, cc: rrabgSWR, asked: rrabgAuthB},
	} {
		t.Run(c.name, func(t *testing.T) { rrabgRun(t, c) })
	}
}

// TestRRABGDefaultStaleOnFailure: the same in the default mode (the
// view's own StaleWhileRevalidate, whatever the response says). A Cookie
// (without UserKey or KeyFunc) starts no refresh, and its failed run is
// answered with the entry the window serves every client; an Authorization
// without UserKey passes through, never answered with the anonymous
// entry; with UserKey a user gets only their own entry; with
// HonorRequestCacheControl, a request that refuses stale responses gets
// the origin's error.
func TestRRABGDefaultStaleOnFailure(t *testing.T) {
	byUser := []ViewOption{UserKey(rrabgUser)}
	byKey := []ViewOption{KeyFunc(func(r *http.Request) string { return r.URL.Path })}
	honor := []ViewOption{HonorRequestCacheControl()}
	for _, c := range []rrabgCase{
		{name: "cookie", asked: rrabgCookie, stale: true},
		{name: "cookie/stored-with-cookie", stored: rrabgCookie, asked: rrabgCookie, stale: true},
		{name: "cookie/keyfunc", opts: byKey, asked: rrabgCookie, stale: true},
		{name: "cookie/userkey", opts: byUser, asked: rrabgCookie, stale: true},
		{name: "cookie/honor", opts: honor, asked: rrabgCookie, stale: true},
		{name: "cookie/no-cache-request", opts: honor, asked: rrabgWith(rrabgCookie, rrabgNoCache...)},
		{name: "cookie/max-age=0-request", opts: honor, asked: rrabgWith(rrabgCookie, rrabgMaxAge0...)},
		{name: "auth", asked: rrabgAuthA},
		{name: "auth/public", cc: rrabgPublic, asked: rrabgAuthA},
		{name: "auth/keyfunc", opts: byKey, asked: rrabgAuthA},
		{name: "auth/honor", opts: honor, cc: rrabgPublic, asked: rrabgAuthA},
		{name: "auth/userkey-own", opts: byUser, stored: rrabgAuthA, asked: rrabgAuthA, stale: true},
		{name: "auth/userkey-other", opts: byUser, stored: rrabgAuthA, asked: rrabgAuthB},
		{name: "auth/userkey-anonymous", opts: byUser, asked: rrabgAuthB},
		{name: "auth/userkey-cookie-own", opts: byUser, stored: rrabgAuthA, asked: rrabgWith(rrabgAuthA, rrabgCookie...), stale: true},
		{name: "auth/userkey-no-cache-request", opts: append([]ViewOption{HonorRequestCacheControl()}, byUser...),
			stored: rrabgAuthA, asked: rrabgWith(rrabgAuthA, rrabgNoCache...)},
	} {
		t.Run(c.name, func(t *testing.T) { rrabgRun(t, c) })
	}
}

// TestRRABGCookiePanicStale: a run that panics is a failure as a 5xx is:
// the stale entry answers a Cookie request's run within the window, in
// both modes, and the panic goes no further.
func TestRRABGCookiePanicStale(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cache := Must(nil)
				defer cache.Close()
				var fail atomic.Bool
				opts := []ViewOption{StaleWhileRevalidate(time.Minute)}
				if shared {
					opts = append(opts, SharedCache())
				}
				h := cache.Cached(10*time.Second, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if fail.Load() {
						panic("origin down")
					}
					w.Header().Set("Cache-Control", rrabgSWR)
					fmt.Fprint(w, "page")
				}))
				get(h, "/page")
				time.Sleep(15 * time.Second)
				fail.Store(true)
				var w *httptest.ResponseRecorder
				if !assert.NotPanics(t, func() { w = get(h, "/page", rrabgCookie...) }, "the stale entry answers") {
					return
				}
				synctest.Wait()
				assert.Equal(t, http.StatusOK, w.Code)
				assert.Equal(t, "page", w.Body.String())
			})
		})
	}
}
