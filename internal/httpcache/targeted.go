package httpcache

import "github.com/go-caching/caching/internal/header"

// DefaultTargetedField is the targeted cache-control field a shared cache
// follows by default: CDN-Cache-Control (RFC 9213 section 3).
const DefaultTargetedField = "Cdn-Cache-Control"

// ParseTargeted parses the lines of a targeted cache-control field such as
// CDN-Cache-Control (RFC 9213 section 2.1): a Structured Field dictionary
// whose members are Cache-Control response directives. ok is false when the
// field is absent, empty or invalid (one syntax error anywhere): the cache
// then ignores it and follows Cache-Control (section 2.2).
//
// Unlike Cache-Control, a directive given twice takes its last value, as a
// dictionary does. Values of the wrong type are read restrictively: a
// max-age or s-maxage that is not a non-negative integer is 0, a no-store,
// no-cache, private, must-revalidate or proxy-revalidate with any value but
// ?0 is set (a string value is the field-name list of no-cache and private,
// read as the unqualified directive), public is set only by a true boolean,
// and a stale-while-revalidate or stale-if-error that is not a
// non-negative integer is absent.
func ParseTargeted(lines []string) (cc CacheControl, ok bool) {
	members := 0
	valid := header.ParseDictionary(lines, func(m header.Member) {
		members++
		cc.applyMember(m)
	})
	if !valid || members == 0 {
		return CacheControl{}, false
	}
	return cc, true
}

func (cc *CacheControl) applyMember(m header.Member) {
	set := m.Kind != header.KindBoolean || m.Bool // restrictive flags
	delta := func(restrictive bool) Delta {
		if m.Kind == header.KindInteger && m.Int >= 0 {
			return Delta{Seconds: min(m.Int, maxDelta), Valid: true}
		}
		if restrictive {
			return Delta{Valid: true}
		}
		return Delta{}
	}
	switch m.Key {
	case "no-store":
		cc.NoStore = set
	case "no-cache":
		cc.NoCache = set
	case "private":
		cc.Private = set
	case "must-revalidate":
		cc.MustRevalidate = set
	case "proxy-revalidate":
		cc.ProxyRevalidate = set
	case "public":
		cc.Public = m.Kind == header.KindBoolean && m.Bool
	case "no-transform":
		cc.NoTransform = set
	case "immutable":
		cc.Immutable = m.Kind == header.KindBoolean && m.Bool
	case "must-understand":
		cc.MustUnderstand = m.Kind == header.KindBoolean && m.Bool
	case "max-age":
		cc.MaxAge = delta(true)
	case "s-maxage":
		cc.SMaxAge = delta(true)
	case "stale-while-revalidate":
		cc.StaleWhileRevalidate = delta(false)
	case "stale-if-error":
		cc.StaleIfError = delta(false)
	}
}
