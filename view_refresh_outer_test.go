package caching

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

type langKey struct{}

// i18n is an outer middleware as the docs allow: it says what the response
// varies on, and hands its choice to the handler in the context.
func i18n(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := "en"
		if strings.HasPrefix(r.Header.Get("Accept-Language"), "fr") {
			lang = "fr"
		}
		w.Header().Set("Vary", "Accept-Language")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), langKey{}, lang)))
	})
}

// greeting answers in the language i18n chose, with headers of its own.
func greeting(extra string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if extra != "" {
			w.Header().Set("Cache-Control", extra)
		}
		if r.Context().Value(langKey{}) == "fr" {
			fmt.Fprint(w, "Bonjour")
			return
		}
		fmt.Fprint(w, "Hello")
	})
}

// TestRefreshKeepsOuterVary: a background refresh ran the handler with a
// writer of its own, without the Vary an outer middleware had set on the
// client's, so the French client's refresh stored "Bonjour" under the base
// key, over the Vary record, and every English client got it as a HIT. The
// refresh starts from the fields outer middleware set, as the client's
// request did.
func TestRefreshKeepsOuterVary(t *testing.T) {
	for _, mode := range []struct {
		name  string
		extra string        // the handler's Cache-Control
		wait  time.Duration // until the French hit starts a refresh
		opts  []ViewOption
	}{
		{"stale-while-revalidate", "", 15 * time.Second, []ViewOption{StaleWhileRevalidate(time.Minute)}},
		{"RefreshAhead", "", 7 * time.Second, []ViewOption{RefreshAhead(5 * time.Second)}},
		{"SharedCache stale-while-revalidate", "max-age=10, stale-while-revalidate=60", 15 * time.Second, []ViewOption{SharedCache(), StaleWhileRevalidate(time.Minute)}},
		{"SharedCache RefreshAhead", "max-age=10", 7 * time.Second, []ViewOption{SharedCache(), RefreshAhead(5 * time.Second)}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				h := i18n(c.Cached(10*time.Second, mode.opts...)(greeting(mode.extra)))
				assert.Equal(t, "Hello", get(h, "/", "Accept-Language", "en").Body.String())
				assert.Equal(t, "Bonjour", get(h, "/", "Accept-Language", "fr").Body.String())
				time.Sleep(mode.wait)
				assert.Equal(t, "Bonjour", get(h, "/", "Accept-Language", "fr").Body.String(), "refreshed in the background")
				synctest.Wait()
				assert.Equal(t, "Hello", get(h, "/", "Accept-Language", "en").Body.String(), "English after the French refresh")
				assert.Equal(t, "Bonjour", get(h, "/", "Accept-Language", "fr").Body.String())
			})
		})
	}
}

// TestRefreshKeepsOuterSessionVary: a session middleware outside the view
// sets Vary: Cookie and hands the user on in the context. Alice's refresh
// stored her page under the base key, and the anonymous client and Bob got
// "Hello alice".
func TestRefreshKeepsOuterSessionVary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		type userKey struct{}
		session := func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Vary", "Cookie")
				if ck, err := r.Cookie("session"); err == nil {
					r = r.WithContext(context.WithValue(r.Context(), userKey{}, ck.Value))
				}
				next.ServeHTTP(w, r)
			})
		}
		h := session(c.Cached(10*time.Second, StaleWhileRevalidate(time.Minute), CacheStatusHeader("X-Cache"))(
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				u, _ := r.Context().Value(userKey{}).(string)
				fmt.Fprintf(w, "Hello %s", cmp(u, "guest"))
			})))
		assert.Equal(t, "Hello guest", get(h, "/home").Body.String())
		assert.Equal(t, "Hello alice", get(h, "/home", "Cookie", "session=alice").Body.String())
		time.Sleep(15 * time.Second)
		w := get(h, "/home", "Cookie", "session=alice")
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
		synctest.Wait()
		assert.Equal(t, "Hello guest", get(h, "/home").Body.String(), "the anonymous client after alice's refresh")
		assert.Equal(t, "Hello bob", get(h, "/home", "Cookie", "session=bob").Body.String())
		assert.Equal(t, "Hello alice", get(h, "/home", "Cookie", "session=alice").Body.String())
	})
}

// TestRefreshKeepsRequestFields: behind a proxy that terminates TLS every
// request carries X-Forwarded-Proto: https, and the handler builds links
// from it (no Vary: no request lacks it). A refresh kept only the Vary
// fields and stored http:// links for everyone.
func TestRefreshKeepsRequestFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		h := c.Cached(10*time.Second, StaleWhileRevalidate(time.Minute))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `<link rel="canonical" href="%s://%s%s">`, cmp(r.Header.Get("X-Forwarded-Proto"), "http"), r.Host, r.URL.Path)
		}))
		want := `<link rel="canonical" href="https://example.com/p">`
		assert.Equal(t, want, get(h, "/p", "X-Forwarded-Proto", "https").Body.String())
		time.Sleep(15 * time.Second)
		get(h, "/p", "X-Forwarded-Proto", "https")
		synctest.Wait()
		assert.Equal(t, want, get(h, "/p", "X-Forwarded-Proto", "https").Body.String(), "after the refresh")
	})
}

// TestSharedRefreshWithoutCredentials: in a SharedCache view a request with
// Authorization may be answered by a shared (public) response, but a stale
// one starts no refresh (see credentialsDropped): it runs its own request,
// with its credentials, whose answer is not shared, and leaves the entry to
// the others, whose refresh runs without credentials.
func TestSharedRefreshWithoutCredentials(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var calls atomic.Int64
		h := c.Cached(time.Hour, SharedCache(), StaleWhileRevalidate(time.Minute))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			if auth := r.Header.Get("Authorization"); auth != "" {
				w.Header().Set("Cache-Control", "max-age=10") // not public: never shared
				fmt.Fprintf(w, "news for %s", auth)
				return
			}
			w.Header().Set("Cache-Control", "public, max-age=10, stale-while-revalidate=60")
			fmt.Fprint(w, "news for everyone")
		}))
		assert.Equal(t, "news for everyone", get(h, "/news").Body.String())
		time.Sleep(15 * time.Second)
		assert.Equal(t, "news for Bearer alice", get(h, "/news", "Authorization", "Bearer alice").Body.String(), "her own request")
		synctest.Wait()
		assert.EqualValues(t, 2, calls.Load(), "and no refresh")
		assert.Equal(t, "news for everyone", get(h, "/news").Body.String(), "stale, shared")
		synctest.Wait()
		assert.EqualValues(t, 3, calls.Load(), "refreshed")
		assert.Equal(t, "news for everyone", get(h, "/news").Body.String(), "the refresh sent no credentials")
	})
}
