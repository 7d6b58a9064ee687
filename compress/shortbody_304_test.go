package compress

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func serveRecovering(h http.Handler, w http.ResponseWriter, r *http.Request) (p any) {
	defer func() { p = recover() }()
	h.ServeHTTP(w, r)
	return nil
}

// TestShortBodyStillAnswers304: a conditional GET whose If-None-Match
// matches is answered 304 by the Compressor's own Conditional (on by
// default), the handler's body discarded. A handler whose body ends short
// of its Content-Length (a failed io.Copy) still has a complete 304 to
// send, as net/http alone with Conditional sends it; the short-body abort
// below Conditional cut the connection instead.
func TestShortBodyStillAnswers304(t *testing.T) {
	body := strings.Repeat("hello world ", 200) // 2400 bytes
	for _, tc := range []struct {
		etag ETagMode
		inms []string
	}{
		{ETagWeaken, []string{`W/"v1"`, `"v1"`}},
		{ETagSuffix, []string{`"v1:gzip"`}},
	} {
		h := Must(Options{ETag: tc.etag}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			io.WriteString(w, body[:1000]) // the copy failed here
		}))
		for _, inm := range tc.inms {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Accept-Encoding", "gzip")
			r.Header.Set("If-None-Match", inm)
			w := httptest.NewRecorder()
			p := serveRecovering(h, w, r)
			if p != nil {
				t.Errorf("If-None-Match %s: a matching conditional GET (a 304 needs no body) was aborted: panic(%v), status %d", inm, p, w.Code)
			}
			if w.Code != http.StatusNotModified {
				t.Errorf("If-None-Match %s: status %d, want 304", inm, w.Code)
			}
		}
		// Not matching: the short body is still aborted.
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Encoding", "gzip")
		r.Header.Set("If-None-Match", `"other"`)
		if p := serveRecovering(h, httptest.NewRecorder(), r); p != http.ErrAbortHandler {
			t.Errorf("a conditional GET that does not match: panic(%v), want the abort", p)
		}
	}
}
