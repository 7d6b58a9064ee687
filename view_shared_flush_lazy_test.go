package caching_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-caching/caching"
)

// lazySessionWriter commits the session (adds Set-Cookie) at its first Write
// or Flush, as a writer that defers WriteHeader until the body starts does.
type lazySessionWriter struct {
	http.ResponseWriter
	code      int
	committed bool
	modified  bool
}

func (s *lazySessionWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
}

func (s *lazySessionWriter) commit() {
	if s.committed {
		return
	}
	s.committed = true
	if s.code == 0 {
		s.code = http.StatusOK
	}
	if s.modified {
		s.Header().Add("Set-Cookie", "session=alice-token; HttpOnly")
	}
	s.ResponseWriter.WriteHeader(s.code)
}

func (s *lazySessionWriter) Write(p []byte) (int, error) {
	s.commit()
	return s.ResponseWriter.Write(p)
}

func (s *lazySessionWriter) Flush() {
	s.commit()
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// TestSharedFlushLazySessionWriterBelow: in a SharedCache view a flushing
// handler (httputil.ReverseProxy flushes every chunk of an origin response
// of unknown length) makes the body reach the writers below before the
// handler returns. A session writer below that commits at its first Write
// sends alice her page with Set-Cookie: the view judges that too, and does
// not replay the page to an anonymous client.
func TestSharedFlushLazySessionWriterBelow(t *testing.T) {
	c := caching.Must(nil)
	defer c.Close()
	var sw *lazySessionWriter
	view := c.Cached(time.Minute, caching.SharedCache(), caching.CacheStatusHeader("X-Cache"))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=60")
			name := "anonymous"
			if ck, err := r.Cookie("remember"); err == nil {
				name = ck.Value
				sw.modified = true // session.Put
			}
			fmt.Fprint(w, "hello ")
			http.NewResponseController(w).Flush()
			fmt.Fprint(w, name)
		}))
	get := func(cookie string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/home", nil)
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		sw = &lazySessionWriter{ResponseWriter: w}
		view.ServeHTTP(sw, r)
		return w
	}
	if w := get("remember=alice"); w.Body.String() != "hello alice" || w.Header().Get("Set-Cookie") == "" {
		t.Fatalf("alice: %q, Set-Cookie %q", w.Body.String(), w.Header().Get("Set-Cookie"))
	}
	if w := get(""); w.Body.String() != "hello anonymous" {
		t.Fatalf("anonymous client got %q (X-Cache %q): alice's Set-Cookie response was stored", w.Body.String(), w.Header().Get("X-Cache"))
	}
}
