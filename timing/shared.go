package timing

import (
	"net/http"
	"strings"

	"github.com/go-caching/caching/internal/header"
)

// keepFromSharedCaches marks h, the header of a response that carries
// Server-Timing because Options.Expose admitted its request, as one no
// shared cache may store: Expose decides on what the client sent (a cookie,
// a token, an address), and a CDN in front that stored the admitted
// response would serve it, with its metrics, to every client. It adds
// "private" to Cache-Control (sets it when absent) and to the targeted
// fields of RFC 9213 (CDN-Cache-Control and the vendor forms ending in
// -CDN-Cache-Control, which a CDN follows in place of Cache-Control), and
// "no-store" to Surrogate-Control, unless the field already has an
// unqualified private or no-store. Private caches (the admin's browser)
// may still store the response.
//
// It returns what the fields were, for restore: the directive is for the
// client of this response only, not for the handler, nor for a response
// cache below that records what the handler sent (caching.Cached judges a
// field a writer below it changed at commit as the handler's own).
func keepFromSharedCaches(h http.Header) []savedField {
	var saved []savedField
	if vs, ok := h["Cache-Control"]; !refusesShared(vs) {
		saved = append(saved, savedField{"Cache-Control", vs, ok})
		// First, so that a malformed value after it (an unterminated
		// quoted-string) cannot swallow it.
		h["Cache-Control"] = append([]string{"private"}, vs...)
	}
	for k, vs := range h {
		var directive string
		switch {
		case isTargeted(k):
			directive = "private" // a Structured Field dictionary: the last member of a name wins
		case header.EqualLower(k, "surrogate-control"):
			directive = "no-store"
		default:
			continue
		}
		if !refusesShared(vs) {
			saved = append(saved, savedField{k, vs, true})
			h[k] = append(vs[:len(vs):len(vs)], directive)
		}
	}
	return saved
}

// savedField is a header field as it was before keepFromSharedCaches.
type savedField struct {
	key    string
	values []string
	ok     bool // the key was in the map
}

// restore puts back the fields keepFromSharedCaches changed in h, once the
// writer below has taken its copy of the header (net/http's writers, for
// HTTP/1 and HTTP/2, copy it at WriteHeader).
func restore(h http.Header, saved []savedField) {
	for _, f := range saved {
		if f.ok {
			h[f.key] = f.values
		} else {
			delete(h, f.key)
		}
	}
}

// refusesShared reports whether the directives in lines have an
// unqualified private or no-store (not private="Set-Cookie", which lets a
// shared cache store the response without the fields it names).
func refusesShared(lines []string) bool {
	for d := range header.Directives(lines) {
		if (header.EqualLower(d.Name, "private") || header.EqualLower(d.Name, "no-store")) && !d.HasValue {
			return true
		}
	}
	return false
}

// isTargeted reports whether k, a header map key, names a targeted
// cache-control field of RFC 9213: CDN-Cache-Control, or a vendor's
// ending in -CDN-Cache-Control, in any case.
func isTargeted(k string) bool {
	const suffix = "cdn-cache-control"
	if len(k) < len(suffix) || !header.EqualLower(k[len(k)-len(suffix):], suffix) {
		return false
	}
	return len(k) == len(suffix) || strings.HasSuffix(k[:len(k)-len(suffix)], "-")
}

// keepTimingFromOtherSites narrows the Timing-Allow-Origin field of h, the
// header of a response that carries Server-Timing because Options.Expose
// admitted its request, appending what it changes to saved (for restore).
// A browser hands Server-Timing to a page of another origin only when
// Timing-Allow-Origin is * or that origin's serialization; Expose decides
// on what the request carries (a cookie, a loopback peer), which a page of
// any site can make the admin's browser send. So the members that admit
// any site go: * and null (the origin of a sandboxed frame or a data: URL,
// which any site can make). The origins the handler names are its
// deliberate grant and are kept; a field left with no member is removed.
// Members are the elements of the list (a comma inside a quoted-string
// ends none); one goes when any reading of it a browser may make finds *
// or null in it (see admitsAnySite).
func keepTimingFromOtherSites(h http.Header, saved []savedField) []savedField {
	for k, vs := range h {
		if !header.EqualLower(k, "timing-allow-origin") {
			continue
		}
		var keep []string
		narrowed := false
		for e := range header.QuotedElements(vs) {
			if admitsAnySite(e) {
				narrowed = true
			} else {
				keep = append(keep, e)
			}
		}
		if !narrowed {
			continue
		}
		saved = append(saved, savedField{k, vs, true})
		if len(keep) == 0 {
			delete(h, k)
		} else {
			h[k] = []string{strings.Join(keep, ", ")}
		}
	}
	return saved
}

// admitsAnySite reports whether e, a member of a Timing-Allow-Origin list,
// reads as * or null to some browser. Fetch splits the field at commas
// outside quoted-strings and trims spaces and tabs; older Blink and WebKit
// split it at every comma and trim all ASCII whitespace; net/http's HTTP/1
// writer sends a CR or LF in a value as a space. So e admits any site when
// a piece of it between commas, trimmed of ASCII whitespace, and of quotes
// and backslashes (a quoted "*", which no browser should honour, is taken
// as * all the same), is * or null.
func admitsAnySite(e string) bool {
	for p := range strings.SplitSeq(e, ",") {
		if p = strings.Trim(p, " \t\n\v\f\r\"\\"); p == "*" || p == "null" {
			return true
		}
	}
	return false
}
