// Package conditional answers a conditional GET or HEAD from the 200 a
// handler makes: where the request's If-None-Match matches the response's
// ETag (weak comparison, lists and "*"), or, without If-None-Match, its
// If-Modified-Since is not before the response's Last-Modified (to the
// second), the client gets 304 Not Modified instead, and the body is
// discarded (RFC 9110 section 13.2.2, steps 3 and 4). Package compress
// (Conditional) and the response cache (the run of a miss) share it.
package conditional

import (
	"io"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/go-caching/caching/internal/header"
	"github.com/go-caching/caching/internal/httpx"
)

// Request reports whether r is a GET or HEAD with a validator to evaluate
// (If-None-Match or If-Modified-Since, under its canonical key).
func Request(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		(len(r.Header["If-None-Match"]) > 0 || len(r.Header["If-Modified-Since"]) > 0)
}

// Writer turns a 200 whose validators match its request into a 304 at
// commit, and discards the body after it (until the request's context is
// done: see discardErr). The 304 keeps the response's header but the
// fields that describe the body (Content-Type, Content-Length,
// Content-Encoding, Transfer-Encoding, and Last-Modified when there is an
// ETag), as http.ServeContent's does. Any other status (a
// handler's own 304, a 206, an error) passes through. The writer Get
// returns keeps exactly the optional interfaces of the one it wraps. A
// Writer is not safe for concurrent use, like an http.ResponseWriter.
type Writer struct {
	httpx.Writer
	// Only, when set, is asked at commit whether a matching 200 may be
	// made a 304: one it refuses passes whole. A 304 made under Only is
	// sent at once (flushed), and the body the handler goes on writing is
	// refused with http.ErrBodyNotAllowed, as net/http refuses a 304's,
	// so that a handler copying a large or endless body stops early.
	Only func() bool

	r           *http.Request
	notModified bool
}

var _ httpx.Hooks = (*Writer)(nil)

var writers = sync.Pool{New: func() any { return new(Writer) }}

// Get returns a pooled Writer for the response to r (a request Request
// accepts) written to w, and the writer to hand to the handler. Call
// Release once nothing writes through it any more.
func Get(w http.ResponseWriter, r *http.Request) (*Writer, http.ResponseWriter) {
	cw := writers.Get().(*Writer)
	rw := cw.Reset(w, cw)
	cw.r = r
	return cw, rw
}

// Release detaches the writer Get returned (a handler that kept it gets
// httpx.ErrDetached, whatever request the pool gives w to next) and puts w
// back in the pool.
func (w *Writer) Release() {
	w.Reset(nil, nil)
	w.r, w.notModified, w.Only = nil, false, nil
	writers.Put(w)
}

// Request returns the request whose validators w evaluates.
func (w *Writer) Request() *http.Request { return w.r }

// NotModified reports whether w answered 304 in place of the 200.
func (w *Writer) NotModified() bool { return w.notModified }

// WriteHeader evaluates the request's validators against the response's
// when the final status is 200.
func (w *Writer) WriteHeader(code int) {
	if code == http.StatusOK && !w.Committed() && (w.Only == nil || w.Only()) {
		h := w.Header()
		header.Canonicalize(h)
		if NotModified(w.r.Header, h) {
			w.notModified = true
			for _, k := range [...]string{"Content-Type", "Content-Length", "Content-Encoding", "Transfer-Encoding"} {
				delete(h, k)
			}
			if len(h["Etag"]) > 0 {
				delete(h, "Last-Modified")
			}
			code = http.StatusNotModified
		}
	}
	w.Writer.WriteHeader(code)
	if w.notModified && w.Only != nil {
		// net/http holds a 304 until the handler writes or returns:
		// the client is answered now, whatever the handler does next.
		_ = w.Writer.Flush() // http.ErrNotSupported: sent at the end
	}
}

// Write discards the body of a 304 (refuses it under Only, or once the
// request's context is done: see discardErr).
func (w *Writer) Write(p []byte) (int, error) {
	if !w.Committed() {
		w.WriteHeader(http.StatusOK)
	}
	if w.notModified {
		if err := w.discardErr(); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return w.Writer.Write(p)
}

// ReadFrom discards the body of a 304 (refuses it as Write does), and keeps
// sendfile otherwise.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	if !w.Committed() {
		w.WriteHeader(http.StatusOK)
	}
	if w.notModified {
		if err := w.discardErr(); err != nil {
			return 0, err
		}
		return io.Copy(io.Discard, r)
	}
	return w.Writer.ReadFrom(r)
}

// discardErr returns the error of a write of the body of a 304 w made: nil
// (the body is discarded) but under Only (http.ErrBodyNotAllowed) or once
// the request's context is done (its error). A handler that streams until
// a write fails (an event stream that does not watch the context) then
// stops when its client leaves, as it would without w, rather than writing
// into the void for ever.
func (w *Writer) discardErr() error {
	if w.Only != nil {
		return http.ErrBodyNotAllowed
	}
	return w.r.Context().Err()
}

// NotModified evaluates the request's If-None-Match, or else its
// If-Modified-Since, against the response header h (canonical keys; RFC
// 9110 section 13.2.2, steps 3 and 4): true means the client's copy is
// current.
func NotModified(req, h http.Header) bool {
	if inm, ok := req["If-None-Match"]; ok {
		var opaque string
		if et := h["Etag"]; len(et) > 0 {
			// Trimmed as net/http sends it (net/textproto.TrimString).
			opaque = strings.TrimPrefix(textproto.TrimString(et[0]), "W/")
		}
		for tag := range header.ETags(inm) {
			if tag == "*" || opaque != "" && strings.TrimPrefix(tag, "W/") == opaque {
				return true
			}
		}
		return false
	}
	ims, lm := req["If-Modified-Since"], h["Last-Modified"]
	if len(ims) == 0 || len(lm) == 0 {
		return false
	}
	since, err := http.ParseTime(ims[0])
	if err != nil {
		return false
	}
	modified, err := http.ParseTime(lm[0])
	if err != nil || modified.Unix() <= 0 {
		return false
	}
	return !modified.Truncate(time.Second).After(since)
}
