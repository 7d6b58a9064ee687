package compress

import "github.com/go-caching/caching/internal/header"

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
