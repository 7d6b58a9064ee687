package compress

import (
	"net/http"
	"strings"

	"github.com/go-caching/caching/internal/header"
)

// rewriteIfNoneMatch makes If-None-Match match the ETag the handler computes
// for the unencoded representation: with ETagWeaken it adds the strong form
// of each weak tag (If-None-Match compares weakly, RFC 9110 13.1.2); with
// ETagSuffix it strips ":<encoding>" from tags whose encoding is the one
// negotiated for this request. It returns a shallow copy of r with a new
// header map, leaving the caller's request untouched, and whether it
// rewrote anything.
func (c *Compressor) rewriteIfNoneMatch(r *http.Request) (*http.Request, bool) {
	var enc, streamEnc string
	if c.cfg.etag == ETagSuffix {
		a := header.ParseAcceptEncoding(r.Header["Accept-Encoding"])
		if cd := c.cfg.prefs.choose(&a); cd != nil {
			enc = cd.name
		}
		if cd := c.cfg.streamPrefs.choose(&a); cd != nil {
			streamEnc = cd.name
		}
		if enc == "" && streamEnc == "" {
			return r, false
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
			for _, e := range [2]string{enc, streamEnc} {
				if e != "" && strings.HasSuffix(tag, ":"+e+`"`) {
					b.WriteString(", ")
					b.WriteString(tag[:len(tag)-len(e)-2] + `"`)
					changed = true
					break
				}
			}
		}
	}
	if !changed {
		return r, false
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = r.Header.Clone()
	r2.Header["If-None-Match"] = []string{b.String()}
	return r2, true
}
