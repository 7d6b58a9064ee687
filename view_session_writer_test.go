package caching_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-caching/caching"
)

// sessionKey is the context key of sessionMiddleware.
type sessionKey struct{}

// sessionWriter does what alexedwards/scs's LoadAndSave writer does: at the
// response's WriteHeader, when the handler modified the session, it commits
// it and adds Set-Cookie, Vary: Cookie and Cache-Control: no-cache="Set-Cookie"
// to the header before passing WriteHeader on.
type sessionWriter struct {
	http.ResponseWriter
	modified *bool
	written  bool
}

func (s *sessionWriter) WriteHeader(code int) {
	if !s.written {
		s.written = true
		if *s.modified {
			s.Header().Add("Vary", "Cookie")
			s.Header().Add("Cache-Control", `no-cache="Set-Cookie"`)
			s.Header().Add("Set-Cookie", "session=alice-token; HttpOnly")
		}
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *sessionWriter) Write(p []byte) (int, error) {
	if !s.written {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(p)
}

// sessionMiddleware hands the handler a flag to set when it modifies the
// session (session.Put), and commits the session in its writer.
func sessionMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		modified := new(bool)
		r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, modified))
		next.ServeHTTP(&sessionWriter{ResponseWriter: w, modified: modified}, r)
	})
}

// rememberMe logs in the client of a "remember" cookie: it puts the user
// in the session, and greets her.
var rememberMe = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie("remember"); err == nil {
		*r.Context().Value(sessionKey{}).(*bool) = true // session.Put("user", ...)
		fmt.Fprintf(w, "hello %s", ck.Value)
		return
	}
	fmt.Fprint(w, "hello anonymous")
})

// getWithCookie GETs /home from h, with the Cookie header cookie unless "".
func getWithCookie(h http.Handler, cookie string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/home", nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestSetCookieAddedBelowViewNotStored: a session middleware outside the
// view adds Set-Cookie (and Vary: Cookie) in its writer's WriteHeader,
// which the view's Recorder calls after it judged and copied the header.
// The client got a Set-Cookie response, its own page; the view stored it,
// without the Set-Cookie, under the anonymous key, and served it to the
// next client.
func TestSetCookieAddedBelowViewNotStored(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []caching.ViewOption
	}{
		{"default", nil},
		{"SharedCache", []caching.ViewOption{caching.SharedCache()}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			c := caching.Must(nil)
			defer c.Close()
			h := sessionMiddleware(c.Cached(time.Minute, append(mode.opts, caching.CacheStatusHeader("X-Cache"))...)(
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Cache-Control", "public, max-age=60")
					rememberMe(w, r)
				})))
			w := getWithCookie(h, "remember=alice")
			if w.Body.String() != "hello alice" || w.Header().Get("Set-Cookie") == "" {
				t.Fatalf("alice: %q, Set-Cookie %q", w.Body.String(), w.Header().Get("Set-Cookie"))
			}
			w = getWithCookie(h, "")
			if w.Body.String() != "hello anonymous" {
				t.Fatalf("anonymous client got %q (X-Cache %q): the response that set alice's session cookie was stored and replayed",
					w.Body.String(), w.Header().Get("X-Cache"))
			}
		})
	}
}

// themeWriter adds Vary: X-Theme to the header as WriteHeader passes it,
// as a writer that knows what the page depends on may.
type themeWriter struct {
	http.ResponseWriter
	written bool
}

func (t *themeWriter) WriteHeader(code int) {
	if !t.written {
		t.written = true
		t.Header().Add("Vary", "X-Theme")
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *themeWriter) Write(p []byte) (int, error) {
	if !t.written {
		t.WriteHeader(http.StatusOK)
	}
	return t.ResponseWriter.Write(p)
}

// TestVaryAddedBelowViewKeys: a Vary that a writer below the view adds as
// the status passes keys the entry, as one set before the handler ran.
func TestVaryAddedBelowViewKeys(t *testing.T) {
	c := caching.Must(nil)
	defer c.Close()
	view := c.Cached(time.Minute, caching.CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "theme %s", r.Header.Get("X-Theme"))
	}))
	get := func(theme string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("X-Theme", theme)
		w := httptest.NewRecorder()
		view.ServeHTTP(&themeWriter{ResponseWriter: w}, r)
		return w
	}
	if w := get("dark"); w.Body.String() != "theme dark" {
		t.Fatal(w.Body.String())
	}
	if w := get("light"); w.Body.String() != "theme light" {
		t.Fatalf("light: %q (X-Cache %q): the entry was not keyed by the Vary added below", w.Body.String(), w.Header().Get("X-Cache"))
	}
	if w := get("dark"); w.Header().Get("X-Cache") != "HIT" || w.Body.String() != "theme dark" {
		t.Fatalf("dark again: %q (X-Cache %q)", w.Body.String(), w.Header().Get("X-Cache"))
	}
}

