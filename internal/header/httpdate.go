package header

import (
	"net/http"
	"time"
)

// dateLayouts are the three forms of an HTTP-date (RFC 9110 section 5.6.7):
// IMF-fixdate, which senders must generate, and the obsolete RFC 850 and
// asctime forms, which recipients must accept.
var dateLayouts = [...]string{http.TimeFormat, time.RFC850, time.ANSIC}

// ParseHTTPDate parses an HTTP-date (the value of Date, Expires,
// Last-Modified, If-Modified-Since), with optional whitespace around it, in
// any of its three forms; the time is in UTC. ok is false for anything else:
// an empty value, "0", "-1", a date with another zone than GMT, or a date
// before 1970 (which no response can carry). It allocates only for an
// invalid value.
func ParseHTTPDate(s string) (t time.Time, ok bool) {
	s = TrimOWS(s)
	if len(s) < len("Sun Nov 6 08:49:37 1994") || len(s) > 40 {
		return time.Time{}, false
	}
	for _, layout := range dateLayouts {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		if layout == time.RFC850 && !endsWithGMT(s) {
			return time.Time{}, false
		}
		if t.Unix() < 0 {
			return time.Time{}, false
		}
		return t.UTC(), true
	}
	return time.Time{}, false
}

func endsWithGMT(s string) bool { return len(s) > 4 && s[len(s)-4:] == " GMT" }

// maxDeltaSeconds is the value a delta-seconds larger than 2^31 is read as
// (RFC 9111 section 1.2.2).
const maxDeltaSeconds = 1 << 31

// ParseDeltaSeconds reads a delta-seconds value (RFC 9111 section 1.2.2):
// one or more digits, without sign or whitespace; a value past 2^31 reads
// as 2^31. ok is false for anything else.
func ParseDeltaSeconds(s string) (n int64, ok bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < maxDeltaSeconds {
			n = n*10 + int64(c-'0')
		}
	}
	return min(n, maxDeltaSeconds), true
}

// ParseAge reads the Age header lines of a response (RFC 9111 section 5.1):
// a delta-seconds. Optional whitespace is allowed around it. Of several
// values (several lines, or a list, which the grammar does not allow) the
// largest valid one wins, the conservative reading for a cache; invalid
// values are ignored. ok is false when no value is valid.
func ParseAge(lines []string) (seconds int64, ok bool) {
	for e := range Elements(lines) {
		if n, valid := ParseDeltaSeconds(e); valid && (!ok || n > seconds) {
			seconds, ok = n, true
		}
	}
	return seconds, ok
}
