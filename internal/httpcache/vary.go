package httpcache

import (
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
)

// ParseVary returns the request header names a response's Vary lists, in
// canonical form (textproto.CanonicalMIMEHeaderKey), deduplicated and
// sorted, and whether it lists "*" (the response varies on something no
// request header describes: it must not be stored). Names are read from
// every Vary line, case-insensitively. It returns nil names when there are
// none.
func ParseVary(h http.Header) (names []string, star bool) {
	for _, line := range h["Vary"] {
		for part := range strings.SplitSeq(line, ",") {
			part = trimOWS(part)
			switch {
			case part == "":
				continue
			case part == "*":
				star = true
				continue
			}
			names = append(names, textproto.CanonicalMIMEHeaderKey(part))
		}
	}
	slices.Sort(names)
	return slices.Compact(names), star
}

// VariantKey builds the part of a cache key that tells apart the variants of
// a response that varies on names (as ParseVary returns them): the request's
// values of those headers, several lines joined, whitespace normalized, and
// Accept-Encoding reduced to a canonical form (codings lower-cased, sorted,
// deduplicated, q=1 dropped, x-gzip read as gzip), so that equivalent
// requests share a variant. An absent header and an empty one differ (for
// Accept-Encoding they mean different things). The result is unambiguous:
// two different lists of values never give the same string. It returns ""
// for no names.
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
			escapeInto(&b, canonicalAcceptEncoding(values))
		} else {
			escapeInto(&b, normalizeValues(values))
		}
	}
	return b.String()
}

// normalizeValues joins header lines with ", " and collapses whitespace:
// runs of spaces and tabs become one space, none is kept at either end or
// around a comma.
func normalizeValues(values []string) string {
	var b strings.Builder
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			part = trimOWS(part)
			if part == "" {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			space := false
			for i := 0; i < len(part); i++ {
				c := part[i]
				if isOWS(c) {
					space = true
					continue
				}
				if space {
					b.WriteByte(' ')
					space = false
				}
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}

// canonicalAcceptEncoding rewrites Accept-Encoding lines to one canonical
// list: "br,gzip;q=0.5,identity;q=0". The first occurrence of a coding wins.
func canonicalAcceptEncoding(values []string) string {
	type coding struct {
		name string
		q    string // "" for q=1
	}
	var codings []coding
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			name = strings.ToLower(trimOWS(name))
			if name == "" {
				continue
			}
			switch name {
			case "x-gzip":
				name = "gzip"
			case "x-compress":
				name = "compress"
			}
			q := ""
			for p := range strings.SplitSeq(params, ";") {
				k, val, ok := strings.Cut(p, "=")
				if !ok || !strings.EqualFold(trimOWS(k), "q") {
					continue
				}
				q = canonicalQ(trimOWS(val))
			}
			if !slices.ContainsFunc(codings, func(c coding) bool { return c.name == name }) {
				codings = append(codings, coding{name, q})
			}
		}
	}
	slices.SortFunc(codings, func(a, b coding) int { return strings.Compare(a.name, b.name) })
	var b strings.Builder
	for i, c := range codings {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c.name)
		if c.q != "" {
			b.WriteString(";q=")
			b.WriteString(c.q)
		}
	}
	return b.String()
}

// canonicalQ returns a qvalue in its shortest form, "" for 1 (the default).
// A malformed qvalue is kept as written, lower-cased, so that it still
// separates variants without being read as something it is not.
func canonicalQ(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1 {
		return strings.ToLower(s)
	}
	if f == 1 {
		return ""
	}
	return strconv.FormatFloat(f, 'g', 3, 64)
}

// escapeInto writes s with '%', '&', '=' and bytes outside printable ASCII
// percent-encoded, so that joined key parts cannot be confused.
func escapeInto(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' || c == '&' || c == '=' || c < 0x20 || c >= 0x7f {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
}
