package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLateTrailerIsNotStored: a trailer set once the body is written (as
// httputil.ReverseProxy sets an origin's undeclared trailers) reaches the
// client; a stored response has no trailers, so it is not stored, and every
// client gets the trailer, in both modes.
func TestLateTrailerIsNotStored(t *testing.T) {
	body := strings.Repeat("x", 4<<10)
	for _, tc := range []struct {
		name  string
		flush bool
		opts  []ViewOption
	}{{"default", false, nil}, {"shared", false, []ViewOption{SharedCache()}}, {"shared flushed", true, []ViewOption{SharedCache()}}} {
		flush, opts := tc.flush, tc.opts
		t.Run(tc.name, func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			var runs atomic.Int32
			h := c.Cached(time.Minute, opts...)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				runs.Add(1)
				w.Header().Set("Cache-Control", "max-age=60")
				_, _ = io.WriteString(w, body) // past net/http's buffer: chunked, so trailers go out
				if flush {
					w.(http.Flusher).Flush()
				}
				w.Header()[http.TrailerPrefix+"X-Checksum"] = []string{"abc"}
			}))
			srv := httptest.NewServer(h)
			defer srv.Close()
			for i := range 2 {
				resp, err := srv.Client().Get(srv.URL + "/t")
				require.NoError(t, err)
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.NoError(t, err)
				assert.Equal(t, body, string(b))
				assert.Equal(t, "abc", resp.Trailer.Get("X-Checksum"), "request %d gets the trailer", i+1)
			}
			assert.EqualValues(t, 2, runs.Load(), "a response with a late trailer is not stored")
		})
	}
}
