package header

import "iter"

// Elements yields the elements of a comma-separated list (RFC 9110 section
// 5.6.1) spread over the header lines, in order, with OWS trimmed; empty
// elements ("a,,b", a trailing comma) are skipped, as the RFC asks of
// recipients. Quotes are not special: use it for lists whose grammar has no
// quoted-string (Vary, Connection, Accept-Encoding, Content-Encoding).
func Elements(lines []string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, s := range lines {
			for s != "" {
				var e string
				e, s = cut(s, ',')
				if e = TrimOWS(e); e != "" && !yield(e) {
					return
				}
			}
		}
	}
}

// QuotedElements is Elements for lists whose elements may hold
// quoted-strings (RFC 9110 section 5.6.4): a comma inside a quoted-string
// does not end an element, a backslash escapes the next byte there, and an
// unterminated quoted-string runs to the end of its line.
func QuotedElements(lines []string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, s := range lines {
			for s != "" {
				i := quotedIndex(s, ',')
				e := TrimOWS(s[:i])
				s = s[min(i+1, len(s)):]
				if e != "" && !yield(e) {
					return
				}
			}
		}
	}
}

// quotedIndex returns the index of the first sep outside a quoted-string in
// s, or len(s).
func quotedIndex(s string, sep byte) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			i += 1 + closingQuote(s[i+1:])
		case sep:
			return i
		}
	}
	return len(s)
}

// closingQuote returns the index of the quote that closes a quoted-string
// whose inside starts s (a backslash escapes the next byte), or len(s).
func closingQuote(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return len(s)
}

// HasToken reports whether the comma-separated lists in lines have an
// element equal to token, ignoring ASCII case and OWS; token must be in
// lower case ("accept-encoding", "*").
func HasToken(lines []string, token string) bool {
	for e := range Elements(lines) {
		if EqualLower(e, token) {
			return true
		}
	}
	return false
}

// Words yields the words of the header lines, each with the rest of its
// line after it: the runs of letters, digits and '-' (the bytes of a
// directive's name), whatever stands between them (commas, semicolons,
// spaces, quotes, '=', any other punctuation). It reads a value for what it
// may mean when it is malformed (a list written with semicolons, a value
// quoted whole, a directive hidden by an unterminated quoted-string),
// never by its grammar: use it only to be more careful.
func Words(lines []string) iter.Seq2[string, string] {
	return func(yield func(word, rest string) bool) {
		for _, s := range lines {
			for s != "" {
				i := 0
				for i < len(s) && wordByte(s[i]) {
					i++
				}
				if i > 0 && !yield(s[:i], s[i:]) {
					return
				}
				s = s[max(i, 1):]
			}
		}
	}
}

func wordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-'
}

// Directive is one element of a Cache-Control-style list:
// token [ "=" ( token / quoted-string ) ].
type Directive struct {
	// Name is the directive's name as written (compare it with EqualLower).
	Name string
	// Value is the argument without its quotes; backslash escapes are kept
	// as written. It is "" when there is none.
	Value string
	// HasValue reports whether the directive had "=".
	HasValue bool
}

// Directives yields the directives of the Cache-Control-style lists in
// lines (RFC 9111 section 5.2): comma-separated, each a name with an
// optional "=" argument that may be a quoted-string holding commas. It never
// fails: an element without a name is skipped, a quoted argument missing its
// closing quote runs to the end of the line, and anything between a closing
// quote and the next comma is ignored. Names are not checked to be tokens:
// callers match the names they know.
func Directives(lines []string) iter.Seq[Directive] {
	return func(yield func(Directive) bool) {
		for _, s := range lines {
			for s != "" {
				var d Directive
				d, s = nextDirective(s)
				if d.Name != "" && !yield(d) {
					return
				}
			}
		}
	}
}

// nextDirective cuts the first directive off s and returns the rest of the
// list after its comma.
func nextDirective(s string) (d Directive, rest string) {
	s = TrimOWS(s)
	i := 0
	for i < len(s) && s[i] != ',' && s[i] != '=' {
		i++
	}
	d.Name = trimRightOWS(s[:i])
	if i == len(s) || s[i] == ',' {
		return d, s[min(i+1, len(s)):]
	}
	d.HasValue = true
	s = trimLeftOWS(s[i+1:])
	if s == "" || s[0] != '"' {
		d.Value, rest = cut(s, ',')
		d.Value = trimRightOWS(d.Value)
		return d, rest
	}
	end := 1 + closingQuote(s[1:]) // the closing quote, or len(s)
	d.Value = s[1:min(end, len(s))]
	_, rest = cut(s[min(end, len(s)):], ',')
	return d, rest
}

// ETags yields the entity-tags of If-None-Match / If-Match lists (RFC 9110
// section 8.8.3): `"x"`, `W/"x"` or "*", as written. A tag may hold commas
// (entity-tags have no escapes); a malformed element is skipped up to the
// next comma, and an unterminated tag ends its line.
func ETags(lines []string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, s := range lines {
			for {
				var tag string
				var ok bool
				if tag, s, ok = nextETag(s); !ok {
					break
				}
				if tag != "" && !yield(tag) {
					return
				}
			}
		}
	}
}

// nextETag cuts the first entity-tag off s; tag is "" for a malformed
// element, ok is false at the end of s.
func nextETag(s string) (tag, rest string, ok bool) {
	for s != "" && (s[0] == ',' || IsOWS(s[0])) {
		s = s[1:]
	}
	if s == "" {
		return "", "", false
	}
	if s[0] == '*' {
		return "*", s[1:], true
	}
	start := 0
	if len(s) >= 2 && s[0] == 'W' && s[1] == '/' {
		start = 2
	}
	if len(s) <= start || s[start] != '"' {
		_, rest = cut(s, ',')
		return "", rest, true
	}
	for end := start + 1; end < len(s); end++ {
		if s[end] == '"' {
			return s[:end+1], s[end+1:], true
		}
	}
	return "", "", false
}

// cut slices s around the first sep; after is "" when there is none.
func cut(s string, sep byte) (before, after string) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}
