package compress_test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-caching/caching/compress"
)

// TestWriteHeaderInvalidCodeFails: net/http panics on WriteHeader with a
// code outside 100-999 (checkWriteHeaderCode), so a handler that forwards
// an unset status (w.WriteHeader(resp.StatusCode) on an error path where
// resp is zero) never answers. Behind the middleware the status 0 was held
// and sent as 200: the error body went out as a successful response, which
// a cache (Cached outside compress, a CDN) stores and serves to everyone.
// The request must fail as it does without the middleware, conditional or
// not.
func TestWriteHeaderInvalidCodeFails(t *testing.T) {
	for _, code := range []int{0, -1, 99, 1000} {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(code)
			_, _ = io.WriteString(w, "upstream failed")
		})
		// net/http's own verdict, for reference: the handler panics.
		panics := func(h http.Handler, inm string) (panicked bool) {
			defer func() { panicked = recover() != nil }()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Accept-Encoding", "gzip")
			if inm != "" {
				r.Header.Set("If-None-Match", inm)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			return false
		}
		if !panics(h, "") {
			t.Fatalf("WriteHeader(%d): httptest's recorder (as net/http) panics", code)
		}
		srv := httptest.NewUnstartedServer(compress.Middleware(compress.Options{})(h))
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handler's panic
		srv.Start()
		for _, inm := range []string{"", `"x"`} {
			if !panics(compress.Middleware(compress.Options{})(h), inm) {
				t.Errorf("WriteHeader(%d), If-None-Match %q: behind compress the recorder was not told the code", code, inm)
			}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
			if inm != "" {
				req.Header.Set("If-None-Match", inm)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				continue // the request failed, as without the middleware
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Errorf("WriteHeader(%d), If-None-Match %q: reached the client as %d %q; net/http fails the request", code, inm, resp.StatusCode, body)
		}
		srv.Close()
	}
}
