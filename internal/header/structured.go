package header

import "strings"

// The Dictionary of Structured Field Values (RFC 8941 section 3.2), the
// syntax of targeted cache-control fields such as CDN-Cache-Control (RFC
// 9213 section 2.1). Unlike the lists of RFC 9110, a Structured Field is all
// or nothing: one syntax error anywhere makes the whole field invalid.

// ItemKind is the type of a Dictionary member's value.
type ItemKind uint8

// The kinds of value a Dictionary member can have.
const (
	KindBoolean   ItemKind = iota + 1 // ?1, ?0, or no value (true)
	KindInteger                       // -999,999,999,999,999 to 999,999,999,999,999
	KindDecimal                       // up to 12 integer and 3 fraction digits
	KindString                        // "...", with \" and \\ escapes
	KindToken                         // a token, which may also hold ':' and '/'
	KindBytes                         // :base64:
	KindInnerList                     // ( item item )
)

// Member is one member of a Dictionary. Parameters are checked for syntax
// and otherwise ignored.
type Member struct {
	Key  string
	Kind ItemKind
	// Bool is the value of a Boolean.
	Bool bool
	// Int is the value of an Integer (and the integer part of a Decimal).
	Int int64
	// Raw is the value as written: a String without its quotes (escapes
	// left in), a Token, a Decimal, Bytes without the colons; "" otherwise.
	Raw string
}

// ParseDictionary parses the field lines of a Dictionary Structured Field,
// joined as one value with ", " (RFC 8941 section 4.2), and calls yield with
// each member in order, as it goes. It returns false as soon as the field
// turns out to be invalid, after which the members already yielded must be
// discarded; true when the whole field is a valid Dictionary (an empty one
// included). Empty lines are skipped. A key given twice is yielded twice:
// the last one wins. It allocates only to join several lines.
func ParseDictionary(lines []string, yield func(Member)) bool {
	// Join the lines once: joining them one by one copies the value once
	// per line, quadratic in a field sent as many lines.
	var s string
	n, size := 0, 0
	for _, l := range lines {
		if TrimOWS(l) == "" {
			continue // an empty line adds no member
		}
		if n == 0 {
			s = l
		}
		n++
		size += len(l)
	}
	if n > 1 {
		var b strings.Builder
		b.Grow(size + 2*(n-1))
		for _, l := range lines {
			if TrimOWS(l) == "" {
				continue
			}
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString(l)
		}
		s = b.String()
	}
	p := sfParser{s: s}
	p.skipSP()
	if p.s == "" {
		return true
	}
	for {
		var m Member
		var ok bool
		if m.Key, ok = p.key(); !ok {
			return false
		}
		if p.peek() == '=' {
			p.s = p.s[1:]
			if p.peek() == '(' {
				if !p.innerList() {
					return false
				}
				m.Kind = KindInnerList
			} else if !p.bareItem(&m) {
				return false
			}
		} else {
			m.Kind, m.Bool = KindBoolean, true
		}
		if !p.parameters() {
			return false
		}
		yield(m)
		p.skipOWS()
		if p.s == "" {
			return true
		}
		if p.s[0] != ',' {
			return false
		}
		p.s = p.s[1:]
		p.skipOWS()
		if p.s == "" {
			return false // a trailing comma
		}
	}
}

// sfParser reads a field value from its start.
type sfParser struct{ s string }

func (p *sfParser) peek() byte {
	if p.s == "" {
		return 0
	}
	return p.s[0]
}

func (p *sfParser) skipSP() {
	for p.s != "" && p.s[0] == ' ' {
		p.s = p.s[1:]
	}
}

func (p *sfParser) skipOWS() { p.s = trimLeftOWS(p.s) }

