package header

import "strconv"

// Coding is a content coding that negotiation knows (RFC 9110 section
// 8.4.1). Its zero value is Identity.
type Coding uint8

// The codings, in the order a Profile lists them.
const (
	Identity Coding = iota // no coding
	Zstd                   // "zstd" (RFC 8878)
	Brotli                 // "br" (RFC 7932)
	Gzip                   // "gzip", also read from "x-gzip"
	Deflate                // "deflate" (the zlib format)

	numCodings
)

var codingNames = [numCodings]string{"identity", "zstd", "br", "gzip", "deflate"}

// String returns the coding's name as sent in Content-Encoding ("gzip").
func (c Coding) String() string {
	if c >= numCodings {
		return "Coding(" + strconv.Itoa(int(c)) + ")"
	}
	return codingNames[c]
}

// ParseCoding returns the coding named s, ignoring ASCII case ("x-gzip" is
// Gzip); ok is false for any name this package does not know.
func ParseCoding(s string) (c Coding, ok bool) {
	switch len(s) {
	case 2:
		c = Brotli
	case 4:
		c = Gzip
		if s[0] == 'z' || s[0] == 'Z' {
			c = Zstd
		}
	case 6:
		return Gzip, EqualLower(s, "x-gzip")
	case 7:
		c = Deflate
	case 8:
		c = Identity
	default:
		return 0, false
	}
	return c, EqualLower(s, codingNames[c])
}

// notListed is the weight of a coding the header does not list.
const notListed = -1

// AcceptEncoding is an Accept-Encoding header as negotiation reads it: the
// weights it gives the codings this package knows and "*". Build one with
// ParseAcceptEncoding; its zero value is not meaningful.
type AcceptEncoding struct {
	present bool
	q       [numCodings]int16 // thousandths, 0 to 1000; notListed
	star    int16
}

// ParseAcceptEncoding parses the Accept-Encoding lines of a request (nil:
// no header) per RFC 9110 section 12.5.3: a comma-separated list of codings,
// each with an optional weight ";q=" qvalue, where a qvalue is "0" or "1"
// with at most three decimals ("0.5", "0.125", "1.000"). Codings and "q"
// are matched ignoring ASCII case, OWS is allowed around ";" and "=", and
// "x-gzip" counts as gzip. An element that does not follow this grammar (a
// malformed weight: four decimals, "q=.5", "q=abc", above 1; any other
// parameter, which the grammar does not allow; text after the coding
// without ";") refuses the coding its leading token names, as "q=0" would,
// wherever it stands in the header: the client meant to say something about
// that coding, and the safe reading of what it said is that it does not
// want it, so "*" never grants it. For identity a malformed element is
// ignored (identity is what a server sends when it sends no coding). An
// element with no leading token is ignored. When a coding is listed twice
// in well-formed elements the first counts. Codings this package does not
// know are ignored. It does not allocate.
func ParseAcceptEncoding(lines []string) AcceptEncoding {
	a := AcceptEncoding{present: len(lines) > 0, star: notListed}
	for i := range a.q {
		a.q[i] = notListed
	}
	for e := range Elements(lines) {
		coding, q, ok := parseCodingElement(e)
		if !ok {
			coding = leadingToken(e)
		}
		slot := &a.star
		if coding != "*" {
			c, known := ParseCoding(coding)
			if !known || (!ok && c == Identity) {
				continue
			}
			slot = &a.q[c]
		}
		switch {
		case !ok:
			*slot = 0 // refused, whatever came before
		case *slot == notListed:
			*slot = q
		}
	}
	return a
}

// leadingToken returns the longest prefix of e made of tchars ("" when e
// starts with another byte): the coding a malformed element names.
func leadingToken(e string) string {
	for i := 0; i < len(e); i++ {
		if !tchars[e[i]] {
			return e[:i]
		}
	}
	return e
}

// parseCodingElement parses `coding [ OWS ";" OWS "q=" qvalue ]`.
func parseCodingElement(e string) (coding string, q int16, ok bool) {
	coding, params := cut(e, ';')
	if coding = trimRightOWS(coding); !IsToken(coding) {
		return "", 0, false
	}
	if len(params) == 0 && len(coding) == len(e) {
		return coding, 1000, true
	}
	name, value := cut(params, '=')
	if !EqualLower(TrimOWS(name), "q") {
		return "", 0, false
	}
	q, ok = parseQ(TrimOWS(value))
	return coding, q, ok
}

// parseQ parses an RFC 9110 qvalue into thousandths:
// "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ].
func parseQ(s string) (int16, bool) {
	if s == "" || len(s) > 5 || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	v := int16(s[0]-'0') * 1000
	if len(s) == 1 {
		return v, true
	}
	if s[1] != '.' {
		return 0, false
	}
	scale := int16(100)
	for i := 2; i < len(s); i++ {
		d := s[i]
		if d < '0' || d > '9' || (v == 1000 && d != '0') {
			return 0, false
		}
		v += int16(d-'0') * scale
		scale /= 10
	}
	return v, true
}

