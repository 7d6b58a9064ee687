package caching

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAdoptedKeysStayBounded: while one run of a key is in flight (a slow
// page, a stream), each request that runs without leading a flight (one
// with Authorization in a SharedCache view) and created the path's version
// key hands that key to the call in flight. A client that deletes the key
// between two such requests (a POST under InvalidateOnWrite) grew the
// call's list by one key per pair, for as long as the run lasted: 50,000
// pairs held 50,000 copies of one key (8.5 MiB), all sent in one Delete
// when the run ended. A key the call holds is now not added again.
func TestAdoptedKeysStayBounded(t *testing.T) {
	c := Must(&Options{})
	defer c.Close()
	release := make(chan struct{})
	started := make(chan struct{})
	path := "/slow/" + strings.Repeat("p", 150)
	h := c.Cached(time.Hour, SharedCache(), InvalidateOnWrite())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			w.WriteHeader(http.StatusNoContent)
		case r.Header.Get("Authorization") != "":
			w.Header().Set("Cache-Control", "private")
			_, _ = w.Write([]byte("yours"))
		default:
			close(started)
			<-release
			w.Header().Set("Cache-Control", "public, max-age=60")
			_, _ = w.Write([]byte("page"))
		}
	}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(discard{h: http.Header{}}, httptestRequest(path))
	}()
	<-started
	post, _ := http.NewRequest(http.MethodPost, "http://example.com"+path, nil)
	post.RemoteAddr = "192.0.2.1:1234"
	get := httptestRequest(path)
	get.Header.Set("Authorization", "Bearer x")
	for range 200 {
		h.ServeHTTP(discard{h: http.Header{}}, post)
		h.ServeHTTP(discard{h: http.Header{}}, get)
	}
	v := h.(*view)
	v.flight.mu.Lock()
	require.Len(t, v.flight.running, 1, "the slow run is in flight")
	for _, call := range v.flight.running {
		assert.LessOrEqual(t, len(call.forget), 2, "keys the run in flight holds for others")
		assert.NotEmpty(t, call.forget, "the key was handed to the run in flight")
	}
	v.flight.mu.Unlock()
	close(release)
	<-done
}

// TestAdoptRefusesPastItsBound: distinct keys (the host version keys of
// many Host values under IgnoreHost with HostScopedWrites) are taken up to
// maxAdopted; past it adopt takes none of a call's keys, and their run
// decides for them itself.
func TestAdoptRefusesPastItsBound(t *testing.T) {
	var g viewFlight
	c, leader := g.join("k", true)
	require.True(t, leader)
	for i := range maxAdopted {
		require.True(t, g.adopt("k", []string{fmt.Sprint("h/", i)}), "key %d", i)
	}
	assert.True(t, g.adopt("k", []string{"h/0", "h/1"}), "keys it holds already")
	assert.False(t, g.adopt("k", []string{"h/0", "h/new"}), "a key past the bound")
	assert.Len(t, c.forget, maxAdopted)
	assert.False(t, g.adopt("other", []string{"p/x"}), "no call in flight")
}
