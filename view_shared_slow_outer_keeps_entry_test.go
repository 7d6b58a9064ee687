package caching

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Where a revalidation's first write below outlasts
// httpcache.FirstWriteWait, the fields the writers outside add cannot be
// judged in time. How fast they write is the client's doing where one
// flushes each write to it (a throttle, an event-stream adapter): a client
// that reads slowly at the stale entry's revalidation must not remove the
// page for everyone (it did: the unjudged response was settled as the
// origin's no-store, and dropRefreshed deleted the entry, both type forms),
// so that the next request ran the handler in full where a 304 does.
func TestSharedSlowOuterWriterAtRevalidationKeepsStaleEntry(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	page := strings.Repeat("page ", 300)
	var full, conditional atomic.Int64
	view := c.Cached(time.Minute, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=1")
		w.Header().Set("Etag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			conditional.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		full.Add(1)
		_, _ = io.WriteString(w, page)
	}))
	srv := slowOuterServer(t, view)
	get := func(slow bool) string {
		req, _ := http.NewRequest("GET", srv.URL+"/p", nil)
		if slow {
			req.Header.Set("X-Slow", "1")
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	require.Equal(t, page, get(false))
	time.Sleep(1100 * time.Millisecond) // stale
	require.Equal(t, page, get(true), "the slow client's revalidation")
	require.Equal(t, int64(1), conditional.Load(), "the stale entry was revalidated")
	require.Equal(t, page, get(false))
	require.Equal(t, int64(1), full.Load(),
		"a slow outer write at revalidation deleted the stale entry: the next client's request ran the handler in full")
}
