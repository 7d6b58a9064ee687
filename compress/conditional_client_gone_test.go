package compress_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-caching/caching/compress"
)

// TestConditional304BodyWriteFailsOnceClientIsGone: a 304 made of a
// streamed 200 discarded the handler's body with success, so a handler that
// stops streaming at its first failed write (an event stream that does not
// watch the request's context) went on for ever once its client, answered
// with a 304, had left: any request with If-None-Match: * leaked it. Its
// writes fail once the request's context is done, as they would without
// the middleware.
func TestConditional304BodyWriteFailsOnceClientIsGone(t *testing.T) {
	for name, mw := range map[string]func(http.Handler) http.Handler{
		"Conditional": compress.Conditional,
		"Handler":     compress.Must(compress.Options{}).Handler,
		"Handler/sse": compress.Must(compress.Options{EventStream: true}).Handler,
	} {
		t.Run(name, func(t *testing.T) {
			stopped := make(chan struct{})
			quit := make(chan struct{}) // lets the server close if the test fails
			srv := httptest.NewServer(mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(stopped)
				w.Header().Set("Content-Type", "text/event-stream")
				if name == "Handler" {
					w.Header().Set("Content-Type", "application/json")
				}
				w.Header().Set("ETag", `"stream"`)
				for {
					if _, err := io.WriteString(w, "data: {\"tick\":1}\n\n"); err != nil {
						return
					}
					if err := http.NewResponseController(w).Flush(); err != nil {
						return
					}
					select {
					case <-quit:
						return
					default:
					}
				}
			})))
			defer srv.Close()
			defer close(quit)
			tr := &http.Transport{DisableCompression: true}
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			req.Header.Set("Accept-Encoding", "zstd, gzip")
			req.Header.Set("If-None-Match", "*")
			res, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusNotModified {
				t.Fatalf("status %d, want 304", res.StatusCode)
			}
			tr.CloseIdleConnections() // the client leaves
			select {
			case <-stopped:
			case <-time.After(10 * time.Second): // a hang guard, not a timing assertion
				t.Fatal("the handler still writes its discarded body 10s after its client left")
			}
		})
	}
}
