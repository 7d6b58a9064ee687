package timing_test

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/timing"
)

// TestAbortedStatusIsWhatTheClientGot: a handler that wrote its status,
// then ended in runtime.Goexit or panic(http.ErrAbortHandler) (which
// recovering middlewares pass on) with nothing flushed, has its connection
// cut by net/http (an HTTP/2 stream reset) before the status went out: the
// client got none, yet the Report said the status written. It says 500
// now, as for an abort before a status. A status that went out (flushed, or
// a body past net/http's buffer, after which net/http sends the header)
// is still reported as sent, and so is the status of another panic, which
// is what a recovering middleware above has net/http send (its own 500 is
// then superfluous).
func TestAbortedStatusIsWhatTheClientGot(t *testing.T) {
	abort := map[string]func(){
		"Goexit":          runtime.Goexit,
		"ErrAbortHandler": func() { panic(http.ErrAbortHandler) },
	}
	cases := []struct {
		name  string
		abort string
		write func(w http.ResponseWriter)
		outer func(http.Handler) http.Handler
		want  int // the status the client gets; 0: none (reported as 500)
	}{
		{"status only", "Goexit", func(w http.ResponseWriter) { w.WriteHeader(http.StatusCreated) }, nil, 0},
		{"status only", "ErrAbortHandler", func(w http.ResponseWriter) { w.WriteHeader(http.StatusCreated) }, nil, 0},
		{"short body", "Goexit", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte("partial"))
		}, nil, 0},
		{"flushed", "Goexit", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusCreated)
			w.(http.Flusher).Flush()
		}, nil, http.StatusCreated},
		{"past the buffer", "ErrAbortHandler", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write(bytes.Repeat([]byte("x"), 8<<10))
		}, nil, http.StatusCreated},
		{"recovered panic", "panic", func(w http.ResponseWriter) { w.WriteHeader(http.StatusCreated) }, recovering, http.StatusCreated},
	}
	abort["panic"] = func() { panic("boom") }
	for _, tc := range cases {
		for _, h2 := range []bool{false, true} {
			t.Run(tc.name+"/"+tc.abort+"/"+protoName(h2), func(t *testing.T) {
				reports := make(chan timing.Report, 1)
				var h http.Handler = timing.Must(timing.Options{Observe: func(r timing.Report) { reports <- r }})(
					http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						tc.write(w)
						abort[tc.abort]()
					}))
				if tc.outer != nil {
					h = tc.outer(h)
				}
				srv := httptest.NewUnstartedServer(h)
				srv.Config.ErrorLog = log.New(io.Discard, "", 0)
				if h2 {
					srv.EnableHTTP2 = true
					srv.StartTLS()
				} else {
					srv.Start()
				}
				defer srv.Close()
				got := 0
				if res, err := srv.Client().Get(srv.URL); err == nil {
					got = res.StatusCode
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				assert.Equal(t, tc.want, got, "the status the client got")
				want := tc.want
				if want == 0 {
					want = http.StatusInternalServerError
				}
				assert.Equal(t, want, (<-reports).Status, "the Report's status")
			})
		}
	}
}
