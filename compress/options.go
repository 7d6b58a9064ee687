package compress

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Encoding names, as they appear in Accept-Encoding and Content-Encoding.
// Deflate is the zlib format (RFC 9110, section 8.4.1.2), not raw deflate.
const (
	Zstd    = "zstd"
	Brotli  = "br"
	Gzip    = "gzip"
	Deflate = "deflate"
)

// DefaultMimeTypes is the default of Options.MimeTypes: Flask-Compress's
// COMPRESS_MIMETYPES, plus the structured-syntax suffix rules
// "application/*+json" and "application/*+xml". Do not modify it.
var DefaultMimeTypes = []string{
	"text/html",
	"text/css",
	"text/plain",
	"text/xml",
	"text/x-component",
	"text/javascript",
	"application/x-javascript",
	"application/javascript",
	"application/json",
	"application/manifest+json",
	"application/vnd.api+json",
	"application/xml",
	"application/xhtml+xml",
	"application/rss+xml",
	"application/atom+xml",
	"application/vnd.ms-fontobject",
	"application/x-font-ttf",
	"application/x-font-opentype",
	"application/x-font-truetype",
	"image/svg+xml",
	"image/x-icon",
	"image/vnd.microsoft.icon",
	"font/ttf",
	"font/eot",
	"font/otf",
	"font/opentype",
	"application/*+json",
	"application/*+xml",
}

// ETagMode says what happens to the ETag of a compressed response.
//
// In every mode, a request with Range whose If-Range is a date (the
// encoded and unencoded variants share the handler's Last-Modified) or a
// weak tag reaches the handler without Range and If-Range when the
// representation selected for it may be encoded (the client accepts an
// encoding of Algorithms or StreamingAlgorithms, and, except under
// ETagKeep, the extension of its path is not one of a file downloaded
// whole whose type is not encoded, such as .zip, .mp4 or .pdf: see Ranges
// in the package doc), so the
// whole body is sent, encoded: a resumed download never gets unencoded
// bytes to append to encoded ones. When the representation selected is the
// unencoded one (a client that sends no Accept-Encoding, as curl -C -, or
// only identity; a .zip or an .mp4) the handler serves the range. A strong
// If-Range reaches the handler as it is, except under ETagKeep.
type ETagMode int

const (
	// ETagWeaken turns a strong ETag "x" into W/"x" (the default). Weak
	// validators still answer If-None-Match, and the middleware adds the
	// strong form to the request's If-None-Match so that handlers comparing
	// strings still answer 304. It rewrites W/"x" to "x" in If-Match, so
	// an update conditioned on the ETag of a compressed GET succeeds; a tag
	// the handler made weak itself cannot be told apart and reaches it as
	// "x", which still fails a strong comparison with the handler's W/"x".
	// If-Range is not rewritten: a client resuming an encoded download
	// gets the whole body (see ETagSuffix).
	//
	// Its trade-off: every encoded variant of a response (gzip, br, zstd,
	// deflate) has the same tag W/"x". A cache that holds several of them
	// and revalidates with all their tags (RFC 9111 section 4.3.1) gets a
	// 304 naming W/"x", which selects every one of them (section 4.3.4):
	// a cache that then serves the most recent may send its gzip copy to
	// a client that accepts only br. Caches that keep their variants apart
	// by Vary before revalidating (browsers, this module's response cache)
	// are not affected. ETagSuffix gives each variant its own strong tag,
	// and its 304 names the variant the request negotiates; it is not the
	// default because a strong tag promises the same bytes, and encoding
	// on the fly gives other bytes under another level, library version
	// or instance: a cache that combines partial responses by strong tag
	// (RFC 9111 section 3.4) could splice two of them.
	ETagWeaken ETagMode = iota
	// ETagSuffix keeps strong ETags strong and suffixes them per encoding,
	// "x" becoming "x:gzip" (as Flask-Compress does); the middleware rewrites
	// "x:gzip" back to "x" in If-None-Match when gzip is an encoding it
	// negotiates for the request (from Algorithms, or StreamingAlgorithms
	// for a streamed response), so 304 still works, and labels the 304 with
	// the ETag the client named. In If-Match it rewrites "x:<encoding>" to
	// "x" for any encoding of Algorithms or StreamingAlgorithms. If-Range is
	// left alone: its tag names the encoded variant, and a range of the
	// unencoded one is no continuation of it, so the whole body is sent.
	ETagSuffix
	// ETagKeep leaves ETags alone (only correct if the handler already
	// varies its ETag with Accept-Encoding). A request with Range and any
	// If-Range, a strong tag included, from a client that accepts an
	// encoding reaches the handler without them and gets the whole body,
	// whatever its path: the handler's tag for the encoded variant would
	// match its own unencoded bytes when compress does the encoding, and
	// its range of them would follow encoded bytes. The cost: a handler
	// that encodes its own responses loses those ranges.
	ETagKeep
)

