package httpcache

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// holdRecorder is a Recorder with Hold over an httptest.ResponseRecorder.
func holdRecorder(limit int) (*Recorder, http.ResponseWriter, *httptest.ResponseRecorder) {
	w := httptest.NewRecorder()
	rec := &Recorder{Limit: limit, Hold: true}
	return rec, rec.Reset(w), w
}

func TestRecorderHold(t *testing.T) {
	t.Run("the body reaches the client at Send", func(t *testing.T) {
		rec, rw, w := holdRecorder(0)
		rw.Header().Set("Content-Type", "text/plain")
		n, err := rw.Write([]byte("hello "))
		require.NoError(t, err)
		assert.Equal(t, 6, n)
		rw.Write([]byte("world"))
		assert.Equal(t, http.StatusOK, w.Code, "the header is committed at once")
		assert.Empty(t, w.Body.String(), "the body is held")
		status, _, body, reason := rec.Finish()
		assert.Equal(t, http.StatusOK, status)
		assert.Equal(t, ReasonNone, reason)
		assert.Equal(t, "hello world", string(body))
		assert.Empty(t, w.Body.String(), "Finish forwards nothing")
		require.NoError(t, rec.Send())
		assert.Equal(t, "hello world", w.Body.String())
		require.NoError(t, rec.Send())
		assert.Equal(t, "hello world", w.Body.String(), "a second Send forwards nothing")
	})
	t.Run("past the limit what was held goes first, then writes pass through", func(t *testing.T) {
		rec, rw, w := holdRecorder(8)
		rw.Write([]byte("12345"))
		rw.Write([]byte("6789"))
		assert.Equal(t, "123456789", w.Body.String())
		rw.Write([]byte("0"))
		assert.Equal(t, "1234567890", w.Body.String())
		_, _, body, reason := rec.Finish()
		assert.Nil(t, body)
		assert.Equal(t, ReasonTooLarge, reason)
		require.NoError(t, rec.Send())
		assert.Equal(t, "1234567890", w.Body.String(), "nothing is sent twice")
	})
	t.Run("a flush forwards what was held and makes the response uncacheable", func(t *testing.T) {
		var failed Reason
		w := httptest.NewRecorder()
		rec := &Recorder{Hold: true, OnFail: func(r Reason) {
			failed = r
			assert.Empty(t, w.Body.String(), "the waiters are told before the held body is forwarded")
		}}
		rw := rec.Reset(w)
		rw.Write([]byte("event"))
		rw.(http.Flusher).Flush()
		assert.Equal(t, ReasonStreaming, failed)
		assert.Equal(t, "event", w.Body.String())
		assert.True(t, w.Flushed)
		rw.Write([]byte("!"))
		assert.Equal(t, "event!", w.Body.String(), "then writes pass through")
	})
	t.Run("with StoreFlushed a flush forwards and recording goes on", func(t *testing.T) {
		w := newGatedWriter() // safe to read while the flush is written
		w.let(nil)
		rec := &Recorder{Hold: true, StoreFlushed: true}
		rw := rec.Reset(w)
		rw.Write([]byte("chunk1 "))
		rw.(http.Flusher).Flush()
		require.Eventually(t, func() bool { got, _ := w.received(); return got == "chunk1 " }, time.Second, time.Millisecond)
		rw.Write([]byte("chunk2"))
		time.Sleep(5 * time.Millisecond)
		got, _ := w.received()
		assert.Equal(t, "chunk1 ", got, "held again after the flush")
		_, _, body, reason := rec.Finish()
		assert.Equal(t, ReasonNone, reason)
		assert.Equal(t, "chunk1 chunk2", string(body))
		require.NoError(t, rec.Send())
		got, _ = w.received()
		assert.Equal(t, "chunk1 chunk2", got, "only the unsent part is sent")
	})
	t.Run("a refused response passes through from the start", func(t *testing.T) {
		w := httptest.NewRecorder()
		rec := &Recorder{Hold: true, Check: func(int, http.Header) Reason { return ReasonStatus }}
		rw := rec.Reset(w)
		rw.WriteHeader(http.StatusInternalServerError)
		rw.Write([]byte("oops"))
		assert.Equal(t, "oops", w.Body.String())
		_, _, body, reason := rec.Finish()
		assert.Nil(t, body)
		assert.Equal(t, ReasonStatus, reason)
	})
	t.Run("a write past the declared length goes to net/http, which refuses it", func(t *testing.T) {
		w := &lengthWriter{ResponseRecorder: httptest.NewRecorder()}
		rec := &Recorder{Hold: true}
		rw := rec.Reset(w)
		rw.Header().Set("Content-Length", "4")
		_, err := rw.Write([]byte("ab"))
		require.NoError(t, err)
		assert.Empty(t, w.Body.String())
		_, err = rw.Write([]byte("cdef"))
		assert.ErrorIs(t, err, http.ErrContentLength, "the handler sees net/http's error")
		assert.Equal(t, "ab", w.Body.String(), "what was held within the length is forwarded first")
		_, _, body, reason := rec.Finish()
		assert.Nil(t, body)
		assert.Equal(t, ReasonLength, reason)
		require.NoError(t, rec.Send())
		assert.Equal(t, "ab", w.Body.String())
	})
	t.Run("a panic's Fail forwards what was held", func(t *testing.T) {
		rec, rw, w := holdRecorder(0)
		rw.Write([]byte("partial"))
		rec.Fail(ReasonPanic)
		assert.Equal(t, "partial", w.Body.String())
		rw.Write([]byte("!"))
		assert.Equal(t, "partial!", w.Body.String())
	})
	t.Run("a diverted response is never sent", func(t *testing.T) {
		w := httptest.NewRecorder()
		rec := &Recorder{Hold: true, Divert: func(status int) bool { return status >= 500 }}
		rw := rec.Reset(w)
		rw.WriteHeader(http.StatusBadGateway)
		rw.Write([]byte("upstream down"))
		rec.Finish()
		require.NoError(t, rec.Send())
		assert.Empty(t, w.Body.String())
	})
}

// lengthWriter refuses, as net/http does, a write that passes the declared
// Content-Length: none of it is written.
type lengthWriter struct {
	*httptest.ResponseRecorder
	written int64
}

func (w *lengthWriter) Write(p []byte) (int, error) {
	if cl, err := strconv.ParseInt(w.Header().Get("Content-Length"), 10, 64); err == nil && w.written+int64(len(p)) > cl {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	return w.ResponseRecorder.Write(p)
}
