package compress_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
	"github.com/go-caching/caching/internal/testutil"
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

// TestWriteAfterHijackFails: after Hijack, net/http's ResponseWriter answers
// Write with http.ErrHijacked, which tells a handler that the connection is
// no longer the response's. The middleware's writer said the bytes were
// written when it held them back or fed them to the encoder. Whatever the
// state of the response when the handler hijacked it, Write, WriteString and
// ReadFrom now return http.ErrHijacked and send nothing, Flush returns it,
// and WriteHeader does nothing (net/http would log a misuse for it).
func TestWriteAfterHijackFails(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before func(w http.ResponseWriter) // what the handler does before it hijacks
	}{
		{"nothing written", func(w http.ResponseWriter) {}},
		{"status written", func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) }},
		{"body held back", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(big[:100])
		}},
		{"body compressed", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(big)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			results := make(chan []string, 1)
			var serverLog testutil.LockedBuffer
			srv := httptest.NewUnstartedServer(compress.Middleware(compress.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer func() {
					if p := recover(); p != nil {
						select {
						case results <- []string{fmt.Sprint("panic: ", p)}:
						default: // it panicked after it reported
						}
					}
				}()
				tc.before(w)
				conn, brw, err := http.NewResponseController(w).Hijack()
				if err != nil {
					results <- []string{"Hijack: " + err.Error()}
					return
				}
				defer conn.Close()
				results <- afterHijack(w)
				_, _ = brw.WriteString("hijacked\n")
				_ = brw.Flush()
			})))
			srv.Config.ErrorLog = log.New(&serverLog, "", 0)
			srv.Start()
			defer srv.Close()

			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			require.NoError(t, err)
			defer conn.Close()
			require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second))) // fail, not hang
			_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: example.com\r\nAccept-Encoding: gzip\r\n\r\n")
			require.NoError(t, err)
			raw, err := io.ReadAll(conn) // until the handler closes it
			require.NoError(t, err)

			var got []string
			select {
			case got = <-results:
			case <-time.After(5 * time.Second):
				t.Fatal("the handler never finished")
			}
			want := fmt.Sprintf("0 bytes, %v", http.ErrHijacked)
			assert.Equal(t, []string{
				"Write: " + want,
				"WriteString: " + want,
				"ReadFrom: " + want,
				"Flush: " + http.ErrHijacked.Error(),
				"Write after WriteHeader: " + want,
			}, got)
			assert.NotContains(t, string(raw), "late", "nothing written after Hijack reaches the client")
			assert.NotContains(t, string(raw), "HTTP/1.1 500", "WriteHeader after Hijack does nothing")
			assert.True(t, strings.HasSuffix(string(raw), "hijacked\n"), "the connection is the handler's: %q", raw)
			assert.Empty(t, serverLog.String(), "net/http saw no misuse of its ResponseWriter")
		})
	}
}

// afterHijack makes the calls a handler might wrongly make on w after it
// hijacked the connection, and reports what each returned.
func afterHijack(w http.ResponseWriter) []string {
	report := func(call string, n int64, err error) string {
		return fmt.Sprintf("%s: %d bytes, %v", call, n, err)
	}
	n, err := w.Write([]byte("late write"))
	got := []string{report("Write", int64(n), err)}
	n, err = io.WriteString(w, "late string")
	got = append(got, report("WriteString", int64(n), err))
	m, err := w.(io.ReaderFrom).ReadFrom(strings.NewReader("late read"))
	got = append(got, report("ReadFrom", m, err))
	got = append(got, fmt.Sprint("Flush: ", http.NewResponseController(w).Flush()))
	w.WriteHeader(http.StatusInternalServerError)
	n, err = w.Write([]byte("late write after WriteHeader"))
	return append(got, report("Write after WriteHeader", int64(n), err))
}