// Present reports whether the request had an Accept-Encoding header.
func (a *AcceptEncoding) Present() bool { return a.present }

// weight returns the weight of c in thousandths: its own entry, else "*"'s,
// else 0; for Identity, its own entry only, -1 when not listed (the reading
// Choose needs).
func (a *AcceptEncoding) weight(c Coding) int16 {
	q := a.q[c]
	if c == Identity {
		return q
	}
	if q == notListed {
		q = a.star
	}
	return max(q, 0)
}

// Choose returns the index in prefs (the codings a server offers, most
// preferred first) of the coding to send: the one with the highest positive
// weight, ties going to the earlier; -1 for none, when the header is absent
// (a client that sends none gets no coding), when no coding of prefs has a
// positive weight, or when identity's own weight is higher than the best's
// (the client prefers no coding). Identity in prefs is never chosen. It does
// not allocate.
func (a *AcceptEncoding) Choose(prefs []Coding) int {
	if !a.present {
		return -1
	}
	best, bestQ := -1, int16(0)
	for i, c := range prefs {
		if c == Identity || c >= numCodings {
			continue
		}
		if q := a.weight(c); q > bestQ {
			best, bestQ = i, q
		}
	}
	if best >= 0 && a.q[Identity] > bestQ {
		return -1
	}
	return best
}

// Acceptable reports whether a response whose Content-Encoding lines are
// contentEncoding may be sent to a request whose Accept-Encoding lines are
// acceptEncoding, by the grammar of ParseAcceptEncoding. A response without
// a coding (no Content-Encoding, or "identity") always may: every client
// reads it and compress sends it whenever it chooses nothing. A coded one
// may only when the request has an Accept-Encoding header and every coding
// listed is one this package knows with a positive weight (its own, else
// "*"'s); an unknown or malformed coding is never acceptable. A response
// cache calls it before storing a coded variant, so that a negotiator with
// another grammar cannot put in a variant what this one would refuse. It does
// not allocate.
func Acceptable(acceptEncoding, contentEncoding []string) bool {
	a := ParseAcceptEncoding(acceptEncoding)
	for e := range Elements(contentEncoding) {
		c, ok := ParseCoding(e)
		switch {
		case !ok:
			return false
		case c == Identity:
		case !a.present || a.weight(c) <= 0:
			return false
		}
	}
	return true
}

// Profile is what negotiation can see of an Accept-Encoding header: whether
// it is present, and how the weights of the known codings compare with one
// another and with the anchors 0 (refused) and -1 (not listed). The weight
// of zstd, br, gzip and deflate is their own entry, else "*"'s, else 0; that
// of identity is its own entry only, -1 when not listed. Each weight is
// replaced by its rank among the distinct values of those five weights and
// the two anchors, so -1 always ranks 0 and 0 ranks 1.
//
// Two headers with equal Profiles get the same Choose result for every
// prefs, and the same Acceptable answer for every Content-Encoding, because
// both only compare those weights with each other and with 0. There are
// 1,233 Profiles, absence included, however many ways a header can be
// spelled: a response cache keys its Accept-Encoding variants by Profile.
// Codings this package does not know are not part of it.
//
// Profile is comparable; its zero value is the Profile of an absent header.
type Profile struct {
	present bool
	rank    [numCodings]uint8
}

// Profile returns a's Profile. It does not allocate.
func (a *AcceptEncoding) Profile() Profile {
	if !a.present {
		return Profile{}
	}
	// The distinct values, sorted: at most the five weights and two anchors.
	var vals [numCodings + 2]int16
	n := 0
	add := func(v int16) {
		i := 0
		for i < n && vals[i] < v {
			i++
		}
		if i < n && vals[i] == v {
			return
		}
		copy(vals[i+1:n+1], vals[i:n])
		vals[i] = v
		n++
	}
	add(notListed)
	add(0)
	var w [numCodings]int16
	for c := range w {
		w[c] = a.weight(Coding(c))
		add(w[c])
	}
	p := Profile{present: true}
	for c, v := range w {
		for r := 0; r < n; r++ {
			if vals[r] == v {
				p.rank[c] = uint8(r)
				break
			}
		}
	}
	return p
}

// Present reports whether the header was present.
func (p Profile) Present() bool { return p.present }

// AppendText appends the text form of p, "absent" or the codings with their
// ranks ("identity0,zstd2,br2,gzip3,deflate1": identity not listed, gzip
// preferred to zstd and br, deflate refused). It implements
// encoding.TextAppender and never fails.
func (p Profile) AppendText(b []byte) ([]byte, error) {
	if !p.present {
		return append(b, "absent"...), nil
	}
	for c, r := range p.rank {
		if c > 0 {
			b = append(b, ',')
		}
		b = append(b, codingNames[c]...)
		b = strconv.AppendUint(b, uint64(r), 10)
	}
	return b, nil
}

// String returns the text form of p (see AppendText).
func (p Profile) String() string {
	b, _ := p.AppendText(nil)
	return string(b)
}
