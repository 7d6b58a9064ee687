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
// request untouched, and the codec of the variant the client revalidates,
// whose ETag a 304 carries: the one whose suffix was stripped (the
// non-streamed one when both were), or with ETagWeaken the one negotiated.
// The codec is nil when nothing was rewritten, or no codec is acceptable.
func (c *Compressor) rewriteIfNoneMatch(r *http.Request) (*http.Request, *codec) {
	var enc, streamEnc *codec
	if c.cfg.etag == ETagSuffix {
		a := header.ParseAcceptEncoding(r.Header["Accept-Encoding"])
		enc, streamEnc = c.cfg.prefs.choose(&a), c.cfg.streamPrefs.choose(&a)
		if enc == nil && streamEnc == nil {
			return r, nil
		}
	}
	var b strings.Builder
	changed := false
	var variant *codec
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
					if variant == nil || cd == enc {
						variant = cd
					}
					break
				}
			}
		}
	}
	if !changed {
		return r, nil
	}
	if c.cfg.etag == ETagWeaken {
		// W/"x" is the ETag of every encoded variant.
		variant = c.cfg.prefs.negotiate(r.Header["Accept-Encoding"])
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = r.Header.Clone()
	r2.Header["If-None-Match"] = []string{b.String()}
	return r2, variant
}