// TestRefreshNotMadeOfCookieRequest: alice's own miss with
// her remember-me cookie is kept out of the store (the session middleware's
// writer outside the view adds Set-Cookie / Vary: Cookie). The same request,
// arriving when the shared entry is stale, starts a background refresh
// that runs without that writer but WITH her Cookie (and her context
// values): the handler logs her in and greets her, and "hello alice" is
// stored under the shared key and served to every anonymous client. The
// refresh stored a response that the miss of the very same request
// rejects. Now a request with a Cookie the entry does not vary on makes no
// background refresh: finding the entry stale, it runs as a miss through
// its own writers (and is kept out); within RefreshAhead it starts none.
func TestRefreshNotMadeOfCookieRequest(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []caching.ViewOption
		cc   string
	}{
		{"stale-while-revalidate", []caching.ViewOption{caching.StaleWhileRevalidate(time.Hour)}, ""},
		{"RefreshAhead", []caching.ViewOption{caching.RefreshAhead(5 * time.Second)}, ""},
		{"SharedCache", []caching.ViewOption{caching.SharedCache(), caching.StaleWhileRevalidate(time.Hour)}, "max-age=10, stale-while-revalidate=3600"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := caching.Must(nil)
				defer c.Close()
				h := sessionMiddleware(c.Cached(10*time.Second, append(mode.opts, caching.CacheStatusHeader("X-Cache"))...)(
					http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if mode.cc != "" {
							w.Header().Set("Cache-Control", mode.cc)
						}
						rememberMe(w, r)
					})))
				if w := getWithCookie(h, ""); w.Body.String() != "hello anonymous" {
					t.Fatal(w.Body.String())
				}
				time.Sleep(7 * time.Second)
				if mode.name != "RefreshAhead" {
					time.Sleep(8 * time.Second) // stale
				}
				getWithCookie(h, "remember=alice")
				synctest.Wait()
				if w := getWithCookie(h, ""); w.Body.String() != "hello anonymous" {
					t.Fatalf("anonymous client got %q (X-Cache %q): alice's refresh stored her page", w.Body.String(), w.Header().Get("X-Cache"))
				}
			})
		})
	}
}

// TestRefreshKeepsCookieOfMembersArea: a members area whose page is the
// same for every member is rightly shared (no Vary: Cookie, no UserKey). An
// auth middleware outside the view turns away requests without a session
// cookie, so the view sees members only; the handler reads the session
// from the cookie and answers a request without one with its login form. A
// version of c7c75dd ran the stale-while-revalidate refresh without the
// client's Cookie: it stored the login form, and every member got it (a
// response the handler makes for no request that reaches the view). A
// member's request makes no background refresh (see
// TestRefreshNotMadeOfCookieRequest): a stale entry is made again by a run
// of the member's own request, with its cookie.
func TestRefreshKeepsCookieOfMembersArea(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []caching.ViewOption
		cc   string // the handler's Cache-Control
	}{
		{"stale-while-revalidate", []caching.ViewOption{caching.StaleWhileRevalidate(time.Hour)}, ""},
		{"RefreshAhead", []caching.ViewOption{caching.RefreshAhead(5 * time.Second)}, ""},
		{"SharedCache", []caching.ViewOption{caching.SharedCache(), caching.StaleWhileRevalidate(time.Hour)}, "max-age=10, stale-while-revalidate=3600"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := caching.Must(nil)
				defer c.Close()
				runs := 0
				view := c.Cached(10*time.Second, append(mode.opts, caching.CacheStatusHeader("X-Cache"))...)(
					http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						runs++
						if mode.cc != "" {
							w.Header().Set("Cache-Control", mode.cc)
						}
						if _, err := r.Cookie("sid"); err != nil {
							fmt.Fprint(w, "login form")
							return
						}
						fmt.Fprint(w, "members page")
					}))
				auth := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if _, err := r.Cookie("sid"); err != nil {
						http.Redirect(w, r, "/login", http.StatusFound)
						return
					}
					view.ServeHTTP(w, r)
				})
				if w := getWithCookie(auth, "sid=alice"); w.Body.String() != "members page" {
					t.Fatal(w.Body.String())
				}
				time.Sleep(7 * time.Second)
				if mode.name != "RefreshAhead" {
					time.Sleep(8 * time.Second) // stale
				}
				getWithCookie(auth, "sid=bob") // stale: runs as a miss; within RefreshAhead: fresh, starts nothing
				synctest.Wait()
				want := 2
				if mode.name == "RefreshAhead" {
					want = 1 // a request with a Cookie starts no refresh
				}
				if runs != want {
					t.Fatalf("the handler ran %d times, want %d", runs, want)
				}
				if w := getWithCookie(auth, "sid=carol"); w.Body.String() != "members page" {
					t.Fatalf("a member got %q (X-Cache %q): the refresh ran without the cookie every request that reaches the view has",
						w.Body.String(), w.Header().Get("X-Cache"))
				}
			})
		})
	}
}

// TestRefreshKeepsCookieOfUser: with UserKey, whose user may come from the
// cookie, the refresh keeps the client's cookies: its entry is hers.
func TestRefreshKeepsCookieOfUser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := caching.Must(nil)
		defer c.Close()
		user := func(r *http.Request) string {
			if ck, err := r.Cookie("user"); err == nil {
				return ck.Value
			}
			return ""
		}
		runs := 0
		h := c.Cached(10*time.Second, caching.StaleWhileRevalidate(time.Hour), caching.UserKey(user))(
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				runs++
				fmt.Fprintf(w, "hello %s #%d", user(r), runs)
			}))
		if w := getWithCookie(h, "user=alice"); w.Body.String() != "hello alice #1" {
			t.Fatal(w.Body.String())
		}
		time.Sleep(15 * time.Second)
		getWithCookie(h, "user=alice") // stale: refreshes
		synctest.Wait()
		if w := getWithCookie(h, "user=alice"); w.Body.String() != "hello alice #2" {
			t.Fatalf("alice after her refresh: %q", w.Body.String())
		}
	})
}
