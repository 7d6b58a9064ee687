package caching

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// TestSharedCacheBypassedStreamKeepsCloseNotifier: a request a SharedCache
// view bypasses (BypassIf, the usual way to keep a server-sent-events
// endpoint out of the cache; also a HEAD miss, an OPTIONS, a request with a
// body or a Connection header) reaches the handler with the writer the
// view got. 993b910 wrapped it to date the response, in a writer with only
// Flusher, Hijacker, Pusher and ReaderFrom: an SSE handler that does
// w.(http.CloseNotifier).CloseNotify(), as many still do (gin's writer
// too), panicked, and the client got no response at all.
func TestSharedCacheBypassedStreamKeepsCloseNotifier(t *testing.T) {
	clock := testutil.NewClock()
	c, _ := storeKinds[0].open(t, nil, clock, Options{})
	defer c.Close()
	events := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		//lint:ignore SA1019 the deprecated interface is what such handlers assert
		gone := w.(http.CloseNotifier).CloseNotify()
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		select {
		case <-gone:
			return
		default:
		}
		_, _ = fmt.Fprint(w, "data: hi\n\n")
		w.(http.Flusher).Flush()
	})
	bypass := BypassIf(func(_ context.Context, r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/events") })
	srv := httptest.NewServer(c.Cached(time.Hour, SharedCache(), bypass)(events))
	defer srv.Close()
	srv.Config.ErrorLog = nil
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/events", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "the handler panicked on the bypassed request: no response")
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	assert.Equal(t, "data: hi\n", line)
}
