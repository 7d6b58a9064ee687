package timing_test

import (
	"bufio"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/timing"
)

// An event-stream handler that asserts http.CloseNotifier, as many still do
// (gin's writer too), works below the middleware over HTTP/1.1 and HTTP/2:
// the writer it gets has CloseNotify where net/http's has it, and the
// channel fires when the client leaves. Without it, the assertion panicked
// and the client got no response at all.
func TestEventStreamKeepsCloseNotifier(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(protoName(h2), func(t *testing.T) {
			left := make(chan struct{})
			srv, client := startServer(t, timing.Must(timing.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				cn, ok := w.(http.CloseNotifier) //lint:ignore SA1019 the deprecated interface is what such handlers assert
				if !ok {
					panic("no http.CloseNotifier") // as w.(http.CloseNotifier) would
				}
				gone := cn.CloseNotify()
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, "data: hello\n\n")
				http.NewResponseController(w).Flush()
				<-gone
				close(left)
			})), h2)
			resp, err := client.Get(srv.URL)
			require.NoError(t, err, "the handler answered")
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			line, err := bufio.NewReader(resp.Body).ReadString('\n')
			require.NoError(t, err)
			assert.Equal(t, "data: hello\n", line)
			resp.Body.Close() // the client leaves
			if !h2 {
				client.CloseIdleConnections()
			}
			<-left // the handler heard that the client left
		})
	}
}
