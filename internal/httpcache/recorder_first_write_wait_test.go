package httpcache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blockedWriter's Write waits for release, then adds Set-Cookie (as a
// lazy writer that commits at its first Write) and writes.
type blockedWriter struct {
	*httptest.ResponseRecorder
	release chan struct{}
}

func (b *blockedWriter) Write(p []byte) (int, error) {
	<-b.release
	return b.ResponseRecorder.Write(p)
}

// TestRecorderFirstWriteBounded: Finish's first write below (sendFirst)
// is waited for at most FirstWriteWait: a writer below that holds it
// (one that throttles its client, or flushes each write to one that does
// not read) held Finish, and with it the requests waiting for the
// response, as long as it liked. Past the wait the response is not stored
// (ReasonWriteError: the waiters wait for a new leader), and Send sends
// the rest once the write has returned, each byte once. The test runs in a
// synctest bubble, whose clock moves only while every goroutine waits:
// Finish takes FirstWriteWait of it on any machine, and one that waited
// for the write would leave the bubble deadlocked, which fails the test.
func TestRecorderFirstWriteBounded(t *testing.T) {
	defer func(d time.Duration) { FirstWriteWait = d }(FirstWriteWait)
	FirstWriteWait = 20 * time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		body := strings.Repeat("0123456789abcdef", 100)
		bw := &blockedWriter{ResponseRecorder: httptest.NewRecorder(), release: make(chan struct{})}
		var failed Reason
		rec, rw := policyRecorder(bw)
		rec.OnFail = func(r Reason) { failed = r }
		_, _ = io.WriteString(rw, body)
		start := time.Now()
		_, _, stored, reason := rec.Finish()
		assert.Equal(t, FirstWriteWait, time.Since(start), "Finish waits FirstWriteWait, no longer")
		assert.Equal(t, ReasonWriteError, reason)
		assert.Equal(t, ReasonWriteError, failed, "the waiters are told")
		assert.Nil(t, stored)
		time.AfterFunc(50*time.Millisecond, func() { close(bw.release) })
		require.NoError(t, rec.Send())
		assert.Equal(t, body, bw.Body.String(), "the body, once")
		assert.Equal(t, http.StatusOK, bw.Code)
	})
}

// panicWriter's Write waits for release (when set), then panics.
type panicWriter struct {
	*httptest.ResponseRecorder
	release chan struct{}
}

func (p *panicWriter) Write([]byte) (int, error) {
	if p.release != nil {
		<-p.release
	}
	panic("outer writer")
}

// TestRecorderFirstWritePanics: a writer below that panics at Finish's
// first write has the panic raised on the goroutine that called Finish
// (or, past FirstWriteWait, Send), where net/http and the view recover
// it, not on the write's own goroutine, where it would end the process.
func TestRecorderFirstWritePanics(t *testing.T) {
	defer func(d time.Duration) { FirstWriteWait = d }(FirstWriteWait)
	t.Run("within the wait", func(t *testing.T) {
		rec, rw := policyRecorder(&panicWriter{ResponseRecorder: httptest.NewRecorder()})
		_, _ = io.WriteString(rw, "abc")
		assert.PanicsWithValue(t, "outer writer", func() { rec.Finish() })
	})
	t.Run("past the wait", func(t *testing.T) {
		FirstWriteWait = 10 * time.Millisecond
		pw := &panicWriter{ResponseRecorder: httptest.NewRecorder(), release: make(chan struct{})}
		rec, rw := policyRecorder(pw)
		_, _ = io.WriteString(rw, "abc")
		_, _, _, reason := rec.Finish()
		assert.Equal(t, ReasonWriteError, reason)
		close(pw.release)
		assert.PanicsWithValue(t, "outer writer", func() { _ = rec.Send() })
	})
}
