package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestViewMiss304H2PanicAfterFailedWrite: once a miss refused for storing
// has answered its client's validators with a 304, the handler's writes
// fail (so that a large body is not read for nothing). A proxy aborts on
// that failure (http.ErrAbortHandler), a handler that takes a failed write
// for fatal panics: re-raised, either panic reset the HTTP/2 stream of a
// 304 the client already had. The client gets its 304 with no error.
func TestViewMiss304H2PanicAfterFailedWrite(t *testing.T) {
	body := strings.Repeat("x", 4<<20)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=60")
		w.Header().Set("ETag", `"big"`)
		_, _ = io.WriteString(w, body)
	}))
	defer origin.Close()
	u, _ := url.Parse(origin.URL)
	c := Must(nil)
	defer c.Close()
	for name, h := range map[string]http.Handler{
		"proxy": httputil.NewSingleHostReverseProxy(u),
		"panicky": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "private, max-age=60")
			w.Header().Set("ETag", `"big"`)
			if _, err := io.WriteString(w, body); err != nil {
				panic(err) // a handler that treats a failed write as fatal
			}
		}),
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(c.Cached(time.Minute)(h))
			srv.EnableHTTP2 = true
			srv.Config.ErrorLog = nil
			srv.StartTLS()
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/file", nil)
			req.Header.Set("If-None-Match", `"big"`)
			res, err := srv.Client().Do(req)
			require.NoError(t, err)
			assert.Equal(t, 2, res.ProtoMajor)
			_, err = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			assert.Equal(t, http.StatusNotModified, res.StatusCode)
			assert.NoError(t, err, "the 304's stream ended cleanly")
		})
	}
}
