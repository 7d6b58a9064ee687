package caching_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-caching/caching"
)

// cdnPrivateWriter adds "CDN-Cache-Control: private" as the status passes it,
// as a middleware that keeps a signed-in member's pages out of CDNs does.
type cdnPrivateWriter struct {
	http.ResponseWriter
	member, written bool
}

func (s *cdnPrivateWriter) WriteHeader(code int) {
	if !s.written {
		s.written = true
		if s.member {
			s.Header().Set("CDN-Cache-Control", "private")
		}
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *cdnPrivateWriter) Write(p []byte) (int, error) {
	if !s.written {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(p)
}

// TestSharedTargetedFieldAddedBelow: a SharedCache view follows its
// targeted field (CDN-Cache-Control by default) instead of Cache-Control,
// so a "CDN-Cache-Control: private" a middleware outside the view adds as
// the status passes its writer keeps the member's page out, as the same
// field set by the handler does.
func TestSharedTargetedFieldAddedBelow(t *testing.T) {
	c := caching.Must(nil)
	defer c.Close()
	view := c.Cached(time.Minute, caching.SharedCache(), caching.CacheStatusHeader("X-Cache"))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=60")
			fmt.Fprintf(w, "hello %s", r.Header.Get("X-User"))
		}))
	get := func(user string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/home", nil)
		if user != "" {
			r.Header.Set("X-User", user)
		}
		w := httptest.NewRecorder()
		view.ServeHTTP(&cdnPrivateWriter{ResponseWriter: w, member: user != ""}, r)
		return w
	}
	if w := get("alice"); w.Body.String() != "hello alice" || w.Header().Get("CDN-Cache-Control") != "private" {
		t.Fatalf("alice: %q %q", w.Body.String(), w.Header())
	}
	if w := get(""); w.Body.String() != "hello " {
		t.Fatalf("anonymous client got %q (X-Cache %q): a response sent with CDN-Cache-Control: private was stored",
			w.Body.String(), w.Header().Get("X-Cache"))
	}
}

// TestSharedTargetedFieldSetByHandler: the same field set by the
// handler keeps the page out (what the field added below is compared with).
func TestSharedTargetedFieldSetByHandler(t *testing.T) {
	c := caching.Must(nil)
	defer c.Close()
	view := c.Cached(time.Minute, caching.SharedCache())(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=60")
			if r.Header.Get("X-User") != "" {
				w.Header().Set("CDN-Cache-Control", "private")
			}
			fmt.Fprintf(w, "hello %s", r.Header.Get("X-User"))
		}))
	r := httptest.NewRequest(http.MethodGet, "/home", nil)
	r.Header.Set("X-User", "alice")
	view.ServeHTTP(httptest.NewRecorder(), r)
	w := httptest.NewRecorder()
	view.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/home", nil))
	if w.Body.String() != "hello " {
		t.Fatalf("anonymous client got %q", w.Body.String())
	}
}