func isLCAlpha(c byte) bool { return 'a' <= c && c <= 'z' }
func isAlpha(c byte) bool   { return isLCAlpha(c) || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool   { return '0' <= c && c <= '9' }

// key reads a key: lcalpha or '*', then lcalpha, digits, '_', '-', '.', '*'.
func (p *sfParser) key() (string, bool) {
	if c := p.peek(); !isLCAlpha(c) && c != '*' {
		return "", false
	}
	i := 1
	for ; i < len(p.s); i++ {
		c := p.s[i]
		if !isLCAlpha(c) && !isDigit(c) && c != '_' && c != '-' && c != '.' && c != '*' {
			break
		}
	}
	k := p.s[:i]
	p.s = p.s[i:]
	return k, true
}

// parameters reads ";key[=item]" parameters and ignores their values.
func (p *sfParser) parameters() bool {
	for p.peek() == ';' {
		p.s = p.s[1:]
		p.skipSP()
		if _, ok := p.key(); !ok {
			return false
		}
		if p.peek() == '=' {
			p.s = p.s[1:]
			var m Member
			if !p.bareItem(&m) {
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
		p.skipSP()
		if p.peek() == ')' {
			p.s = p.s[1:]
			return true
		}
		var m Member
		if !p.bareItem(&m) || !p.parameters() {
			return false
		}
		if c := p.peek(); c != ' ' && c != ')' {
			return false
		}
	}
}

// bareItem reads an Integer, Decimal, String, Token, Byte Sequence or
// Boolean into m.
func (p *sfParser) bareItem(m *Member) bool {
	c := p.peek()
	switch {
	case c == '-' || isDigit(c):
		return p.number(m)
	case c == '"':
		return p.str(m)
	case c == ':':
		return p.bytes(m)
	case c == '?':
		if len(p.s) < 2 || p.s[1] != '0' && p.s[1] != '1' {
			return false
		}
		m.Kind, m.Bool = KindBoolean, p.s[1] == '1'
		p.s = p.s[2:]
		return true
	case isAlpha(c) || c == '*':
		i := 1
		for i < len(p.s) && (IsTchar(p.s[i]) || p.s[i] == ':' || p.s[i] == '/') {
			i++
		}
		m.Kind, m.Raw = KindToken, p.s[:i]
		p.s = p.s[i:]
		return true
	}
	return false
}

// number reads an Integer (at most 15 digits) or a Decimal (at most 12
// integer digits, a dot, 1 to 3 fraction digits).
func (p *sfParser) number(m *Member) bool {
	i, neg := 0, false
	if p.s[0] == '-' {
		i, neg = 1, true
	}
	start, dot := i, -1
	var n int64
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
		if dot < 0 {
			n = n*10 + int64(c-'0')
		}
		if dot < 0 && i-start >= 15 || dot >= 0 && i-dot > 3 {
			return false
		}
	}
	if i == start || dot == i-1 || dot == start {
		return false // no digit, or no digit after the dot, or none before it
	}
	if neg {
		n = -n
	}
	m.Int, m.Raw = n, p.s[:i]
	m.Kind = KindInteger
	if dot >= 0 {
		m.Kind = KindDecimal
	}
	p.s = p.s[i:]
	return true
}

// str reads a String: printable ASCII, with \ and " the only escapes.
func (p *sfParser) str(m *Member) bool {
	for i := 1; i < len(p.s); i++ {
		switch c := p.s[i]; {
		case c == '\\':
			if i+1 >= len(p.s) || p.s[i+1] != '"' && p.s[i+1] != '\\' {
				return false
			}
			i++
		case c == '"':
			m.Kind, m.Raw = KindString, p.s[1:i]
			p.s = p.s[i+1:]
			return true
		case c < 0x20 || c > 0x7e:
			return false
		}
	}
	return false // unterminated
}

// bytes reads a Byte Sequence: base64 characters between colons.
func (p *sfParser) bytes(m *Member) bool {
	for i := 1; i < len(p.s); i++ {
		c := p.s[i]
		if c == ':' {
			m.Kind, m.Raw = KindBytes, p.s[1:i]
			p.s = p.s[i+1:]
			return true
		}
		if !isAlpha(c) && !isDigit(c) && c != '+' && c != '/' && c != '=' {
			return false
		}
	}
	return false
}
