package compress

import (
	"net/http"
	"strings"

	"github.com/go-caching/caching/internal/header"
)

// rewriteIfNoneMatch makes If-None-Match match the ETag the handler computes
// for the unencoded representation: with ETagWeaken it adds the strong form
// of each weak tag (If-None-Match compares weakly, RFC 9110 13.1.2); with
// ETagSuffix it strips ":<encoding>" from tags whose encoding is one
// negotiated for this request, for a response that is streamed or not. It
// returns a shallow copy of r with a new header map, leaving the caller's
// request untouched, or r itself when nothing was rewritten. A handler's
// 304 is labelled by revalidated.
func (c *Compressor) rewriteIfNoneMatch(r *http.Request) *http.Request {
	var enc, streamEnc *codec
	if c.cfg.etag == ETagSuffix {
		a := header.ParseAcceptEncoding(r.Header["Accept-Encoding"])
		enc, streamEnc = c.cfg.prefs.choose(&a), c.cfg.streamPrefs.choose(&a)
		if enc == nil && streamEnc == nil {
			return r
		}
	}
	var b strings.Builder
	changed := false
	for tag := range header.ETags(r.Header["If-None-Match"]) {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(tag)
		switch {
		case tag == "*":
		case c.cfg.etag == ETagWeaken && strings.HasPrefix(tag, `W/"`):
			b.WriteString(", ")
			b.WriteString(tag[2:])
			changed = true
		case c.cfg.etag == ETagSuffix && !strings.HasPrefix(tag, "W/"):
			for _, cd := range [2]*codec{enc, streamEnc} {
				if cd != nil && strings.HasSuffix(tag, ":"+cd.name+`"`) {
					b.WriteString(", ")
					b.WriteString(tag[:len(tag)-len(cd.name)-2] + `"`)
					changed = true
					break
				}
			}
		}
	}
	if !changed {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = r.Header.Clone()
	r2.Header["If-None-Match"] = []string{b.String()}
	return r2
}

// revalidated returns the codec of the encoded variant that a handler's 304
// with ETag et confirms, from the request's original If-None-Match lines
// inm and its Accept-Encoding lines ae: the variant whose ETag (et weakened,
// or suffixed with an encoding negotiated for the request, the non-streamed
// one first) the client named. It returns nil when the client named no
// such tag (it matched et itself, or "*"): the 304 then keeps et.
func (c *Compressor) revalidated(inm, ae []string, et string) *codec {
	if len(et) < 2 || et[0] != '"' || et[len(et)-1] != '"' {
		return nil // only strong ETags are changed
	}
	named := func(prefix, suffix string) bool {
		for tag := range header.ETags(inm) {
			if len(tag) == len(prefix)+len(suffix) && strings.HasPrefix(tag, prefix) && strings.HasSuffix(tag, suffix) {
				return true
			}
		}
		return false
	}
	switch c.cfg.etag {
	case ETagWeaken:
		if named("W/", et) {
			// W/"x" is the ETag of every encoded variant.
			return c.cfg.prefs.negotiate(ae)
		}
	case ETagSuffix:
		a := header.ParseAcceptEncoding(ae)
		for _, cd := range [2]*codec{c.cfg.prefs.choose(&a), c.cfg.streamPrefs.choose(&a)} {
			if cd != nil && named(et[:len(et)-1], ":"+cd.name+`"`) {
				return cd
			}
		}
	}
	return nil
}
