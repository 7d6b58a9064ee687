package httpcache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flushingRecorder is policyRecorder with StoreFlushed (a SharedCache
// view's run): a flush starts the pump.
func flushingRecorder(w http.ResponseWriter) (*Recorder, http.ResponseWriter) {
	rec, _ := policyRecorder(w)
	rec.StoreFlushed = true
	return rec, rec.Reset(w)
}

// TestRecorderPumpFirstWriteBounded: with StoreFlushed, Finish waited for
// the pump's first write below without bound (pump.settle), so a writer
// below that held it (a throttle, a flush-per-write writer whose client
// does not read) held the requests waiting for the response as long as it
// liked. It now waits at most FirstWriteWait, as for its own first write
// (sendFirst): past it the response is not stored (ReasonWriteError, told
// to OnFail), and Send sends the rest once the pump has stopped, each byte
// once.
func TestRecorderPumpFirstWriteBounded(t *testing.T) {
	defer func(d time.Duration) { FirstWriteWait = d }(FirstWriteWait)
	FirstWriteWait = 20 * time.Millisecond
	body := strings.Repeat("0123456789abcdef", 100)
	bw := &blockedWriter{ResponseRecorder: httptest.NewRecorder(), release: make(chan struct{})}
	failed := make(chan Reason, 1)
	rec, rw := flushingRecorder(bw)
	rec.OnFail = func(r Reason) { failed <- r }
	_, _ = io.WriteString(rw, body[:100])
	require.NoError(t, http.NewResponseController(rw).Flush())
	_, _ = io.WriteString(rw, body[100:])
	var stored []byte
	var reason Reason
	returns(t, "Finish", func() { _, _, stored, reason = rec.Finish() })
	assert.Equal(t, ReasonWriteError, reason)
	assert.Nil(t, stored)
	select {
	case r := <-failed:
		assert.Equal(t, ReasonWriteError, r, "the waiters are told")
	default:
		t.Fatal("OnFail was not called by Finish")
	}
	close(bw.release)
	require.NoError(t, rec.Send())
	assert.Equal(t, body, bw.Body.String(), "the body, once, in order")
	assert.Equal(t, http.StatusOK, bw.Code)
}

// TestRecorderPumpNetHTTPWriterNotBounded: to net/http's own writer, which
// buffers the first write (BuffersFirstWrite), Finish waits for the pump's
// first write without a timer, as sendFirst writes in place: however short
// FirstWriteWait, a response the pump writes there is stored.
func TestRecorderPumpNetHTTPWriterNotBounded(t *testing.T) {
	defer func(d time.Duration) { FirstWriteWait = d }(FirstWriteWait)
	FirstWriteWait = time.Nanosecond
	for range 50 {
		w := httptest.NewRecorder()
		rec, rw := flushingRecorder(w)
		_, _ = io.WriteString(rw, "hello ")
		require.NoError(t, http.NewResponseController(rw).Flush())
		_, _ = io.WriteString(rw, "world")
		_, _, stored, reason := rec.Finish()
		require.Equal(t, ReasonNone, reason)
		assert.Equal(t, "hello world", string(stored))
		require.NoError(t, rec.Send())
		assert.Equal(t, "hello world", w.Body.String())
	}
}
