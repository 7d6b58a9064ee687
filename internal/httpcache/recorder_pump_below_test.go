package httpcache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// lazyWriter commits its header at its first Write (as many middleware
// writers do), and adds Set-Cookie then (or field: value, when field is
// not "").
type lazyWriter struct {
	http.ResponseWriter
	field     string
	value     string
	code      int
	committed bool
}

func (l *lazyWriter) WriteHeader(code int) {
	if l.code == 0 {
		l.code = code
	}
}

func (l *lazyWriter) commit() {
	if !l.committed {
		l.committed = true
		if l.code == 0 {
			l.code = http.StatusOK
		}
		field, value := l.field, l.value
		if field == "" {
			field, value = "Set-Cookie", "session=alice-token"
		}
		l.Header().Add(field, value)
		l.ResponseWriter.WriteHeader(l.code)
	}
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	l.commit()
	return l.ResponseWriter.Write(p)
}

func (l *lazyWriter) Flush() {
	l.commit()
	l.ResponseWriter.(http.Flusher).Flush()
}

// TestRecorderPumpLazyWriterBelowJudged: with StoreFlushed and Hold (a
// SharedCache view), a flush makes the pump write the body below before
// Finish: a writer below that adds Set-Cookie at its first Write has sent
// it to the client, and Finish judges it, though the handler's header is a
// copy while the pump runs.
func TestRecorderPumpLazyWriterBelowJudged(t *testing.T) {
	w := httptest.NewRecorder()
	p := &Policy{}
	rec := Recorder{Hold: true, StoreFlushed: true, Check: func(s int, h http.Header) Reason {
		_, r := p.Response(s, h, time.Minute)
		return r
	}}
	hw := rec.Reset(&lazyWriter{ResponseWriter: w})
	_, _ = io.WriteString(hw, "hello ")
	_ = http.NewResponseController(hw).Flush()
	_, _ = io.WriteString(hw, "alice")
	_, _, body, reason := rec.Finish()
	_ = rec.Send()
	if w.Header().Get("Set-Cookie") == "" {
		t.Fatal("test setup: the client did not get Set-Cookie")
	}
	if reason == ReasonNone {
		t.Fatalf("stored %q: the client got it with Set-Cookie before Finish", body)
	}
}
