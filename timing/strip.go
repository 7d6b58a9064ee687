package timing

import (
	"net/http"
	"strings"

	"github.com/go-caching/caching/internal/header"
)

// serverTiming is the canonical name of the Server-Timing field.
const serverTiming = "Server-Timing"

// stripServerTiming removes from h every Server-Timing field, whatever the
// spelling of its key: the field, its trailer form with http.TrailerPrefix
// ("Trailer:Server-Timing"), and its declaration in a Trailer field (so that
// net/http neither announces it nor sends a value set after the header).
// It does not allocate unless a Trailer field declares Server-Timing.
func stripServerTiming(h http.Header) {
	for k := range h {
		switch {
		case isServerTiming(k):
			delete(h, k)
		case header.EqualLower(k, "trailer"):
			undeclare(h, k)
		}
	}
}

// isServerTiming reports whether k, a header map key, is Server-Timing or
// its http.TrailerPrefix form, ignoring ASCII case.
func isServerTiming(k string) bool {
	const prefix = len(http.TrailerPrefix)
	if len(k) == prefix+len(serverTiming) && header.EqualLower(k[:prefix], "trailer:") {
		k = k[prefix:]
	}
	return header.EqualLower(k, "server-timing")
}

// undeclare removes Server-Timing from the list of trailer names in h[k],
// and k from h when no name is left.
func undeclare(h http.Header, k string) {
	vs := h[k]
	if !header.HasToken(vs, "server-timing") {
		return
	}
	var keep []string
	for name := range header.Elements(vs) {
		if !header.EqualLower(name, "server-timing") {
			keep = append(keep, name)
		}
	}
	if len(keep) == 0 {
		delete(h, k)
		return
	}
	h[k] = []string{strings.Join(keep, ", ")}
}