// Options configures a Compressor. The zero value means Flask-Compress's
// defaults; every field documents its own. Options is read once by New.
type Options struct {
	// Algorithms is the server's preference order among "zstd", "br",
	// "gzip" and "deflate", used to break ties between equal q-values.
	// Default: zstd, br, gzip, deflate (COMPRESS_ALGORITHM). Listing a
	// subset disables the others.
	Algorithms []string
	// StreamingAlgorithms is the preference order for responses that are
	// flushed before the handler returns. Default: zstd, br, deflate
	// (COMPRESS_ALGORITHM_STREAMING, gzip left out as in Flask-Compress).
	StreamingAlgorithms []string

	// Level is the gzip level, 1 (fastest) to 9 (smallest); 0 means 6
	// (COMPRESS_LEVEL).
	Level int
	// DeflateLevel is the deflate (zlib) level, 1 to 9; 0 means 6, zlib's
	// default (COMPRESS_DEFLATE_LEVEL -1).
	DeflateLevel int
	// BrotliLevel is the brotli quality, 1 to 11; 0 means 4
	// (COMPRESS_BR_LEVEL).
	BrotliLevel int
	// BrotliWindow is the base-2 logarithm of the brotli window, 10 to 24;
	// 0 means 18, a 256 KiB window (Flask-Compress's COMPRESS_BR_WINDOW
	// is 22). Each in-flight brotli response holds about 2 MiB at 18 and
	// quality 4, 2.7 MiB at 19, 4 MiB at 20, 9.6 MiB at 22, and a client
	// chooses the encoding: raise it only for bodies with repeats further
	// apart than the window (it costs the client memory too). The
	// encoder chooses the mode (COMPRESS_BR_MODE: it detects UTF-8 text
	// itself) and the block size (COMPRESS_BR_BLOCK: from the quality, as
	// Flask-Compress's default 0 does); neither can be set.
	BrotliWindow int
	// ZstdLevel is a zstd level, 1 to 22, mapped to the nearest speed the
	// klauspost/compress encoder has (1: fastest, 2-4: default, 5-8: better,
	// 9-22: best); 0 means 3 (COMPRESS_ZSTD_LEVEL).
	ZstdLevel int
	// ZstdWindow is the base-2 logarithm of the zstd window, 10 to 23 (8
	// MiB, RFC 9659's limit for HTTP); 0 means 19, a 512 KiB window, as
	// the level alone would give 8 MiB. Each in-flight zstd response holds
	// about 3 MiB at 19 and level 3, 4 MiB at 20, 18 MiB at 23 (a gzip one
	// about 1 MiB), and a client chooses the encoding: raise it only for
	// bodies with repeats further apart than the window.
	ZstdWindow int

	// MimeTypes lists the media types that are compressed (COMPRESS_MIMETYPES):
	// "type/subtype" exactly, "type/*", "*/*", or a suffix rule
	// "type/*+json" ("type" may be "*"). Parameters of the response's
	// Content-Type are ignored; matching is case-insensitive. Already
	// compressed types (images other than SVG and icons, audio, video,
	// archives, woff fonts) are never compressed, even under a wildcard.
	// Default: DefaultMimeTypes.
	MimeTypes []string
	// MinSize is the smallest body, in bytes, that is compressed
	// (COMPRESS_MIN_SIZE). Up to MinSize bytes are buffered before the
	// decision, unless Content-Length is set, and at least 512 when
	// Content-Type is missing, so that the type is sniffed from what
	// net/http would sniff. Default 500; negative is an error.
	MinSize int
	// MaxBuffer caps the compressed bytes held back to send an exact
	// Content-Length: a compressed body that outgrows it is sent chunked.
	// Default 64 KiB; negative is an error.
	MaxBuffer int

	// EventStream compresses text/event-stream responses (flushing the
	// encoder on each Flush). Default false: they pass through.
	EventStream bool
	// ETag says how ETags of compressed responses change. Default ETagWeaken.
	ETag ETagMode
	// Skip, when not nil, is called once per request by Handler and by
	// FileServer; true passes the request through untouched (no
	// buffering, no Vary; FileServer serves the original file as
	// http.FileServerFS does, never a pre-compressed sibling). Default nil.
	Skip func(r *http.Request) bool
	// IgnoreConditional leaves conditional requests to the handler. By
	// default (false) the Compressor answers a GET or HEAD whose
	// If-None-Match or If-Modified-Since matches the ETag or Last-Modified
	// of the handler's 200 response with 304 Not Modified, comparing the
	// ETag the client was sent (weakened or suffixed), as Conditional does
	// (COMPRESS_EVALUATE_CONDITIONAL_REQUEST, on by default there too).
	IgnoreConditional bool
}

