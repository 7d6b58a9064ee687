package caching

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// endless reads as a body of n bytes, counting what was read.
type endless struct{ n, read int64 }

func (e *endless) Read(p []byte) (int, error) {
	if e.read >= e.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), e.n-e.read)]
	for i := range p {
		p[i] = 'x'
	}
	e.read += int64(len(p))
	return len(p), nil
}

// TestViewMiss304UnboundedBody: a miss whose response is never stored
// (private) and whose client holds it was answered with a 304 only once the
// handler returned, and the handler's writes below never failed: a handler
// streaming a large or endless body (a file, a proxied download, an
// io.Copy) ran to its end with no one reading it, and the client waited
// for all of it. The 304 is sent as soon as it is decided, and the
// handler's later writes fail, so that it stops.
func TestViewMiss304UnboundedBody(t *testing.T) {
	const limit = 256 << 20 // the handler gives up here: "endless" on main
	for _, copyBody := range []bool{false, true} {
		name := "Write"
		if copyBody {
			name = "io.Copy"
		}
		t.Run(name, func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			got := make(chan struct{}) // the client has the response
			type result struct {
				written int64
				err     error
			}
			done := make(chan result, 1)
			h := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Cache-Control", "private, max-age=60")
				w.Header().Set("ETag", `"stream"`)
				var res result
				if copyBody {
					body := &endless{n: limit}
					_, res.err = io.Copy(w, body)
					res.written = body.read
				} else {
					chunk := []byte(strings.Repeat("x", 16<<10))
					for res.written < limit {
						var n int
						n, res.err = w.Write(chunk)
						res.written += int64(n)
						if res.err != nil {
							break
						}
					}
				}
				if res.err != nil {
					<-got // the 304 went out before the handler returned
				}
				done <- res
			}))
			srv := httptest.NewServer(h)
			defer srv.Close()

			req, err := http.NewRequest(http.MethodGet, srv.URL+"/stream", nil)
			require.NoError(t, err)
			req.Header.Set("If-None-Match", `"stream"`)
			res, err := srv.Client().Do(req)
			require.NoError(t, err)
			close(got)
			n, _ := io.Copy(io.Discard, res.Body)
			res.Body.Close()
			assert.Equal(t, http.StatusNotModified, res.StatusCode)
			assert.Zero(t, n)

			r := <-done
			assert.True(t, errors.Is(r.err, http.ErrBodyNotAllowed), "the handler's writes past the 304 fail: %v", r.err)
			assert.Less(t, r.written, int64(limit), "the handler stopped early")
		})
	}
}
