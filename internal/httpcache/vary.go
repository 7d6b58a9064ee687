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
//
// An element that is not a field name (a token) is read as "*": "Vary:
// Accept-Language Cookie" (a comma left out), "Cookie;" or ""Cookie""
// name no field a request can carry, so keyed by them every request would
// share one variant, and the response the handler made for one cookie
// would reach every other. What the handler meant cannot be known; not
// storing the response is the safe reading (Varnish refuses a malformed
// Vary too).
func ParseVary(h http.Header) (names []string, star bool) {
	for e := range header.Elements(h["Vary"]) {
		if e == "*" || !header.IsToken(e) {
			star = true
			continue
		}
		names = append(names, textproto.CanonicalMIMEHeaderKey(e))
	}
	slices.Sort(names)
	return slices.Compact(names), star
}

// VariesOnClientAddress reports whether names (as ParseVary returns them)
// include a field a reverse proxy sets from the address of the client it
// serves: Forwarded, X-Forwarded-For or X-Real-IP. A cache in front of such
// a proxy (httputil.ReverseProxy appends the client's address to
// X-Forwarded-For) sees the field as the client sent it, usually absent,
// while the origin saw the client's address: a response made for one
// client's address would be keyed for every client that sent the same
// field.
//
// A name is compared with '_' read as '-' ("X_Forwarded_For"), as a
// CGI-style origin reads it (see VariantKey).
func VariesOnClientAddress(names []string) bool {
	for _, n := range names {
		if sameField(n, "Forwarded") || sameField(n, "X-Forwarded-For") || sameField(n, "X-Real-Ip") {
			return true
		}
	}
	return false
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
// Any other header is keyed by its lines exactly as the request has them
// (net/http has trimmed their ends), in order, each escaped and the lines
// separated by '=', which an escaped line never holds: "en,fr", "en, fr"
// and two lines "en" and "fr" are three variants. A handler reads them as
// they are (r.Header.Get returns the first line); requests that differ in
// a byte it may compare (X-Version: "2" and "2,") never share a variant,
// so that no client can store its answer where another's is looked up.
// Host, which net/http moves out of the header map into r.Host, is keyed
// by r.Host, never by a Host field left in the map (HTTP/2 keeps a client's
// host field beside :authority, which r.Host is).
//
// A field whose name is a name's other spelling, with '_' read as '-'
// ("Accept_Language" for Accept-Language, or the reverse), is keyed too,
// after the name, by its name and lines: Go keeps it as another field, but
// CGI-style servers (PHP-FPM, WSGI, Rack: HTTP_ACCEPT_LANGUAGE) hand both
// spellings to the application alike, and a request with such a spelling
// would share the variant of one without the field. Such fields are looked
// for only when a request's field name or a name holds '_', without
// allocating.
//
// A caller checks VaryTooLarge first: the key holds every byte of the lines.
func VariantKey(r *http.Request, names []string) string {
	if len(names) == 0 {
		return ""
	}
	var b strings.Builder
	// Once, for what most keys hold; escapes, rare, grow it further.
	b.Grow(varyBytes(r, names, false) + 2*len(names))
	for i, name := range names {
		if i > 0 {
			b.WriteByte('&')
		}
		escapeInto(&b, name)
		values, ok := r.Header[name]
		if name == "Host" {
			// Always r.Host, what handlers read: net/http's HTTP/2 server
			// keeps a client's host field next to :authority, from which it
			// sets r.Host, and the two may differ.
			values, ok = []string{r.Host}, true
		}
		if ok {
			b.WriteByte('=')
			writeValues(&b, name, values)
		}
		if hasOtherSpelling(r.Header, name) {
			writeSpellings(&b, r.Header, name)
		}
	}
	return b.String()
}

// writeValues writes the part of a variant key that holds the lines of the
// field name (see VariantKey).
func writeValues(b *strings.Builder, name string, values []string) {
	if name == "Accept-Encoding" {
		a := header.ParseAcceptEncoding(values)
		var buf [64]byte
		text, _ := a.Profile().AppendText(buf[:0])
		b.Write(text) // lower-case letters, digits and commas: nothing to escape
		return
	}
	writeLines(b, values)
}

// writeLines writes values, escaped, joined by '='.
func writeLines(b *strings.Builder, values []string) {
	for j, v := range values {
		if j > 0 {
			b.WriteByte('=')
		}
		escapeInto(b, v)
	}
}

// writeSpellings writes, for each field of h other than name that
// sameField says is one (in the order of their names), '#', its escaped
// name, '=' and its lines as writeValues writes them: '#' is escaped in
// every name and line, so the key stays unambiguous.
func writeSpellings(b *strings.Builder, h http.Header, name string) {
	var others []string
	for k := range h {
		if k != name && sameField(k, name) {
			others = append(others, k)
		}
	}
	slices.Sort(others)
	for _, k := range others {
		b.WriteByte('#')
		escapeInto(b, k)
		b.WriteByte('=')
		writeLines(b, h[k])
	}
}

// sameField reports whether field names a and b name one field for a
// CGI-style server: equal but for ASCII case, with '_' read as '-'.
func sameField(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == '_' {
			x = '-'
		}
		if y == '_' {
			y = '-'
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// maxSpellingDashes bounds the dashes of a name whose other spellings
// hasOtherSpelling looks up one by one (2^n - 1 lookups); past it, it
// looks over every field of the request.
const maxSpellingDashes = 4

// hasOtherSpelling reports whether h holds a field that sameField says is
// name and that is not name itself. A client's field name reaches h
// canonical (textproto.CanonicalMIMEHeaderKey, which HTTP/2's server uses
// too), so another spelling of name, canonical itself, differs from it
// only by '_' for some of its '-' and a lower-case letter after each: for
// a name with a few dashes those spellings are looked up, a map lookup
// each, rather than every field of the request looked over (a browser
// sends a dozen and more). name is canonical, as ParseVary makes the names
// of a Vary. A name holding '_' (Vary: X_Tenant), or a long one or one
// with many dashes, is checked against every field.
func hasOtherSpelling(h http.Header, name string) bool {
	var (
		dashes [maxSpellingDashes]int
		n      int
		buf    [64]byte
	)
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '-':
			if n == len(dashes) {
				return headerHasUnderscore(h) && anySpelling(h, name)
			}
			dashes[n] = i
			n++
		case '_':
			return anySpelling(h, name)
		}
	}
	if n == 0 {
		return false // canonicalization leaves no other spelling
	}
	if len(name) > len(buf) {
		return headerHasUnderscore(h) && anySpelling(h, name)
	}
	for mask := 1; mask < 1<<n; mask++ {
		b := buf[:len(name)]
		copy(b, name)
		for j := range n {
			if mask&(1<<j) == 0 {
				continue
			}
			i := dashes[j]
			b[i] = '_'
			if i+1 < len(b) && 'A' <= b[i+1] && b[i+1] <= 'Z' {
				b[i+1] += 'a' - 'A'
			}
		}
		if _, ok := h[string(b)]; ok {
			return true
		}
	}
	return false
}

// anySpelling reports whether a field of h other than name is name for
// sameField.
func anySpelling(h http.Header, name string) bool {
	for k := range h {
		if k != name && sameField(k, name) {
			return true
		}
	}
	return false
}

// headerHasUnderscore reports whether a field name of h holds '_'.
func headerHasUnderscore(h http.Header) bool {
	for k := range h {
		if strings.IndexByte(k, '_') >= 0 {
			return true
		}
	}
	return false
}

// escapeInto writes s to b with '%', '&', '=', '#', controls and non-ASCII
// bytes as %XX: the runs between them in one write each.
func escapeInto(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' || c == '&' || c == '=' || c == '#' || c < 0x20 || c >= 0x7f {
			b.WriteString(s[start:i])
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			start = i + 1
		}
	}
	b.WriteString(s[start:])
}

