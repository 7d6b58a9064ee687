package compress

import (
	"net/http"

	"github.com/go-caching/caching/internal/conditional"
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
// the bytes sent. Once the request's context is done (the client left)
// its writes fail with the context's error, as they would without
// Conditional, so a stream that stops at a failed write stops. A response that is not a 200 (a handler's own 304, a 206,
// an error) passes through, as does every request without If-None-Match or
// If-Modified-Since, at no cost. A Compressor does the same unless
// Options.IgnoreConditional is set, comparing the validators the client
// was sent (the weakened or suffixed ETag). The writer handed to next keeps
// exactly the optional interfaces of the one it wraps, and is inert once
// next returns (ErrHandlerReturned). Conditional is safe for concurrent use.
func Conditional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !conditional.Request(r) {
			next.ServeHTTP(w, r)
			return
		}
		cond, cw := conditional.Get(w, r)
		defer cond.Release()
		next.ServeHTTP(cw, r)
	})
}
