package httpcache

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// record runs h through a Recorder over an httptest.ResponseRecorder.
func record(t *testing.T, limit int, check func(int, http.Header) Reason, h http.HandlerFunc) (*httptest.ResponseRecorder, int, http.Header, []byte, Reason) {
	t.Helper()
	w := httptest.NewRecorder()
	rec := Recorder{Limit: limit, StatusHeader: "X-Cache", Check: check}
	h(rec.Reset(w), httptest.NewRequest("GET", "/", nil))
	status, header, body, reason := rec.Finish()
	return w, status, header, body, reason
}

func TestRecorder(t *testing.T) {
	t.Run("records and passes through", func(t *testing.T) {
		w, status, header, body, reason := record(t, 0, nil, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusCreated)
			w.Header().Set("X-Late", "ignored by net/http")
			_, _ = io.WriteString(w, "hello ")
			_, _ = w.Write([]byte("world"))
		})
		assert.Equal(t, ReasonNone, reason)
		assert.Equal(t, 201, status)
		assert.Equal(t, "hello world", string(body))
		assert.Equal(t, "text/plain", header.Get("Content-Type"))
		assert.NotContains(t, header, "X-Late", "header copied at commit")
		assert.NotContains(t, header, "X-Cache", "the cache's own header is not recorded")
		assert.Equal(t, 201, w.Code)
		assert.Equal(t, "hello world", w.Body.String())
		assert.Equal(t, "MISS", w.Header().Get("X-Cache"))
	})
	t.Run("implicit 200", func(t *testing.T) {
		w, status, _, body, reason := record(t, 0, nil, func(http.ResponseWriter, *http.Request) {})
		assert.Equal(t, ReasonNone, reason)
		assert.Equal(t, 200, status)
		assert.Empty(t, body)
		assert.Equal(t, 200, w.Code)
		assert.Equal(t, "MISS", w.Header().Get("X-Cache"))
	})
	t.Run("informational not the status", func(t *testing.T) {
		_, status, header, _, _ := record(t, 0, nil, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Set("X-Final", "1")
			w.WriteHeader(http.StatusOK)
		})
		assert.Equal(t, 200, status)
		assert.Equal(t, "1", header.Get("X-Final"))
	})
	t.Run("ReadFrom is teed", func(t *testing.T) {
		_, _, _, body, reason := record(t, 0, nil, func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.Copy(w, strings.NewReader(strings.Repeat("r", 100000)))
		})
		assert.Equal(t, ReasonNone, reason)
		assert.Len(t, body, 100000)
	})
	t.Run("check refuses at commit", func(t *testing.T) {
		p := &Policy{}
		w, _, _, body, reason := record(t, 0, func(s int, h http.Header) Reason { _, r := p.Response(s, h, time.Minute); return r },
			func(w http.ResponseWriter, _ *http.Request) {
				http.SetCookie(w, &http.Cookie{Name: "s", Value: "1"})
				_, _ = w.Write([]byte("x"))
			})
		assert.Equal(t, ReasonSetCookie, reason)
		assert.Nil(t, body)
		assert.Equal(t, "BYPASS", w.Header().Get("X-Cache"))
		assert.Equal(t, "x", w.Body.String())
	})
	t.Run("trailers", func(t *testing.T) {
		_, _, _, _, reason := record(t, 0, nil, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Trailer", "X-Sum")
			_, _ = w.Write([]byte("x"))
		})
		assert.Equal(t, ReasonTrailer, reason)
	})
}

func TestRecorderLimit(t *testing.T) {
	t.Run("over the limit passes through uncached", func(t *testing.T) {
		w, _, _, body, reason := record(t, 1000, nil, func(w http.ResponseWriter, _ *http.Request) {
			for range 10 {
				_, _ = w.Write([]byte(strings.Repeat("a", 300)))
			}
		})
		assert.Equal(t, ReasonTooLarge, reason)
		assert.Nil(t, body)
		assert.Equal(t, 3000, w.Body.Len(), "the client gets everything")
	})
	t.Run("exactly the limit", func(t *testing.T) {
		_, _, _, body, reason := record(t, 900, nil, func(w http.ResponseWriter, _ *http.Request) {
			for range 3 {
				_, _ = w.Write([]byte(strings.Repeat("a", 300)))
			}
		})
		assert.Equal(t, ReasonNone, reason)
		assert.Len(t, body, 900)
		assert.LessOrEqual(t, cap(body), 900, "never buffered past the cap")
	})
	t.Run("buffer never grows past the cap", func(t *testing.T) {
		w := httptest.NewRecorder()
		rec := Recorder{Limit: 1000}
		rw := rec.Reset(w)
		for range 3 {
			_, _ = rw.Write([]byte(strings.Repeat("a", 300)))
			assert.LessOrEqual(t, cap(rec.body), 1000)
		}
	})
	t.Run("Content-Length over the limit: nothing buffered", func(t *testing.T) {
		w := httptest.NewRecorder()
		rec := Recorder{Limit: 10}
		rw := rec.Reset(w)
		rw.Header().Set("Content-Length", "11")
		_, _ = rw.Write([]byte("a"))
		assert.Equal(t, ReasonTooLarge, rec.Reason())
		assert.Nil(t, rec.body)
	})
	t.Run("Content-Length preallocates", func(t *testing.T) {
		_, _, _, body, reason := record(t, 0, nil, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "5")
			_, _ = w.Write([]byte("hello"))
		})
		assert.Equal(t, ReasonNone, reason)
		assert.Equal(t, "hello", string(body))
		assert.Equal(t, 5, cap(body))
	})
	t.Run("default limit", func(t *testing.T) {
		var rec Recorder
		rec.Reset(httptest.NewRecorder())
		assert.Equal(t, DefaultMaxBody, rec.Limit)
	})
}