// MaxVaryBytes bounds the bytes of the request lines a variant is keyed by:
// past it (VaryTooLarge), a request is neither answered from the cache nor
// stored. A variant key holds every byte of those lines, and a request's
// lookup, run and store each read it: with net/http's default
// MaxHeaderBytes (1 MiB), one request's 1 MiB Accept-Language would cost
// several MiB of keys and hashing. 16 KiB is what Node.js allows a whole
// request header, and twice the line nginx and Apache accept by default
// (8 KiB): no browser's Accept-Language, Accept-Encoding or Cookie comes
// near it.
const MaxVaryBytes = 16 << 10

// VaryTooLarge reports whether the lines r has for names (as ParseVary
// returns them), with those of their other spellings (see VariantKey) and
// r.Host for Host, total more than MaxVaryBytes. It allocates nothing.
func VaryTooLarge(r *http.Request, names []string) bool {
	return len(names) > 0 && varyBytes(r, names, true) > MaxVaryBytes
}

// varyBytes is the length of the names and of the lines r has for them,
// with those of their other spellings when spellings is set (see
// VaryTooLarge), separators and escapes aside.
func varyBytes(r *http.Request, names []string, spellings bool) int {
	n := 0
	for _, name := range names {
		n += len(name)
		if name == "Host" {
			n += len(r.Host)
		} else {
			n += linesLen(r.Header[name])
		}
		if spellings && hasOtherSpelling(r.Header, name) {
			for k, vs := range r.Header {
				if k != name && sameField(k, name) {
					n += len(k) + linesLen(vs)
				}
			}
		}
	}
	return n
}

// linesLen is the total length of values and of one separator after each.
func linesLen(values []string) int {
	n := 0
	for _, v := range values {
		n += len(v) + 1
	}
	return n
}

// HasField reports whether h has a line for the field name (canonical), or
// for another spelling of it with '_' read as '-' ("If_Match" for
// If-Match), which CGI-style servers hand to the application as the field
// itself (see VariantKey). It allocates nothing; it looks for spellings only
// when a field name of h holds '_'.
func HasField(h http.Header, name string) bool {
	if len(h[name]) > 0 {
		return true
	}
	if !headerHasUnderscore(h) {
		return false
	}
	for k, vs := range h {
		if len(vs) > 0 && sameField(k, name) {
			return true
		}
	}
	return false
}

// DeleteField deletes from h the field name (canonical) and every other
// spelling of it that HasField sees.
func DeleteField(h http.Header, name string) {
	delete(h, name)
	if !headerHasUnderscore(h) {
		return
	}
	for k := range h {
		if sameField(k, name) {
			delete(h, k)
		}
	}
}
