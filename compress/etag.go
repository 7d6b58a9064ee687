package compress

import (
	"net/http"
	"net/textproto"
	"strings"

	"github.com/go-caching/caching/internal/header"
)

// rewriteValidators makes the request's If-None-Match and If-Match name the
// ETag the handler computes for the unencoded representation, the one this
// middleware weakened or suffixed (ifNoneMatch, ifMatch). It returns a
// shallow copy of r with a new header map, leaving the caller's request
// untouched, or r itself when nothing was rewritten. If-Range is left
// alone: its tag names the encoded variant the client holds part of, and a
// range of the unencoded one is no continuation of it, so the precondition
// fails and the whole body is sent (serve drops an If-Range that is a date
// or a weak tag, which cannot tell the variants apart, with its Range, when
// the response may be encoded).
func (c *Compressor) rewriteValidators(r *http.Request) *http.Request {
	inm, inmChanged := c.ifNoneMatch(r)
	im, imChanged := c.ifMatch(r.Header["If-Match"])
	if !inmChanged && !imChanged {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = r.Header.Clone()
	if inmChanged {
		r2.Header["If-None-Match"] = []string{inm}
	}
	if imChanged {
		r2.Header["If-Match"] = []string{im}
	}
	return r2
}

// ifMatch maps each tag of If-Match lines that this middleware issued back
// to the handler's (If-Match compares strongly, RFC 9110 13.1.1): with
// ETagSuffix, "x:<encoding>" becomes "x" for any encoding of Algorithms or
// StreamingAlgorithms (the request's Accept-Encoding need not be the one
// the tag was issued for); with ETagWeaken, W/"x" becomes "x". Its limit:
// a tag the handler itself made weak (or itself ended with ":gzip") cannot
// be told apart, and reaches the handler as "x"; compared against the
// handler's W/"x" (its "x:gzip") it still fails, so nothing is let through
// that was not. It reports whether a tag was changed.
func (c *Compressor) ifMatch(lines []string) (string, bool) {
	if len(lines) == 0 {
		return "", false
	}
	var b strings.Builder
	changed := false
	for tag := range header.ETags(lines) {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		if h := c.handlerTag(tag); h != tag {
			tag, changed = h, true
		}
		b.WriteString(tag)
	}
	return b.String(), changed
}

// handlerTag returns the tag the handler set for tag, an ETag this
// middleware may have sent in its place (see ifMatch), or tag itself.
func (c *Compressor) handlerTag(tag string) string {
	switch c.cfg.etag {
	case ETagWeaken:
		if strings.HasPrefix(tag, `W/"`) {
			return tag[2:]
		}
	case ETagSuffix:
		if !strings.HasPrefix(tag, `"`) {
			return tag
		}
		for _, l := range [2]*prefList{&c.cfg.prefs, &c.cfg.streamPrefs} {
			for _, cd := range l.codecs {
				if hasCodingSuffix(tag, cd.name) {
					return tag[:len(tag)-len(cd.name)-2] + `"`
				}
			}
		}
	}
	return tag
}

// hasCodingSuffix reports whether the strong tag ends in ":<name>"".
func hasCodingSuffix(tag, name string) bool {
	n := len(tag) - len(name) - 2
	return n > 0 && tag[n] == ':' && tag[n+1:len(tag)-1] == name && tag[len(tag)-1] == '"'
}

// ifNoneMatch makes If-None-Match match the ETag the handler computes for
// the unencoded representation: with ETagWeaken it adds the strong form of
// each weak tag (If-None-Match compares weakly, RFC 9110 13.1.2); with
// ETagSuffix it adds "x" for "x:<encoding>" when the encoding is one
// negotiated for this request, for a response that is streamed or not. It
// reports whether a tag was added. A handler's 304 is labelled by
// revalidated.
func (c *Compressor) ifNoneMatch(r *http.Request) (string, bool) {
	if len(r.Header["If-None-Match"]) == 0 {
		return "", false
	}
	var enc, streamEnc *codec
	if c.cfg.etag == ETagSuffix {
		a := header.ParseAcceptEncoding(r.Header["Accept-Encoding"])
		enc, streamEnc = c.cfg.prefs.choose(&a), c.cfg.streamPrefs.choose(&a)
		if enc == nil && streamEnc == nil {
			return "", false
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
				if cd != nil && hasCodingSuffix(tag, cd.name) {
					b.WriteString(", ")
					b.WriteString(tag[:len(tag)-len(cd.name)-2] + `"`)
					changed = true
					break
				}
			}
		}
	}
	return b.String(), changed
}

// revalidated returns the codec of the encoded variant that a handler's 304
// with ETag et confirms, from the request's original If-None-Match lines
// inm and its Accept-Encoding lines ae: the variant whose ETag (et weakened,
// or suffixed with an encoding negotiated for the request, the non-streamed
// one first) the client named. It returns nil when the client named no
// such tag (it matched et itself, or "*"): the 304 then keeps et.
func (c *Compressor) revalidated(inm, ae []string, et string) *codec {
	et, strong := strongETag(et)
	if !strong {
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
			// W/"x" is the ETag of every encoded variant, streamed
			// or not: any encoding negotiated for the request will do.
			a := header.ParseAcceptEncoding(ae)
			if cd := c.cfg.prefs.choose(&a); cd != nil {
				return cd
			}
			return c.cfg.streamPrefs.choose(&a)
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

// negotiated returns the codec of the encoded variant a client whose
// Accept-Encoding lines are ae may hold, when no entity-tag names it (a
// revalidation with If-Modified-Since only): the one negotiated for a
// response that is not streamed, else for one that is; nil when the
// client accepts none. Of the two guesses the encoded variant is the safe
// one: a 304 labelled with an encoded variant's tag that names none the
// client holds only costs it a full response (RFC 9111 section 4.3.4), one
// labelled with the identity's strong tag would vouch for encoded bytes.
func (c *Compressor) negotiated(ae []string) *codec {
	a := header.ParseAcceptEncoding(ae)
	if cd := c.cfg.prefs.choose(&a); cd != nil {
		return cd
	}
	return c.cfg.streamPrefs.choose(&a)
}

// strongETag returns et, a response's ETag value, as net/http sends it
// (without the spaces, tabs, CRs and LFs around it, which it trims), and
// whether that is a strong entity-tag. A handler's tag read from a file may
// end with a newline: it is still strong on the wire, so an encoded body
// must not go out under it.
func strongETag(et string) (string, bool) {
	et = textproto.TrimString(et)
	return et, len(et) >= 2 && et[0] == '"' && et[len(et)-1] == '"'
}
