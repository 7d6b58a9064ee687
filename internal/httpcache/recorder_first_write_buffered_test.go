package httpcache

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBuffersFirstWriteKnowsNetHTTPWriters: Finish writes its first held
// bytes to net/http's own writer without a goroutine (sendFirst), and to any
// other behind a bounded wait. The writers are known by their reflected
// type names, which a Go release could change: a real server, over HTTP/1.1
// and HTTP/2, catches that (the cost would be the goroutine, not a wrong
// response).
func TestBuffersFirstWriteKnowsNetHTTPWriters(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		got := make(chan bool, 1)
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got <- BuffersFirstWrite(w)
		}))
		if h2 {
			srv.EnableHTTP2 = true
			srv.StartTLS()
		} else {
			srv.Start()
		}
		c := srv.Client()
		if h2 {
			c.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}
			c.Transport.(*http.Transport).ForceAttemptHTTP2 = true
		}
		resp, err := c.Get(srv.URL)
		require.NoError(t, err)
		resp.Body.Close()
		srv.Close()
		assert.Equal(t, map[bool]int{false: 1, true: 2}[h2], resp.ProtoMajor)
		assert.True(t, <-got, "HTTP/2: %v", h2)
	}
	assert.True(t, BuffersFirstWrite(httptest.NewRecorder()))
	assert.False(t, BuffersFirstWrite(struct{ http.ResponseWriter }{httptest.NewRecorder()}), "a wrapper may block")
	assert.False(t, BuffersFirstWrite(nil))
}
