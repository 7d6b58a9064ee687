package compress

import (
	"net/http"
	"strings"
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
		a := parseAcceptEncoding(r.Header["Accept-Encoding"])
		if cd := a.choose(c.cfg.prefs); cd != nil {
			enc = cd.name
		}
		if cd := a.choose(c.cfg.streamPrefs); cd != nil {
			streamEnc = cd.name
		}
		if enc == "" && streamEnc == "" {
			return r, false
		}
	}
	var b strings.Builder
	changed := false
	for _, line := range r.Header["If-None-Match"] {
		for _, tag := range splitETags(line) {
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

// splitETags splits an If-None-Match value into entity-tags ("x", W/"x",
// or *), honouring commas inside quotes. Malformed pieces are dropped.
func splitETags(s string) []string {
	var tags []string
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return tags
		}
		if s[0] == '*' {
			tags = append(tags, "*")
			s = s[1:]
			continue
		}
		start := 0
		if strings.HasPrefix(s, "W/") {
			start = 2
		}
		if len(s) <= start || s[start] != '"' {
			// Malformed: skip to the next comma.
			_, s, _ = strings.Cut(s, ",")
			continue
		}
		end := strings.IndexByte(s[start+1:], '"')
		if end < 0 {
			return tags
		}
		end += start + 2
		tags = append(tags, s[:end])
		s = s[end:]
	}
}
