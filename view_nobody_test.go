package caching

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNoContentWithStrayBodyIsShared: a handler that answers 204 and
// then writes a body (a JSON encoder after WriteHeader) gets
// http.ErrBodyNotAllowed from net/http, which sends the 204 without it. That
// is not its client leaving: the response is the 204 the client gets, and
// the requests that waited for the run are served it. They must not each
// run the handler in turn, as if every leader's client had left (slower
// than no cache: each waits for every run before its own).
func TestNoContentWithStrayBodyIsShared(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	release := make(chan struct{})
	var calls atomic.Int32
	var werr atomic.Value
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			<-release // the others join this run
		}
		w.Header().Set("Cache-Control", "max-age=60")
		w.WriteHeader(http.StatusNoContent)
		if _, err := w.Write([]byte("null\n")); err != nil {
			werr.Store(err)
		}
	})
	srv := httptest.NewServer(c.Cached(time.Minute, SharedCache(), CacheStatusHeader("X-Cache"))(h))
	defer srv.Close()

	do := func() *http.Response {
		resp, err := http.Get(srv.URL + "/ack")
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	var wg sync.WaitGroup
	codes := make([]int, 4)
	wg.Go(func() { codes[0] = do().StatusCode })
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for i := 1; i < len(codes); i++ {
		wg.Go(func() { codes[i] = do().StatusCode })
	}
	time.Sleep(100 * time.Millisecond) // the others wait for the first run
	close(release)
	wg.Wait()
	for i, code := range codes {
		assert.Equal(t, http.StatusNoContent, code, "request %d", i)
	}
	assert.ErrorIs(t, werr.Load().(error), http.ErrBodyNotAllowed, "the handler sees net/http's error")
	assert.EqualValues(t, 1, calls.Load(), "one run for the requests that waited for it")
	resp := do()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, "HIT", resp.Header.Get("X-Cache"), "the 204 was stored")
	assert.EqualValues(t, 1, calls.Load())
}
