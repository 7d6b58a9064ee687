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

// served is what serveRecorded saw on both sides.
type served struct {
	resp    *http.Response
	body    string
	readErr error       // reading the body
	header  http.Header // recorded
	reason  Reason
}

// serveRecorded runs h behind a real net/http server through a Recorder
// whose Check is a zero Policy's, and returns the client's response and the
// Recorder's outcome.
func serveRecorded(t *testing.T, h http.HandlerFunc) served {
	t.Helper()
	done := make(chan served, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p Policy
		rec := Recorder{Check: func(status int, h http.Header) Reason {
			_, reason := p.Response(status, h, time.Minute)
			return reason
		}}
		h(rec.Reset(w), r)
		var out served
		_, out.header, _, out.reason = rec.Finish()
		done <- out
	}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	body, readErr := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	out := <-done
	out.resp, out.body, out.readErr = resp, string(body), readErr
	return out
}

// TestRecorderNonCanonicalKeysAreChecked is issue 12.5: header map keys in
// non-canonical case, which net/http sends, skipped every storing rule, so
// a private response was stored and shared.
func TestRecorderNonCanonicalKeysAreChecked(t *testing.T) {
	for _, tt := range []struct {
		key, value string
		want       Reason
	}{
		{"set-cookie", "session=alice", ReasonSetCookie},
		{"cache-control", "private", ReasonPrivate},
		{"CACHE-CONTROL", "no-store", ReasonNoStore},
		{"vary", "*", ReasonVaryStar},
	} {
		t.Run(tt.key+": "+tt.value, func(t *testing.T) {
			got := serveRecorded(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header()[tt.key] = []string{tt.value}
				_, _ = io.WriteString(w, "for one user")
			})
			require.NoError(t, got.readErr)
			assert.Equal(t, "for one user", got.body)
			assert.Equal(t, tt.value, got.resp.Header.Get(tt.key), "net/http sends the field")
			assert.Equal(t, tt.want, got.reason)
		})
	}
	t.Run("spellings merged in a fixed order into what is recorded", func(t *testing.T) {
		got := serveRecorded(t, func(w http.ResponseWriter, _ *http.Request) {
			h := w.Header()
			h["x-tenant"] = []string{"b"}
			h["X-TENANT"] = []string{"c"}
			h["X-Tenant"] = []string{"a"}
			w.WriteHeader(http.StatusOK)
		})
		require.NoError(t, got.readErr)
		assert.Equal(t, ReasonNone, got.reason)
		assert.Equal(t, []string{"a", "c", "b"}, got.header["X-Tenant"])
		assert.Equal(t, []string{"a", "c", "b"}, got.resp.Header["X-Tenant"], "the client got the same")
		s := NewSnapshot(http.StatusOK, got.header, nil, time.Time{})
		assert.Equal(t, []string{"a", "c", "b"}, s.Header["X-Tenant"])
	})
}

// TestRecorderTruncatedBodyNotStored is issue 12.4: a handler that declares
// Content-Length: 10 and writes 5 bytes gives its client an error, but the
// 5-byte body was recorded as complete.
func TestRecorderTruncatedBodyNotStored(t *testing.T) {
	t.Run("shorter, real server", func(t *testing.T) {
		got := serveRecorded(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "10")
			_, _ = io.WriteString(w, "12345")
		})
		assert.Error(t, got.readErr, "the client sees a truncated body")
		assert.Equal(t, ReasonLength, got.reason)
	})
	for _, tt := range []struct {
		name   string
		status int
		cl     []string
		body   string
		want   Reason
	}{
		{"shorter", 200, []string{"10"}, "12345", ReasonLength},
		{"longer", 200, []string{"3"}, "12345", ReasonLength},
		{"empty", 200, []string{"1"}, "", ReasonLength},
		{"several lengths", 200, []string{"5", "5"}, "12345", ReasonLength},
		{"exact", 200, []string{"5"}, "12345", ReasonNone},
		{"zero", 200, []string{"0"}, "", ReasonNone},
		{"invalid is dropped by net/http", 200, []string{"five"}, "12345", ReasonNone},
		{"negative is dropped by net/http", 200, []string{"-1"}, "12345", ReasonNone},
		{"no body allowed", http.StatusNoContent, []string{"10"}, "", ReasonNone},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, body, reason := record(t, 0, nil, func(w http.ResponseWriter, _ *http.Request) {
				w.Header()["Content-Length"] = tt.cl
				w.WriteHeader(tt.status)
				if tt.body != "" {
					_, _ = io.WriteString(w, tt.body)
				}
			})
			assert.Equal(t, tt.want, reason)
			if reason != ReasonNone {
				assert.Nil(t, body)
			}
		})
	}
	t.Run("lower-case key", func(t *testing.T) {
		_, _, _, _, reason := record(t, 0, nil, func(w http.ResponseWriter, _ *http.Request) {
			w.Header()["content-length"] = []string{"10"}
			_, _ = io.WriteString(w, "12345")
		})
		assert.Equal(t, ReasonLength, reason)
	})
}
