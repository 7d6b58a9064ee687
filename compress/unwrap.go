package compress

import (
	"net/http"

	"github.com/go-caching/caching/internal/httpx"
)

// unwrapFlusher is what the middleware's writers return from Unwrap when the
// writer handed to the handler is not an http.Flusher: the writer below,
// plus a FlushError that flushes through the middleware. Without it,
// http.ResponseController.Flush would walk past the middleware through
// Unwrap and let the writer below commit the headers before the middleware
// had set them (Content-Encoding, a 304), under a body it then changes.
// Everything else (deadlines, Hijack, full duplex) still reaches the writer
// below through its Unwrap.
type unwrapFlusher struct {
	http.ResponseWriter // what Unwrap returned before
	f                   interface{ Flush() error }
}

// FlushError is what http.ResponseController.Flush calls.
func (u unwrapFlusher) FlushError() error { return u.f.Flush() }

// Unwrap returns the writer below.
func (u unwrapFlusher) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// unwrap is the Unwrap of a middleware writer w whose Flush hook is f.
func unwrap(w *httpx.Writer, f interface{ Flush() error }) http.ResponseWriter {
	below := w.Unwrap()
	if _, ok := w.ResponseWriter().(http.Flusher); ok || below == nil {
		return below
	}
	return unwrapFlusher{below, f}
}
