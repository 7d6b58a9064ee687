package compress

import (
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"github.com/go-caching/caching/internal/header"
)

// net/http sends the header as it was at the handler's first WriteHeader or
// Write: a field set after it is not sent. The middleware commits later
// when it holds the response (a body under MinSize, an encoded body until
// the handler returns or MaxBuffer), from the same header map, so it records
// the header at that moment (record, freeze) and makes the map that again
// before it commits (restore): the same handler sends the same header
// whatever the size of its body, and as it would without the middleware.

// record records h, the header at the handler's first WriteHeader or
// Write (precheck), for freeze. It canonicalizes h's keys first, as
// header.Canonicalize does, checking them in the same pass: a second pass
// over the map would cost the response more than the recording. It copies
// string headers only, into slabs the pooled writer keeps: no allocation
// once they have grown.
func (w *responseWriter) record(h http.Header) {
	if w.recordKeys(h) {
		return
	}
	header.Canonicalize(h)
	w.snapKeys, w.snapVals = clearSlab(w.snapKeys), clearSlab(w.snapVals)
	w.recordKeys(h)
}

// recordKeys appends h's fields to the slabs and reports whether every key
// of h has its canonical form.
func (w *responseWriter) recordKeys(h http.Header) (canonical bool) {
	canonical = true
	for k, vs := range h {
		canonical = canonical && textproto.CanonicalMIMEHeaderKey(k) == k
		start := len(w.snapVals)
		w.snapVals = append(w.snapVals, vs...)
		w.snapKeys = append(w.snapKeys, snapField{key: k, start: start, end: len(w.snapVals)})
	}
	return canonical
}

// freeze makes the header recorded by precheck the one to commit (restore),
// unless the response is committed already: nothing is held then. precheck
// changes the header only when it commits it (a 304, Disable).
func (w *responseWriter) freeze() {
	w.frozen = !w.Committed() && !w.Hijacked()
}

// changed reports whether h is no longer the frozen header: a field added,
// removed, or with other values (replaced or written in place).
func (w *responseWriter) changed(h http.Header) bool {
	if len(h) != len(w.snapKeys) {
		return true
	}
	for _, f := range w.snapKeys {
		vs, ok := h[f.key]
		if !ok || !slices.Equal(vs, w.snapVals[f.start:f.end]) {
			return true
		}
	}
	return false
}

// restore makes the header the frozen one again, before the response is
// committed: what the handler set, changed or removed since is not sent.
// Trailers are the exception, as in net/http, which reads them from the
// handler's map once it returns: keys with http.TrailerPrefix stay as they
// are, and the current values of the fields the frozen Trailer declares
// are returned (late, nil for none), to be put back once the header is
// sent. It allocates only when the handler changed the header.
func (w *responseWriter) restore() (late http.Header) {
	if !w.frozen {
		return nil
	}
	h := w.Header()
	if !w.changed(h) {
		return nil // the common case
	}
	snap := make(map[string][]string, len(w.snapKeys))
	for _, f := range w.snapKeys {
		snap[f.key] = w.snapVals[f.start:f.end]
	}
	for k, vs := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		if declaresTrailer(snap["Trailer"], k) {
			if late == nil {
				late = make(http.Header)
			}
			late[k] = vs
		}
		if _, ok := snap[k]; !ok {
			delete(h, k)
		}
	}
	for k, vs := range snap {
		if cur, ok := h[k]; strings.HasPrefix(k, http.TrailerPrefix) || ok && slices.Equal(cur, vs) {
			continue
		}
		h[k] = slices.Clone(vs) // the slab is reused: no alias
	}
	return late
}

// committedValues returns the values of the field key (canonical) in the
// header the response is to be committed with: the frozen one, or the
// handler's map while nothing is frozen. It does not allocate.
func (w *responseWriter) committedValues(key string) []string {
	if !w.frozen {
		return w.Header()[key]
	}
	for _, f := range w.snapKeys {
		if f.key == key {
			return w.snapVals[f.start:f.end]
		}
	}
	return nil
}

// declaresTrailer reports whether the Trailer lines declare the field key.
func declaresTrailer(lines []string, key string) bool {
	for name := range header.Elements(lines) {
		if strings.EqualFold(name, key) {
			return true
		}
	}
	return false
}

// commitHeader returns the header to commit: the frozen one (restore) with
// the sniffed Content-Type, and the late trailer values to put back into
// it once it is sent.
func (w *responseWriter) commitHeader() (h, late http.Header) {
	late = w.restore()
	h = w.Header()
	if w.sniffedType != "" {
		h["Content-Type"] = []string{w.sniffedType}
	}
	return h, late
}
