package httpcache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

// panicOnceWriter panics at the first status that passes it, as a writer
// outside a view that breaks as the response reaches it, then works.
type panicOnceWriter struct {
	http.ResponseWriter
	broke bool
}

func (p *panicOnceWriter) WriteHeader(code int) {
	if !p.broke {
		p.broke = true
		panic("below broke")
	}
	p.ResponseWriter.WriteHeader(code)
}

func (p *panicOnceWriter) Write(b []byte) (int, error) {
	if !p.broke {
		p.WriteHeader(http.StatusOK)
	}
	return p.ResponseWriter.Write(b)
}

// TestRecorderPanickedBelowStays: PanickedBelow stays true once a call
// into the writer below panicked, as documented, also where the handler
// recovered that panic and wrote again (uncacheable: the write passes
// below): it cleared at that write, and the handler's own panic then was
// taken for a failure of the handler, not of the writer below.
func TestRecorderPanickedBelowStays(t *testing.T) {
	for _, hold := range []bool{false, true} {
		rec := Recorder{Hold: hold}
		w := rec.Reset(&panicOnceWriter{ResponseWriter: httptest.NewRecorder()})
		w.Header().Set("Cache-Control", "no-store")
		func() {
			defer func() { assert.Equal(t, "below broke", recover()) }()
			_, _ = io.WriteString(w, "first")
		}()
		_, _ = io.WriteString(w, "again")
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		assert.True(t, rec.PanickedBelow(), "hold=%v", hold)
	}
	rec := Recorder{}
	w := rec.Reset(httptest.NewRecorder())
	_, _ = io.WriteString(w, "fine")
	assert.False(t, rec.PanickedBelow(), "no call below panicked")
}