// Errors returned by New, tested with errors.Is.
var (
	// ErrInvalidOption is wrapped by every validation error of New.
	ErrInvalidOption = errors.New("compress: invalid option")
)

func optErr(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidOption, field, fmt.Sprintf(format, args...))
}

func levelOr(field string, v, def, lo, hi int) (int, error) {
	if v == 0 {
		return def, nil
	}
	if v < lo || v > hi {
		return 0, optErr(field, "%d is outside the valid range %d to %d (0 means %d)", v, lo, hi, def)
	}
	return v, nil
}

// config is the validated form of Options.
type config struct {
	prefs, streamPrefs prefList
	mime               mimeMatcher
	minSize, maxBuffer int
	eventStream        bool
	etag               ETagMode
	skip               func(*http.Request) bool
	conditional        bool // answer conditional requests (not IgnoreConditional)
}

func (o *Options) validate() (*config, error) {
	if o == nil {
		o = &Options{}
	}
	cfg := &config{eventStream: o.EventStream, etag: o.ETag, skip: o.Skip, conditional: !o.IgnoreConditional}
	levels := map[string]int{}
	var err error
	windows := map[string]int{}
	if windows[Brotli], err = levelOr("BrotliWindow", o.BrotliWindow, 18, 10, 24); err != nil {
		return nil, err
	}
	if windows[Zstd], err = levelOr("ZstdWindow", o.ZstdWindow, 19, 10, 23); err != nil {
		return nil, err
	}
	if levels[Gzip], err = levelOr("Level", o.Level, 6, 1, 9); err != nil {
		return nil, err
	}
	if levels[Deflate], err = levelOr("DeflateLevel", o.DeflateLevel, 6, 1, 9); err != nil {
		return nil, err
	}
	if levels[Brotli], err = levelOr("BrotliLevel", o.BrotliLevel, 4, 1, 11); err != nil {
		return nil, err
	}
	if levels[Zstd], err = levelOr("ZstdLevel", o.ZstdLevel, 3, 1, 22); err != nil {
		return nil, err
	}
	algos := o.Algorithms
	if algos == nil {
		algos = []string{Zstd, Brotli, Gzip, Deflate}
	}
	if cfg.prefs, err = codecList("Algorithms", algos, levels, windows); err != nil {
		return nil, err
	}
	salgos := o.StreamingAlgorithms
	if salgos == nil {
		salgos = []string{Zstd, Brotli, Deflate}
	}
	if cfg.streamPrefs, err = codecList("StreamingAlgorithms", salgos, levels, windows); err != nil {
		return nil, err
	}
	types := o.MimeTypes
	if types == nil {
		types = DefaultMimeTypes
	}
	if cfg.mime, err = newMimeMatcher(types); err != nil {
		return nil, err
	}
	switch {
	case o.MinSize < 0:
		return nil, optErr("MinSize", "%d is negative (valid: 0 and up; 0 means 500)", o.MinSize)
	case o.MinSize == 0:
		cfg.minSize = 500
	default:
		cfg.minSize = o.MinSize
	}
	switch {
	case o.MaxBuffer < 0:
		return nil, optErr("MaxBuffer", "%d is negative (valid: 0 and up; 0 means 64 KiB)", o.MaxBuffer)
	case o.MaxBuffer == 0:
		cfg.maxBuffer = 64 << 10
	default:
		cfg.maxBuffer = o.MaxBuffer
	}
	if o.ETag < ETagWeaken || o.ETag > ETagKeep {
		return nil, optErr("ETag", "%d is not an ETagMode (valid: ETagWeaken, ETagSuffix, ETagKeep)", o.ETag)
	}
	return cfg, nil
}

func codecList(field string, names []string, levels, windows map[string]int) (prefList, error) {
	var out prefList
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if seen[n] {
			return prefList{}, optErr(field, "%q is listed twice", n)
		}
		seen[n] = true
		c, err := codecFor(n, levels[n], windows[n])
		if err != nil {
			return prefList{}, optErr(field, "%q is not one of zstd, br, gzip, deflate", n)
		}
		out.add(c)
	}
	return out, nil
}
