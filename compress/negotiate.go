package compress

// acceptEncoding holds the q-values (in thousandths, 0 to 1000) that an
// Accept-Encoding header gives to the codings this package knows; -1 means
// "not listed".
type acceptEncoding struct {
	present                                bool // at least one header line
	zstd, br, gzip, deflate, identity, any int
}

// parseAcceptEncoding parses every Accept-Encoding line per RFC 9110,
// section 12.5.3: a comma-separated list of codings, each with an optional
// ";q=" weight of up to three decimals. Codings are case-insensitive, OWS is
// allowed around separators, "x-gzip" means gzip. An element with a malformed
// weight or any other parameter is ignored; when a coding is listed twice the
// first one counts. It does not allocate.
func parseAcceptEncoding(lines []string) acceptEncoding {
	a := acceptEncoding{present: len(lines) > 0, zstd: -1, br: -1, gzip: -1, deflate: -1, identity: -1, any: -1}
	for _, s := range lines {
		for len(s) > 0 {
			var elem string
			elem, s = cutByte(s, ',')
			coding, q, ok := parseElement(elem)
			if !ok {
				continue
			}
			var slot *int
			switch {
			case eqFold(coding, Zstd):
				slot = &a.zstd
			case eqFold(coding, Brotli):
				slot = &a.br
			case eqFold(coding, Gzip), eqFold(coding, "x-gzip"):
				slot = &a.gzip
			case eqFold(coding, Deflate):
				slot = &a.deflate
			case eqFold(coding, "identity"):
				slot = &a.identity
			case coding == "*":
				slot = &a.any
			default:
				continue
			}
			if *slot < 0 {
				*slot = q
			}
		}
	}
	return a
}

// q returns the weight of the named coding: its own entry, else "*"'s, else 0.
func (a *acceptEncoding) q(name string) int {
	var v int
	switch name {
	case Zstd:
		v = a.zstd
	case Brotli:
		v = a.br
	case Gzip:
		v = a.gzip
	case Deflate:
		v = a.deflate
	}
	if v < 0 {
		v = a.any
	}
	if v < 0 {
		return 0
	}
	return v
}

// choose returns the codec of prefs with the highest non-zero weight (ties
// go to the earlier one in prefs), or nil when none is acceptable, when the
// header is absent, or when identity is explicitly preferred to all of them.
func (a *acceptEncoding) choose(prefs []*codec) *codec {
	if !a.present {
		return nil
	}
	var best *codec
	bestQ := 0
	for _, c := range prefs {
		if q := a.q(c.name); q > bestQ {
			best, bestQ = c, q
		}
	}
	if best != nil && a.identity > bestQ {
		return nil
	}
	return best
}

// parseElement parses `coding *( OWS ";" OWS param )`; ok is false for an
// empty element or a malformed one.
func parseElement(e string) (coding string, q int, ok bool) {
	e = trimOWS(e)
	if e == "" {
		return "", 0, false
	}
	coding, rest, hasParams := cutByteFound(e, ';')
	coding = trimOWS(coding)
	if !isToken(coding) {
		return "", 0, false
	}
	q = 1000
	seenQ := false
	for hasParams {
		var p string
		p, rest, hasParams = cutByteFound(rest, ';')
		name, val, hasEq := cutByteFound(p, '=')
		name, val = trimOWS(name), trimOWS(val)
		if !hasEq || seenQ || (name != "q" && name != "Q") {
			return "", 0, false
		}
		v, good := parseQ(val)
		if !good {
			return "", 0, false
		}
		q, seenQ = v, true
	}
	return coding, q, true
}

// parseQ parses an RFC 9110 qvalue: "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ].
func parseQ(s string) (int, bool) {
	if s == "" || len(s) > 5 || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	v := int(s[0]-'0') * 1000
	if len(s) == 1 {
		return v, true
	}
	if s[1] != '.' {
		return 0, false
	}
	scale := 100
	for i := 2; i < len(s); i++ {
		d := s[i]
		if d < '0' || d > '9' || (v == 1000 && d != '0') {
			return 0, false
		}
		v += int(d-'0') * scale
		scale /= 10
	}
	return v, true
}

func cutByte(s string, sep byte) (before, after string) {
	b, a, _ := cutByteFound(s, sep)
	return b, a
}

func cutByteFound(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// eqFold reports whether s equals the lower-case ASCII word lower, ignoring case.
func eqFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
