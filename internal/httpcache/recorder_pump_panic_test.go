package httpcache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// panicFlusher's Write writes; its Flush waits for release (when set),
// then panics.
type panicFlusher struct {
	*httptest.ResponseRecorder
	release chan struct{}
}

func (p *panicFlusher) Flush() {
	if p.release != nil {
		<-p.release
	}
	panic("outer flush")
}

// TestRecorderPumpPanics: a write or flush below that panics on the pump's
// goroutine ended the process; the panic is now raised once on the
// handler's goroutine, where net/http and the view recover it: by Finish
// (within FirstWriteWait), by the handler's next Write, or by Send once
// the response is handed on. A Fail after it (the view's, for the panic)
// does not raise it again.
func TestRecorderPumpPanics(t *testing.T) {
	defer func(d time.Duration) { FirstWriteWait = d }(FirstWriteWait)
	t.Run("first write, within the wait: Finish", func(t *testing.T) {
		rec, rw := flushingRecorder(&panicWriter{ResponseRecorder: httptest.NewRecorder()})
		_, _ = io.WriteString(rw, "abc")
		require.NoError(t, http.NewResponseController(rw).Flush())
		assert.PanicsWithValue(t, "outer writer", func() { rec.Finish() })
		assert.NotPanics(t, func() {
			rec.Fail(ReasonPanic)
			_ = rec.Send()
		}, "raised once")
	})
	t.Run("first write, past the wait: Send", func(t *testing.T) {
		FirstWriteWait = 10 * time.Millisecond
		pw := &panicWriter{ResponseRecorder: httptest.NewRecorder(), release: make(chan struct{})}
		rec, rw := flushingRecorder(pw)
		_, _ = io.WriteString(rw, "abc")
		require.NoError(t, http.NewResponseController(rw).Flush())
		_, _, _, reason := rec.Finish()
		assert.Equal(t, ReasonWriteError, reason)
		close(pw.release)
		assert.PanicsWithValue(t, "outer writer", func() { _ = rec.Send() })
	})
	t.Run("a flush: the handler's next Write", func(t *testing.T) {
		pf := &panicFlusher{ResponseRecorder: httptest.NewRecorder(), release: make(chan struct{})}
		rec, rw := flushingRecorder(pf)
		_, _ = io.WriteString(rw, "abc")
		require.NoError(t, http.NewResponseController(rw).Flush())
		close(pf.release)
		require.Eventually(t, func() bool {
			panicked := false
			func() {
				defer func() { panicked = recover() == "outer flush" }()
				_, _ = io.WriteString(rw, ".")
			}()
			return panicked
		}, time.Second, time.Millisecond)
		_, err := io.WriteString(rw, ".")
		assert.ErrorIs(t, err, errWritePanicked, "raised once")
		assert.NotPanics(t, func() {
			rec.Detach()
			rec.Fail(ReasonPanic)
			_ = rec.Send()
		})
	})
}
