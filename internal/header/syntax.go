package header

// tchars marks the bytes RFC 9110 section 5.6.2 allows in a token:
// "!#$%&'*+-.^_`|~", digits and letters.
var tchars = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range []byte("!#$%&'*+-.^_`|~") {
		t[c] = true
	}
	return t
}()

// IsTchar reports whether c may appear in a token (RFC 9110 section 5.6.2).
func IsTchar(c byte) bool { return tchars[c] }

// IsToken reports whether s is a token: one or more tchars. Field names,
// content codings and directive names are tokens.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tchars[s[i]] {
			return false
		}
	}
	return true
}

// IsOWS reports whether c is optional whitespace: a space or a horizontal
// tab (RFC 9110 section 5.6.3).
func IsOWS(c byte) bool { return c == ' ' || c == '\t' }

// TrimOWS returns s without leading and trailing spaces and tabs.
func TrimOWS(s string) string {
	return trimRightOWS(trimLeftOWS(s))
}

func trimLeftOWS(s string) string {
	for len(s) > 0 && IsOWS(s[0]) {
		s = s[1:]
	}
	return s
}

func trimRightOWS(s string) string {
	for len(s) > 0 && IsOWS(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// EqualLower reports whether s equals lower, ignoring ASCII case; lower
// must be written in lower case (as the names this module matches are).
// Unlike strings.EqualFold it never folds non-ASCII letters: "K" (Kelvin)
// does not match "k".
func EqualLower(s, lower string) bool {
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
