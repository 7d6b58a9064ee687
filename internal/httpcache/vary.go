package httpcache

import (
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"github.com/go-caching/caching/internal/header"
)

// ParseVary returns the request header names a response's Vary lists, in
// canonical form (textproto.CanonicalMIMEHeaderKey), deduplicated and
// sorted, and whether it lists "*" (the response varies on something no
// request header describes: it must not be stored). Names are read from
// every Vary line, case-insensitively. It returns nil names when there are
// none.
func ParseVary(h http.Header) (names []string, star bool) {
	for e := range header.Elements(h["Vary"]) {
		if e == "*" {
			star = true
			continue
		}
		names = append(names, textproto.CanonicalMIMEHeaderKey(e))
	}
	slices.Sort(names)
	return slices.Compact(names), star
}

// VariantKey builds the part of a cache key that tells apart the variants of
// a response that varies on names (as ParseVary returns them), so that
// requests that the handler would answer alike share a variant. An absent
// header and an empty one differ (for Accept-Encoding they mean different
// things). The result is unambiguous: two different lists of values never
// give the same string. It returns "" for no names.
//
// Accept-Encoding is keyed by what content-coding negotiation can see of it,
// its header.Profile, read with the grammar package compress negotiates
// with: the thousand ways to spell "gzip" share one variant, and two
// requests share one only when compress, with any preference order, would
// choose the same coding for both. Codings other than zstd, br, gzip,
// deflate and identity are not part of the key: a handler whose response
// depends on another coding must key its variants itself.
//
// Any other header is keyed by its combined value (the lines joined with
// ", ", RFC 9110 section 5.3), with whitespace normalized outside
// quoted-strings: the empty elements of the list dropped, no whitespace
// around a comma or at either end, and each run of spaces and tabs inside an
// element made one space.
func VariantKey(r *http.Request, names []string) string {
	if len(names) == 0 {
		return ""
	}
	var b strings.Builder
	for i, name := range names {
		if i > 0 {
			b.WriteByte('&')
		}
		escapeInto(&b, name)
		values, ok := r.Header[name]
		if !ok {
			continue
		}
		b.WriteByte('=')
		if name == "Accept-Encoding" {
			a := header.ParseAcceptEncoding(values)
			var buf [64]byte
			text, _ := a.Profile().AppendText(buf[:0])
			b.Write(text) // lower-case letters, digits and commas: nothing to escape
		} else {
			escapeInto(&b, normalizeValues(values))
		}
	}
	return b.String()
}

// normalizeValues returns the combined value of header lines with its
// whitespace normalized as VariantKey describes.
func normalizeValues(values []string) string {
	combined := values
	if len(values) > 1 {
		combined = []string{strings.Join(values, ", ")}
	}
	var b strings.Builder
	for e := range header.QuotedElements(combined) {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		quoted, space := false, false
		for i := 0; i < len(e); i++ {
			c := e[i]
			if !quoted && header.IsOWS(c) {
				space = true
				continue
			}
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteByte(c)
			switch {
			case quoted && c == '\\' && i+1 < len(e):
				i++
				b.WriteByte(e[i])
			case c == '"':
				quoted = !quoted
			}
		}
	}
	return b.String()
}

// escapeInto writes s with '%', '&', '=', '#' and bytes outside printable
// ASCII percent-encoded, so that joined key parts cannot be confused, and
// so that a variant kept as it is never holds the '#' a shortened one has:
// a client's header value cannot spell another client's long variant.
func escapeInto(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' || c == '&' || c == '=' || c == '#' || c < 0x20 || c >= 0x7f {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
}