// plainWriter has none of the optional interfaces.
type plainWriter struct{ http.ResponseWriter }

type errWriter struct{ http.ResponseWriter }

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("client gone") }

type hijackWriter struct {
	*httptest.ResponseRecorder
	hijacked bool
}

func (h *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h.hijacked = true
	c1, c2 := net.Pipe()
	_ = c2.Close()
	return c1, bufio.NewReadWriter(bufio.NewReader(c1), bufio.NewWriter(c1)), nil
}

func TestRecorderStreaming(t *testing.T) {
	t.Run("Flush", func(t *testing.T) {
		w, _, _, body, reason := record(t, 0, nil, func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("data: 1\n\n"))
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte("data: 2\n\n"))
		})
		assert.Equal(t, ReasonStreaming, reason)
		assert.Nil(t, body)
		assert.True(t, w.Flushed)
		assert.Equal(t, "data: 1\n\ndata: 2\n\n", w.Body.String())
	})
	t.Run("ResponseController Flush", func(t *testing.T) {
		w, _, _, _, reason := record(t, 0, nil, func(w http.ResponseWriter, _ *http.Request) {
			require.NoError(t, http.NewResponseController(w).Flush())
		})
		assert.Equal(t, ReasonStreaming, reason)
		assert.True(t, w.Flushed)
	})
	t.Run("ResponseController deadline reaches through Unwrap", func(t *testing.T) {
		_, _, _, _, reason := record(t, 0, nil, func(w http.ResponseWriter, _ *http.Request) {
			_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = w.Write([]byte("x"))
		})
		assert.Equal(t, ReasonStreaming, reason)
	})
	t.Run("Hijack", func(t *testing.T) {
		hw := &hijackWriter{ResponseRecorder: httptest.NewRecorder()}
		rec := Recorder{Limit: 0}
		rw := rec.Reset(hw)
		conn, _, err := rw.(http.Hijacker).Hijack()
		require.NoError(t, err)
		_ = conn.Close()
		_, _, body, reason := rec.Finish()
		assert.True(t, hw.hijacked)
		assert.Equal(t, ReasonStreaming, reason)
		assert.Nil(t, body)
		assert.Equal(t, 200, hw.Code, "nothing written after a hijack")
	})
	t.Run("interfaces of the wrapped writer kept", func(t *testing.T) {
		var rec Recorder
		_, ok := rec.Reset(plainWriter{httptest.NewRecorder()}).(http.Flusher)
		assert.False(t, ok, "must not advertise Flush it cannot honour")
		_, ok = rec.Reset(httptest.NewRecorder()).(http.Flusher)
		assert.True(t, ok)
	})
	t.Run("write error", func(t *testing.T) {
		var rec Recorder
		rw := rec.Reset(errWriter{httptest.NewRecorder()})
		_, err := rw.Write([]byte("x"))
		require.Error(t, err)
		_, _, body, reason := rec.Finish()
		assert.Equal(t, ReasonWriteError, reason)
		assert.Nil(t, body)
	})
}

func TestRecorderDivertAndOnFail(t *testing.T) {
	t.Run("5xx diverted", func(t *testing.T) {
		w := httptest.NewRecorder()
		var failed []Reason
		rec := Recorder{StatusHeader: "X-Cache", Divert: func(s int) bool { return s >= 500 }, OnFail: func(r Reason) { failed = append(failed, r) }}
		rw := rec.Reset(w)
		rw.WriteHeader(http.StatusBadGateway)
		_, _ = rw.Write([]byte("upstream down"))
		rw.(http.Flusher).Flush()
		status, _, body, reason := rec.Finish()
		assert.Equal(t, 502, status)
		assert.Equal(t, 502, rec.Diverted())
		assert.Equal(t, ReasonDiverted, reason)
		assert.Nil(t, body)
		assert.Equal(t, []Reason{ReasonDiverted}, failed, "OnFail once")
		assert.False(t, w.Flushed)
		assert.Empty(t, w.Body.String(), "nothing forwarded")
		assert.NotContains(t, w.Header(), "X-Cache")
	})
	t.Run("implicit 200 not diverted", func(t *testing.T) {
		w := httptest.NewRecorder()
		rec := Recorder{Divert: func(s int) bool { return s >= 500 }}
		rw := rec.Reset(w)
		_, _ = rw.Write([]byte("ok"))
		_, _, body, reason := rec.Finish()
		assert.Equal(t, ReasonNone, reason)
		assert.Equal(t, "ok", string(body))
		assert.Equal(t, "ok", w.Body.String())
	})
	t.Run("OnFail on streaming", func(t *testing.T) {
		var failed []Reason
		rec := Recorder{OnFail: func(r Reason) { failed = append(failed, r) }}
		rw := rec.Reset(httptest.NewRecorder())
		rw.(http.Flusher).Flush()
		rw.(http.Flusher).Flush()
		_, _ = rw.Write([]byte("x"))
		rec.Finish()
		assert.Equal(t, []Reason{ReasonStreaming}, failed)
	})
}
