package compress_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// TestHijackSendsTheWrittenStatus: net/http sends a status the handler
// wrote (and the body it buffered) before it hands the connection over, which
// is how a forward proxy answers CONNECT: WriteHeader(200), Hijack, then pipe.
// The middleware held the 200 back for its decision, so the client never got
// it and the tunnel hung.
func TestHijackSendsTheWrittenStatus(t *testing.T) {
	backend := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "through the tunnel")
	}))
	defer backend.Close()
	proxy := httptest.NewServer(compress.Middleware(compress.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		dst, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer dst.Close()
		w.WriteHeader(http.StatusOK)
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		// brw holds what the server read past the request: the start of
		// the client's TLS handshake, when it came quickly.
		go func() { _, _ = io.Copy(dst, brw) }()
		_, _ = io.Copy(conn, dst)
	})))
	defer proxy.Close()

	proxyURL, err := url.Parse(proxy.URL)
	require.NoError(t, err)
	tr := backend.Client().Transport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(proxyURL)
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second) // fail, not hang
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, backend.URL, nil)
	require.NoError(t, err)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err, "the proxy's 200 to CONNECT never reached the client")
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "through the tunnel", string(body))
}
