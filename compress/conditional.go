package compress

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

// Conditional answers the conditional requests of handlers that set
// validators but do not look at the request's (Flask-Compress's
// COMPRESS_EVALUATE_CONDITIONAL_REQUEST, usable without compression): a GET
// or HEAD request whose If-None-Match matches the ETag of next's 200
// response (weak comparison, lists and "*"), or, without If-None-Match,
// whose If-Modified-Since is not before its Last-Modified (to the second),
// gets 304 Not Modified instead of the body. The 304 keeps the response's
// header but the fields that describe the body (Content-Type,
// Content-Length, Content-Encoding, and Last-Modified when there is an
// ETag), as http.ServeContent's does.
//
// next still runs and writes its body, which is discarded: the saving is
// the bytes sent. A response that is not a 200 (a handler's own 304, a 206,
// an error) passes through, as does every request without If-None-Match or
// If-Modified-Since, at no cost. A Compressor does the same unless
// Options.IgnoreConditional is set, comparing the validators the client
// was sent (the weakened or suffixed ETag). The writer handed to next keeps
// exactly the optional interfaces of the one it wraps, and is inert once
// next returns (ErrHandlerReturned). Conditional is safe for concurrent use.
func Conditional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !conditionalRequest(r) {
			next.ServeHTTP(w, r)
			return
		}
		withConditional(w, r, func(w http.ResponseWriter, r *http.Request, _ *conditionalWriter) {
			next.ServeHTTP(w, r)
		})
	})
}

// withConditional runs serve with a writer that makes a 304 of a 200
// whose validators match r (a conditional request), and that writer.
func withConditional(w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter, *http.Request, *conditionalWriter)) {
	cw := conditionalWriters.Get().(*conditionalWriter)
	rw := cw.Reset(w, cw)
	cw.r = r
	defer func() {
		// Detaches rw first: a handler that kept it gets
		// ErrHandlerReturned, whatever request the pool gives cw to next.
		cw.Reset(nil, nil)
		cw.r, cw.notModified = nil, false
		conditionalWriters.Put(cw)
	}()
	serve(rw, r, cw)
}

var conditionalWriters = sync.Pool{New: func() any { return new(conditionalWriter) }}

// conditionalRequest reports whether r is a GET or HEAD with a validator
// to evaluate.
func conditionalRequest(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		(len(r.Header["If-None-Match"]) > 0 || len(r.Header["If-Modified-Since"]) > 0)
}

// conditionalWriter turns a 200 whose validators match the request into a
// 304 at commit, and discards the body after it.
type conditionalWriter struct {
	httpx.Writer
	r           *http.Request
	notModified bool
}

var _ httpx.Hooks = (*conditionalWriter)(nil)

// WriteHeader evaluates the request's validators against the response's
// when the final status is 200.
func (w *conditionalWriter) WriteHeader(code int) {
	if code == http.StatusOK && !w.Committed() {
		h := w.Header()
		header.Canonicalize(h)
		if notModified(w.r.Header, h) {
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
}

// Write discards the body of a 304.
func (w *conditionalWriter) Write(p []byte) (int, error) {
	if !w.Committed() {
		w.WriteHeader(http.StatusOK)
	}
	if w.notModified {
		return len(p), nil
	}
	return w.Writer.Write(p)
}

// ReadFrom discards the body of a 304, and keeps sendfile otherwise.
func (w *conditionalWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.Committed() {
		w.WriteHeader(http.StatusOK)
	}
	if w.notModified {
		return io.Copy(io.Discard, r)
	}
	return w.Writer.ReadFrom(r)
}

// notModified evaluates the request's If-None-Match, or else its
// If-Modified-Since, against the response header h (RFC 9110 section
// 13.2.2, steps 3 and 4): true means the client's copy is current.
func notModified(req, h http.Header) bool {
	if inm, ok := req["If-None-Match"]; ok {
		var opaque string
		if et := h["Etag"]; len(et) > 0 {
			// Trimmed as net/http sends it (see strongETag).
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
