package compress

import (
	"net/http"

	"github.com/go-caching/caching/internal/header"
)

// prefList is an ordered list of codecs, most preferred first, with their
// codings in the same order (what header.AcceptEncoding.Choose takes).
type prefList struct {
	codecs  []*codec
	codings []header.Coding
}

func (l *prefList) add(c *codec) {
	l.codecs = append(l.codecs, c)
	l.codings = append(l.codings, c.coding)
}

// negotiate returns the codec of l to send to a request with these
// Accept-Encoding lines, or nil for none. The grammar and the rules are
// internal/header's (RFC 9110 section 12.5.3), shared with the response
// cache, which keys its variants by the same reading. It does not allocate.
func (l *prefList) negotiate(acceptEncoding []string) *codec {
	a := header.ParseAcceptEncoding(acceptEncoding)
	return l.choose(&a)
}

func (l *prefList) choose(a *header.AcceptEncoding) *codec {
	if i := a.Choose(l.codings); i >= 0 {
		return l.codecs[i]
	}
	return nil
}

// CanonicalAcceptEncoding returns the Accept-Encoding lines that stand for
// r's in a cache key: lines for which Handler makes the choices it makes
// for r's (the coding of a response that is not streamed, and that of one
// that is), naming only the codings it chooses, each with a positive
// weight, so that r's client accepts what they get. It returns nil when r
// has no Accept-Encoding (absence stays absence), [""] (an empty header:
// no coding wanted) when Handler chooses no coding, and r's own lines when
// Options.Skip passes r through. Otherwise it depends only on the two
// choices: whatever clients send, it is one of at most 25 values.
//
// A middleware that sets the request's Accept-Encoding to it in front of a
// response cache that wraps c.Handler makes the cache, which keeps a
// variant per reading of Accept-Encoding, and a bounded number of them
// (caching's MaxVariants), keep a handful of variants per page rather than
// one per way clients write the header. Only c.Handler may see the
// rewritten lines: FileServer chooses among the siblings that exist, and a
// handler that reads Accept-Encoding itself may choose otherwise.
func (c *Compressor) CanonicalAcceptEncoding(r *http.Request) []string {
	lines := r.Header["Accept-Encoding"]
	if len(lines) == 0 || (c.cfg.skip != nil && c.cfg.skip(r)) {
		return lines
	}
	a := header.ParseAcceptEncoding(lines)
	enc, stream := codecName(c.cfg.prefs.choose(&a)), codecName(c.cfg.streamPrefs.choose(&a))
	var candidates []string
	switch {
	case enc == "" && stream == "":
		return []string{""}
	case enc == "" || stream == "" || enc == stream:
		candidates = []string{enc + stream}
		if enc == stream {
			candidates[0] = enc
		}
	default:
		// One is preferred to the other, or they are equal and the
		// preference lists break the tie.
		candidates = []string{enc + ", " + stream + ";q=0.5", stream + ", " + enc + ";q=0.5", enc + ", " + stream}
	}
	for _, line := range candidates {
		b := header.ParseAcceptEncoding([]string{line})
		if codecName(c.cfg.prefs.choose(&b)) == enc && codecName(c.cfg.streamPrefs.choose(&b)) == stream {
			return []string{line}
		}
	}
	return lines // not reached: one of the candidates makes the same choices
}

// codecName returns cd's name, "" for nil.
func codecName(cd *codec) string {
	if cd == nil {
		return ""
	}
	return cd.name
}
