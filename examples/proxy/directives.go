package main

import "strings"

// This file reads cache-control fields as the library's shared cache reads
// them (its parser is internal to the root module): Cache-Control as a
// list of directives whose values may be quoted-strings (RFC 9110 section
// 5.6.4), so that a comma or a directive's name inside one
// (`community="UCI,public"`) is no directive; and a targeted field
// (CDN-Cache-Control, X-Proxy-Cache-Control) as a Structured Field
// dictionary (RFC 9213 section 2.1, RFC 8941 section 3.2), all or nothing:
// one that is invalid, or empty, is ignored by the cache, which then
// follows Cache-Control (RFC 9213 section 2.2).

// directive is one directive of a cache-control field: its name as
// written, and its value (a quoted-string's inside, escapes left in; a
// targeted field's member as written, "?1" for one without a value).
type directive struct{ name, value string }

// ccDirectives returns the directives of Cache-Control's lines: a comma
// ends a directive outside a quoted-string only (a backslash escapes the
// next byte in one, and an unterminated one runs to the end of its line),
// with optional whitespace trimmed; empty elements are skipped.
func ccDirectives(lines []string) []directive {
	var ds []directive
	for _, s := range lines {
		for s != "" {
			s = strings.TrimLeft(s, " \t")
			i := strings.IndexAny(s, ",=")
			if i < 0 {
				i = len(s)
			}
			d := directive{name: strings.TrimRight(s[:i], " \t")}
			switch {
			case i == len(s):
				s = ""
			case s[i] == ',':
				s = s[i+1:]
			default: // '='
				v := strings.TrimLeft(s[i+1:], " \t")
				rest, quoted := v, v != "" && v[0] == '"'
				if quoted {
					end := min(1+closingQuote(v[1:]), len(v))
					d.value, rest = v[1:end], v[end:]
				}
				j := strings.IndexByte(rest, ',')
				if j < 0 {
					j = len(rest)
				}
				if !quoted {
					d.value = strings.TrimRight(rest[:j], " \t")
				}
				s = rest[min(j+1, len(rest)):]
			}
			if d.name != "" {
				ds = append(ds, d)
			}
		}
	}
	return ds
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

// targetedDirectives returns the members of a targeted field's lines,
// joined with ", " (empty lines skipped), and ok true when they form a
// valid Structured Field dictionary of at least one member: the field the
// cache follows in place of Cache-Control. ok is false for an absent,
// empty or invalid field, which the cache ignores.
func targetedDirectives(lines []string) (ds []directive, ok bool) {
	var parts []string
	for _, l := range lines {
		if strings.Trim(l, " \t") != "" {
			parts = append(parts, l)
		}
	}
	p := sfParser{s: strings.TrimLeft(strings.Join(parts, ", "), " ")}
	for p.s != "" {
		key, ok := p.key()
		if !ok {
			return nil, false
		}
		value := "?1"
		if p.peek() == '=' {
			p.s = p.s[1:]
			start := p.s
			if p.peek() == '(' {
				ok = p.innerList()
			} else {
				ok = p.bareItem()
			}
			if !ok {
				return nil, false
			}
			value = start[:len(start)-len(p.s)]
		}
		if !p.parameters() {
			return nil, false
		}
		ds = append(ds, directive{name: key, value: value})
		p.s = strings.TrimLeft(p.s, " \t")
		if p.s == "" {
			break
		}
		if p.s[0] != ',' {
			return nil, false
		}
		if p.s = strings.TrimLeft(p.s[1:], " \t"); p.s == "" {
			return nil, false // a trailing comma
		}
	}
	return ds, len(ds) > 0
}

// sfParser reads a Structured Field value (RFC 8941) from its start,
// checking its syntax only.
type sfParser struct{ s string }

func (p *sfParser) peek() byte {
	if p.s == "" {
		return 0
	}
	return p.s[0]
}

func isLCAlpha(c byte) bool { return 'a' <= c && c <= 'z' }
func isAlpha(c byte) bool   { return isLCAlpha(c) || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool   { return '0' <= c && c <= '9' }

// key reads a key: lcalpha or '*', then lcalpha, digits, '_', '-', '.', '*'.
func (p *sfParser) key() (string, bool) {
	if c := p.peek(); !isLCAlpha(c) && c != '*' {
		return "", false
	}
	i := 1
	for i < len(p.s) && (isLCAlpha(p.s[i]) || isDigit(p.s[i]) || strings.IndexByte("_-.*", p.s[i]) >= 0) {
		i++
	}
	k := p.s[:i]
	p.s = p.s[i:]
	return k, true
}

// parameters reads ";key[=item]" parameters.
func (p *sfParser) parameters() bool {
	for p.peek() == ';' {
		p.s = strings.TrimLeft(p.s[1:], " ")
		if _, ok := p.key(); !ok {
			return false
		}
		if p.peek() == '=' {
			p.s = p.s[1:]
			if !p.bareItem() {
				return false
			}
		}
	}
	return true
}

// innerList reads "(item item ...)" with the parameters of each item and
// of the list.
func (p *sfParser) innerList() bool {
	p.s = p.s[1:] // '('
	for {
		p.s = strings.TrimLeft(p.s, " ")
		if p.peek() == ')' {
			p.s = p.s[1:]
			return true
		}
		if !p.bareItem() || !p.parameters() {
			return false
		}
		if c := p.peek(); c != ' ' && c != ')' {
			return false
		}
	}
}

// bareItem reads an Integer, Decimal, String, Token, Byte Sequence or
// Boolean.
func (p *sfParser) bareItem() bool {
	c := p.peek()
	switch {
	case c == '-' || isDigit(c):
		return p.number()
	case c == '"':
		for i := 1; i < len(p.s); i++ {
			switch c := p.s[i]; {
			case c == '\\':
				if i+1 >= len(p.s) || p.s[i+1] != '"' && p.s[i+1] != '\\' {
					return false
				}
				i++
			case c == '"':
				p.s = p.s[i+1:]
				return true
			case c < 0x20 || c > 0x7e:
				return false
			}
		}
		return false // unterminated
	case c == ':':
		for i := 1; i < len(p.s); i++ {
			if p.s[i] == ':' {
				p.s = p.s[i+1:]
				return true
			}
			if c := p.s[i]; !isAlpha(c) && !isDigit(c) && c != '+' && c != '/' && c != '=' {
				return false
			}
		}
		return false
	case c == '?':
		if len(p.s) < 2 || p.s[1] != '0' && p.s[1] != '1' {
			return false
		}
		p.s = p.s[2:]
		return true
	case isAlpha(c) || c == '*':
		i := 1
		for i < len(p.s) && (isToken(p.s[i:i+1]) || p.s[i] == ':' || p.s[i] == '/') {
			i++
		}
		p.s = p.s[i:]
		return true
	}
	return false
}

// number reads an Integer (at most 15 digits) or a Decimal (at most 12
// integer digits, a dot, 1 to 3 fraction digits).
func (p *sfParser) number() bool {
	i := 0
	if p.s[0] == '-' {
		i = 1
	}
	start, dot := i, -1
	for ; i < len(p.s); i++ {
		c := p.s[i]
		if c == '.' && dot < 0 {
			if i-start > 12 {
				return false
			}
			dot = i
			continue
		}
		if !isDigit(c) {
			break
		}
		if dot < 0 && i-start >= 15 || dot >= 0 && i-dot > 3 {
			return false
		}
	}
	if i == start || dot == i-1 || dot == start {
		return false // no digit, or no digit after the dot, or none before it
	}
	p.s = p.s[i:]
	return true
}

// equalLower reports whether s equals lower, ignoring ASCII case only (as
// the cache compares directive names: no Unicode folding, "ſ" is no "s").
func equalLower(s, lower string) bool {
	return len(s) == len(lower) && strings.ToLower(s) == lower && isASCII(s)
}

// isASCII reports whether s holds ASCII bytes only.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
