package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// signallingPanicWriter is panickingOuterWriter that closes wrote as its
// Write is about to panic.
type signallingPanicWriter struct {
	http.ResponseWriter
	wrote chan struct{}
}

func (p signallingPanicWriter) Write([]byte) (int, error) {
	close(p.wrote)
	panic("outer writer")
}

func (p signallingPanicWriter) Flush() { _ = http.NewResponseController(p.ResponseWriter).Flush() }

// TestHandlerPanicKeepsItsValueOverAWriterPanic: a handler that flushed
// (the recorder's pump writes below on its own goroutine), whose writer
// outside the view panicked there, and which then panics itself before its
// next Write: the view's recovery, failing the recorder, raised the
// writer's panic in place of the handler's, and skipped the rest of the
// recovery. The handler's panic is the one that goes on, and the request
// is counted.
func TestHandlerPanicKeepsItsValueOverAWriterPanic(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	wrote := make(chan struct{})
	view := c.Cached(time.Minute, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		_, _ = io.WriteString(w, strings.Repeat("page ", 20))
		w.(http.Flusher).Flush()
		<-wrote // the pump's write below has panicked (or is about to)
		time.Sleep(20 * time.Millisecond)
		panic("handler")
	}))
	var got any
	func() {
		defer func() { got = recover() }()
		w := httptest.NewRecorder()
		view.ServeHTTP(signallingPanicWriter{w, wrote}, httptest.NewRequest(http.MethodGet, "/p", nil))
	}()
	assert.Equal(t, "handler", got, "the handler's panic was replaced by the writer's")
	st := c.Stats()
	assert.EqualValues(t, 1, st.Misses+st.Bypasses+st.Errors, "the request was not counted: %+v", st)
}
