// Package compress is response compression middleware for net/http, with
// Flask-Compress's options and defaults: zstd, brotli ("br"), gzip and
// deflate (the zlib format, as RFC 9110 defines it), chosen by a real
// RFC 9110 Accept-Encoding negotiation.
//
//	c, err := compress.New(compress.Options{}) // zero Options = Flask-Compress defaults
//	handler := c.Handler(mux)                  // or compress.Middleware(compress.Options{})(mux)
//
// # Negotiation
//
// Every Accept-Encoding line is parsed: codings are case-insensitive,
// q-values have up to three decimals, "q=0" refuses a coding, "*" stands for
// codings not listed, "x-gzip" means gzip, and an explicit identity weight
// higher than every codec's means "do not compress". Nothing is matched by
// substring ("gzip;q=0" is a refusal). An element that does not follow RFC
// 9110's grammar (sections 12.5.3 and 12.4.2: a weight that is not "0" or
// "1" with at most three decimals, as "q=0.0001", "q=abc" or "q=1.5", or a
// parameter other than q) refuses the coding it names, wherever it stands:
// "gzip;q=0;x=1, *" gets no gzip. The client meant to weigh that coding, and
// reading it as a refusal never sends what it may have refused, where
// ignoring the element let a "*" grant it; refusing the whole header instead
// would cost every other coding it named well-formed. Among
// the acceptable codecs the highest weight wins, ties going to
// Options.Algorithms order (default zstd, br, gzip, deflate). Responses
// flushed before the handler returns use Options.StreamingAlgorithms
// (default zstd, br, deflate). No Accept-Encoding header means no
// compression. [Compressor.Negotiate] exposes the choice, so that a cache can
// key its variants by negotiated encoding, and
// [Compressor.CanonicalAcceptEncoding] a header that names only the codings
// chosen and gets the same choices, which a middleware in front of a
// response cache can put in the request so that the cache keeps a few
// variants per page.
//
// # When a response is compressed
//
// The decision is taken once, when the handler first calls WriteHeader with
// a final status (1xx informational codes pass through at once), Write,
// ReadFrom or Flush, from the response headers as they are then; only the
// size waits for the body (up to MinSize bytes are held back, unless
// Content-Length is set, and at least 512 when the type is to be sniffed).
// A response is left alone when:
//
//   - Options.Skip says so (an upgrade needs no exception: its 101 is not
//     a 2xx, and Hijack hands the connection over; a request with an
//     Upgrade header answered with a 200 is handled like any other);
//   - its status is not 2xx, or is 204 or 206 (a 304 gets the Vary its 200
//     would have had, RFC 9110 section 15.4.5: none when its Content-Type is
//     one that is not compressed, when it has "Cache-Control: no-transform",
//     or after Disable, "Accept-Encoding" when it has a compressible
//     Content-Type or none at all (its own Content-Encoding or not), since the
//     middleware cannot tell then what its 200 was: net/http's ServeContent
//     and FileServer remove Content-Type and Content-Encoding from their
//     304s, so a precompressed or never-compressed file's 304 varies where
//     its 200 did not, which costs a shared cache at most one entry per
//     Accept-Encoding; and, when the client revalidated an encoded variant,
//     the ETag that variant had: the variant its If-None-Match names, or,
//     when it sent If-Modified-Since only, the one negotiated for the
//     request, and not the fields its 200 went out without (Accept-Ranges,
//     the digests of the handler's bytes), which a cache would merge into
//     the encoded response it stored; nor has a 304 those fields when its
//     tag does not tell the variants apart (a weak one, ETagKeep's, one
//     matched by "If-None-Match: *"): only one to a client that named the
//     handler's strong tag itself, or revalidated the identity with
//     If-Modified-Since, keeps them; a 206, a range of the unencoded bytes, gets the Vary its 200
//     would have had too, RFC 9110 section 15.3.7, on the same terms);
//   - it has a Content-Encoding (call [Disable] to opt a response out) or a
//     Content-Range, or "Cache-Control: no-transform". A response the
//     handler coded itself is sent as it is, but with the Vary its uncoded
//     form would have had ("Accept-Encoding" merged, never duplicated, when
//     the status, Content-Type and Cache-Control leave the choice to
//     negotiation; not after Disable): a handler that sets Content-Encoding
//     chose it by Accept-Encoding (a pre-compressed blob, a proxied
//     upstream), and a shared cache that stores it under the URL alone
//     serves the coded bytes to clients that do not accept them. Caddy's
//     encode and nginx's gzip_vary add nothing there; klauspost's gzhttp
//     adds Vary to every response. A handler whose coded response does not
//     depend on Accept-Encoding costs a cache at most one entry per
//     negotiation profile;
//   - its media type is not in Options.MimeTypes, is text/event-stream
//     (unless Options.EventStream), or is already compressed (images other
//     than SVG and icons, audio, video, archives and packages, .dmg disk
//     images, woff, PDF, application/octet-stream); the type is sniffed
//     with http.DetectContentType only when Content-Type is missing, from
//     the first 512 bytes of the body however the handler splits its writes,
//     and the sniffed type is set on the response, as net/http does;
//   - its body is shorter than MinSize (500 bytes) and was not flushed;
//   - the client accepts none of the configured codecs.
//
// A HEAD response gets the headers its GET would get (Content-Encoding,
// Vary, ETag), without Content-Length, when its handler gives what the
// decision needs: a Content-Type or a body to sniff, and a Content-Length or
// the body itself (written as for GET; net/http discards it). Its body is
// not compressed. A HEAD whose handler writes no body and sets no
// Content-Length (or no Content-Type) gives no size (or type) to decide on:
// it is sent unencoded, with its ETag and any Content-Length as the handler
// set them (RFC 9110 section 9.3.2 lets a HEAD omit fields determined while
// generating the content), but with "Vary: Accept-Encoding" unless its
// status or headers rule compression out, as its GET may be encoded.
//
// # Headers of a compressed response
//
// Content-Encoding is set; "Vary: Accept-Encoding" is merged
// case-insensitively into Vary on every response that could have been
// compressed, whether or not this client accepted an encoding (so shared
// caches never serve a compressed body to a client that did not ask for
// it), in a value no other response shares, which an outer middleware may
// edit in place; Accept-Ranges (the middleware never sends a range of a body
// it encodes, and a caching.SharedCache view around it sends a stored one
// whole too), and digests of the handler's bytes (Content-Digest,
// Repr-Digest, Content-MD5, RFC 3230's Digest), are removed; strong ETags are
// weakened (W/"x") or, with ETagSuffix, suffixed ("x:gzip") and
// If-None-Match and If-Match rewritten so that a handler computing its own
// ETag still answers 304 (which carries the ETag of the variant the client
// named, streamed or not) and accepts updates conditioned on it. Weakening,
// the default, gives every encoded variant one tag: a shared cache that
// revalidates several stored variants with all their tags in one
// If-None-Match (RFC 9111 section 4.3.1) gets a 304 that selects all of
// them (section 4.3.4), and may then serve its gzip copy to a client that
// accepts only br. ETagSuffix gives each variant a tag of its own, and its
// 304 names the variant negotiated for the request: set it in front of such
// a cache. Caches that select by Vary first (browsers, this module's
// response cache) are not affected. If-Range
// is not rewritten (see Ranges below). Content-Length is exact
// when the whole compressed body fits in MaxBuffer (64 KiB); a larger or
// flushed body, or one with trailers (declared in Trailer or set with
// http.TrailerPrefix), is sent without it (chunked: net/http sends trailers
// only then).
//
// # Ranges
//
// A range is a range of the representation selected for the request. A
// date If-Range (or a weak tag) cannot tell an encoded representation from
// the decoded content the client may hold, so when the representation
// selected is encoded, the request gets the whole encoded body: Handler
// passes it to the handler without Range and If-Range, FileServer sends the
// whole sibling. When it is the unencoded one, the range is served as the
// handler serves it (browsers store decoded bytes, so a range of the
// decoded content is what they need): the client accepts no encoding of
// Algorithms or StreamingAlgorithms (curl -C -, a browser resuming with
// identity), Options.Skip passes the request through, FileServer has no
// usable sibling, or (not under ETagKeep) the extension of the request's
// path, case ignored, is one of a file downloaded whole, from a fixed list
// (archives .zip .gz .tgz .bz2 .xz .zst .7z .rar; packages and installers
// .jar .war .apk .whl .deb .rpm .msi .exe .dmg; disk images .iso .img .bin;
// documents .pdf; video .mp4 .m4v .mov .webm .mkv .avi; audio .mp3 .m4a .aac
// .ogg .oga .opus .flac; images .jpg .jpeg .png .gif .webp .avif .heic;
// fonts .woff .woff2) whose media type compress would not encode under
// MimeTypes: none of them is encoded under the default MimeTypes, and only
// .iso (application/x-iso9660-image) may be under one that names its type
// or a wildcard. Handler selects before the
// handler runs, by that list only (not the host's mime.types): any other
// path (.php, .md, .txt, none) counts as encoded when the client accepts an
// encoding, even when MimeTypes leaves its type out, and is sent whole. A
// handler serving an encodable type (HTML) at a path with one of those
// extensions (/download.zip) gets a range of its unencoded bytes on a date
// If-Range although its 200 was encoded: do not do that.
//
// A strong tag is trusted under ETagWeaken and ETagSuffix: compress
// weakens or suffixes the tags of what it encodes, so one naming an
// encoded variant fails the handler's comparison, and the whole body is
// sent. Under ETagKeep a Range with any If-Range, a strong tag included,
// from a client that accepts an encoding gets the whole body: the
// handler's tag for the encoded variant would match its own unencoded
// bytes when compress does the encoding. The cost: a handler that encodes
// its own responses under ETagKeep loses those ranges.
//
// # Conditional requests
//
// A handler that sets ETag or Last-Modified but does not look at
// If-None-Match or If-Modified-Since is answered for: a GET or HEAD whose
// validators match the 200 response's (the ETag as the client was sent it,
// weakened or suffixed; weak comparison) gets 304 Not Modified without the
// body, as Flask-Compress's COMPRESS_EVALUATE_CONDITIONAL_REQUEST does (on
// by default; Options.IgnoreConditional turns it off). The 304 is decided
// from the header, before any of the body is encoded: what the handler
// writes after it is discarded unencoded, so a client resending the tag it
// was sent costs the handler's run but no encoder. [Conditional] does
// the same without compression.
//
// # Streaming and the ResponseWriter
//
// The writer handed to the handler keeps exactly the optional interfaces of
// the one it wraps (http.Flusher, http.Hijacker, http.Pusher,
// io.ReaderFrom), plus io.StringWriter and Unwrap for
// http.ResponseController. Flush decides at once (whatever the size), sync-
// flushes the encoder and then the connection, so server-sent events are not
// delayed; http.ResponseController's Flush goes through the middleware even
// when the writer below is reachable only through Unwrap (internal/httpx
// sees to it). Hijack first sends what the handler wrote, as net/http does
// (a status still held for the decision goes out unencoded: a proxy's 200 to
// CONNECT), then hands the connection over untouched; after it, Write,
// WriteString and ReadFrom send nothing and return http.ErrHijacked, as
// net/http's do, Flush returns it too, and WriteHeader does nothing. A
// WriteHeader code outside 100-999 (an unset status) goes straight to the
// writer below, which panics as net/http's does: it is not held and sent
// as a 200.
// ReadFrom keeps sendfile for responses that pass through and routes others
// through the encoder. If the handler panics, pooled encoders and buffers
// are released and nothing held back is sent, so an outer recoverer can
// still write its 500 (unless the response was already streaming).
//
// The header is sent as it was at the handler's first WriteHeader or Write,
// as net/http sends it, though the middleware commits the response later
// when it holds it (a body under MinSize, an encoded one within MaxBuffer):
// a field set, changed or removed after that is not sent, whatever the size
// of the body, but trailers are (keys with http.TrailerPrefix, fields
// declared in Trailer), as net/http reads them once the handler returns.
//
// A Content-Length the handler sets is kept to, as net/http keeps to it: a
// write past it writes nothing and returns http.ErrContentLength, and a
// handler that returns having written less of a body that is compressed (a
// failed io.Copy) has its response aborted with panic(http.ErrAbortHandler)
// once pooled state is released: the connection is cut and the client sees
// a broken response, never a complete short one that a cache would store.
// A response that Conditional answers with a 304 (a conditional GET whose
// validators match) sends no body and is not aborted, nor is a HEAD.
//
// Once the request's context is cancelled (not one that ended by its
// deadline, whose writes net/http goes on sending), the client may have
// left: net/http cancels it then, but also when an HTTP/1 client closes
// its write side (shutdown) and still reads, and so may a middleware above
// with its client there. A body that is compressed is then no longer held
// back: it is streamed, and the encoder and the connection are flushed at
// the handler's first write after the cancel and then every MaxBuffer of
// its input, so that a write fails once the connection says the client is
// gone (with the connection's error), as net/http's own writes do, and
// otherwise every byte reaches the client. Held back within MaxBuffer, a
// very compressible body would be encoded by the tens of megabytes before a
// write to a gone client failed; streamed so, about MaxBuffer of input is.
// Once a write or flush below failed, the writes and Flush
// (http.ResponseController's; http.Flusher's has no error) of a body that
// is compressed fail with that error and encode nothing, and a compressed
// response whose handler returns then is aborted with
// panic(http.ErrAbortHandler), as one cut short of its Content-Length is:
// its last block is not encoded and nothing held back is sent. A
// middleware above that reports panics (timing's Report.Panicked) counts
// these. The writes of a HEAD's body, which is never encoded nor sent, fail
// with context.Canceled once the context is cancelled, and so does its
// Flush: the handler stops reading its source, and the header goes out as
// it would. A response cache in front (this module's views) stores nothing
// a request made after its context was done, and hands its waiters on to a
// run of their own.
//
// # Pre-compressed files
//
// [Compressor.FileServer] serves an fs.FS like http.FileServerFS, but sends
// "a.js.zst", "a.js.br" or "a.js.gz" for "a.js" to clients that accept
// them, with http.ServeContent's Range and conditional semantics for each
// variant and the Content-Type of the original. A sibling older than its
// original by more than 2 seconds is stale (not rebuilt when the original
// changed) and never sent; the 2 seconds allow for cp -r or scp -r without
// -p, which may write "a.js.gz" a moment before "a.js", and for FAT's
// 2-second times. A request Options.Skip passes through gets the original
// untouched. A Range with a date If-Range gets the whole sibling when one
// is selected, and its range of the original when that is (see Ranges).
//
// # Performance
//
// Encoders are pooled per codec and level (shared by every Compressor),
// buffers are pooled with a size cap, and a response that is not compressed
// costs no allocation but for its "Vary: Accept-Encoding", whose values are
// allocated 16 at a time (256 bytes) so that no two responses share one.
// The client chooses the encoding, and each in-flight compressed response
// holds its encoder: with the defaults about 1 MiB for gzip or deflate,
// 2 MiB for brotli (Options.BrotliWindow 18, 256 KiB) and 3 MiB for zstd
// (Options.ZstdWindow 19, 512 KiB; at most 23, 8 MiB, RFC 9659), plus up
// to MaxBuffer of output held back.
//
// # Secrets and reflected input (BREACH)
//
// A compressed body's length tells what its bytes have in common: on a
// page that holds a secret (a CSRF token, a value bound to the session)
// and reflects what the client sent (a query parameter, a search term), an
// attacker who can make a victim's browser send many requests and can see
// the encrypted lengths learns the secret byte by byte (the BREACH attack
// on HTTPS; X-Response-Time from the timing package gives a second channel
// of the same kind). Leave such responses uncompressed, with Options.Skip
// for their routes or Disable in their handlers, or mask the secret anew
// for each response (XOR with a random pad sent beside it), as Django's and
// Rails' CSRF tokens do. Disable reaches the Compressor nearest the
// handler, which removes its marker: where two Compressors wrap one
// another (an application-wide one and a route group's), use Skip on the
// outer one for those routes.
//
// A Compressor is safe for concurrent use.
package compress
