package httpcache

import (
	"net/http"
	"strings"
	"time"

	"github.com/go-caching/caching/internal/header"
)

// maxDelta is the value a delta-seconds larger than 2^31 is read as (RFC
// 9111 section 1.2.2).
const maxDelta = 1 << 31

// Delta is a delta-seconds directive value (max-age=60). Its zero value is an
// absent directive.
type Delta struct {
	// Seconds is the value, in [0, 2^31]. An unparsable value reads as 0, the
	// most restrictive.
	Seconds int64
	// Valid reports whether the directive was present.
	Valid bool
}

// Duration returns d as a time.Duration (0 when absent).
func (d Delta) Duration() time.Duration { return time.Duration(d.Seconds) * time.Second }

// CacheControl is the set of Cache-Control directives of a request or a
// response. Its zero value is an absent header. Directive names are matched
// case-insensitively, quoted values are accepted, several header lines are
// read as one list, and when a directive appears twice the most restrictive
// value wins (the smaller max-age, the larger min-fresh, a max-stale with a
// value over one without). A directive with a field-name list
// (no-cache="Set-Cookie", private="X") is read as the unqualified
// directive, which is the conservative reading for a cache that does not
// rewrite responses. Unknown directives are ignored; what decides whether a
// response is stored (Policy.Response, Shared.Directives) also reads the
// no-store, private and no-cache a malformed value hides (see addStrays).
type CacheControl struct {
	NoStore         bool // no-store (request and response)
	NoCache         bool // no-cache (request and response)
	Private         bool // private (response)
	Public          bool // public (response)
	MustRevalidate  bool // must-revalidate (response)
	ProxyRevalidate bool // proxy-revalidate (response)
	NoTransform     bool // no-transform (request and response)
	Immutable       bool // immutable (response, RFC 8246)
	OnlyIfCached    bool // only-if-cached (request)
	MaxStaleAny     bool // max-stale with no value (request): any staleness
	MustUnderstand  bool // must-understand (response, RFC 9111 section 5.2.2.3)

	MaxAge               Delta // max-age (request and response)
	SMaxAge              Delta // s-maxage (response)
	MaxStale             Delta // max-stale=N (request)
	MinFresh             Delta // min-fresh (request)
	StaleWhileRevalidate Delta // stale-while-revalidate (response, RFC 5861)
	StaleIfError         Delta // stale-if-error (request and response, RFC 5861)
}

// ParseCacheControl parses the values of every Cache-Control header line
// (for example h["Cache-Control"]) with the directive grammar of
// header.Directives. It never fails: malformed parts are skipped or read
// restrictively as documented on CacheControl. It does not allocate.
func ParseCacheControl(lines []string) CacheControl {
	var cc CacheControl
	for d := range header.Directives(lines) {
		cc.apply(d.Name, d.Value, d.HasValue)
	}
	return cc
}

// ParseRequestCacheControl parses the directives of a request's header h:
// its Cache-Control field (ParseCacheControl) or, where it has none, the
// no-cache of its Pragma field, read as Cache-Control: no-cache (RFC 7234
// section 5.4: an HTTP/1.0 client's reload; RFC 9111 section 5.4 deprecates
// Pragma but leaves the caches that read it so). A request with a
// Cache-Control field, however empty, has its Pragma ignored. h's keys are
// canonical, as net/http makes them. It does not allocate.
func ParseRequestCacheControl(h http.Header) CacheControl {
	if lines := h["Cache-Control"]; len(lines) > 0 {
		return ParseCacheControl(lines)
	}
	var cc CacheControl
	for d := range header.Directives(h["Pragma"]) {
		if header.EqualLower(d.Name, "no-cache") {
			cc.NoCache = true
		}
	}
	return cc
}

// addStrays sets NoStore, Private and NoCache when a word of lines
// (header.Words: a run of letters, digits and '-') names one of them,
// wherever it stands: in a malformed value ("no-store; private",
// "max-age=60 private", a value quoted whole, an unterminated
// quoted-string before "private") the grammar reads them as unknown
// directives or as another directive's value, and ignores them.
// Storability reads them so, as nginx does (it searches the value for
// them), so that a malformed value can only make a cache store less, never
// more; a valid value that holds one of these words in a quoted string or
// a value is read so too. With sf (a valid targeted field, a Structured
// Field dictionary), a name followed by "=?0", the Structured Field false
// (CDN-Cache-Control: private=?0), is left: it unsets the directive, as
// ParseTargeted reads it. It does not allocate.
func (cc *CacheControl) addStrays(lines []string, sf bool) {
	for w, rest := range header.Words(lines) {
		switch {
		case sf && strings.HasPrefix(rest, "=?0"):
		case header.EqualLower(w, "no-store"):
			cc.NoStore = true
		case header.EqualLower(w, "private"):
			cc.Private = true
		case header.EqualLower(w, "no-cache"):
			cc.NoCache = true
		}
	}
}

func (cc *CacheControl) apply(name, value string, hasValue bool) {
	switch {
	case header.EqualLower(name, "no-store"):
		cc.NoStore = true
	case header.EqualLower(name, "no-cache"):
		cc.NoCache = true
	case header.EqualLower(name, "private"):
		cc.Private = true
	case header.EqualLower(name, "public"):
		cc.Public = true
	case header.EqualLower(name, "must-revalidate"):
		cc.MustRevalidate = true
	case header.EqualLower(name, "proxy-revalidate"):
		cc.ProxyRevalidate = true
	case header.EqualLower(name, "no-transform"):
		cc.NoTransform = true
	case header.EqualLower(name, "immutable"):
		cc.Immutable = true
	case header.EqualLower(name, "only-if-cached"):
		cc.OnlyIfCached = true
	case header.EqualLower(name, "must-understand"):
		cc.MustUnderstand = true
	case header.EqualLower(name, "max-age"):
		cc.MaxAge = minDelta(cc.MaxAge, parseDelta(value))
	case header.EqualLower(name, "s-maxage"):
		cc.SMaxAge = minDelta(cc.SMaxAge, parseDelta(value))
	case header.EqualLower(name, "stale-while-revalidate"):
		cc.StaleWhileRevalidate = minDelta(cc.StaleWhileRevalidate, parseDelta(value))
	case header.EqualLower(name, "stale-if-error"):
		cc.StaleIfError = minDelta(cc.StaleIfError, parseDelta(value))
	case header.EqualLower(name, "max-stale"):
		// With a value it is the more restrictive: it wins over one without.
		if !hasValue {
			cc.MaxStaleAny = !cc.MaxStale.Valid
			return
		}
		cc.MaxStaleAny = false
		cc.MaxStale = minDelta(cc.MaxStale, parseDelta(value))
	case header.EqualLower(name, "min-fresh"):
		d, ok := parseDeltaOK(value)
		if ok && (!cc.MinFresh.Valid || d > cc.MinFresh.Seconds) {
			cc.MinFresh = Delta{Seconds: d, Valid: true}
		}
	}
}

// minDelta merges a repeated directive: the smaller value wins.
func minDelta(old, d Delta) Delta {
	if !old.Valid || d.Seconds < old.Seconds {
		return d
	}
	return old
}

// parseDelta reads a delta-seconds value; an unparsable one reads as 0.
func parseDelta(s string) Delta {
	d, _ := parseDeltaOK(s)
	return Delta{Seconds: d, Valid: true}
}

func parseDeltaOK(s string) (int64, bool) { return header.ParseDeltaSeconds(s) }
