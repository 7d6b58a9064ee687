package header

import (
	"net/http"
	"net/textproto"
	"slices"
)

// Canonicalize rewrites h in place so that every key has its canonical form
// (textproto.CanonicalMIMEHeaderKey), which is the only spelling the rules
// of this module look up. net/http sends a key set directly in the map
// (w.Header()["set-cookie"]) as it is spelled, so a rule that reads only
// the canonical key would miss it. The values of the spellings of one name
// are merged in a fixed order: the canonical key's own first, then those of
// the other spellings in byte order of the key. A spelling other than the
// canonical one with no values is deleted, not made the canonical key:
// net/http writes nothing for it, and reads only the canonical key for a
// field it adds unless present (h["Content-Type"] = nil or h["Date"] = nil
// suppresses the one net/http sends, h["content-type"] = nil does not); the
// canonical key with no values stays present. Keys that are not valid field
// names are left alone: textproto has no canonical form for them and
// net/http does not send them.
//
// It allocates only when h has a key to rewrite. Like any write to an
// http.Header, it must not run concurrently with other uses of h.
func Canonicalize(h http.Header) {
	var odd []string
	for k := range h {
		if textproto.CanonicalMIMEHeaderKey(k) != k {
			odd = append(odd, k)
		}
	}
	if len(odd) == 0 {
		return
	}
	slices.Sort(odd)
	for _, k := range odd {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		vs := h[k]
		delete(h, k)
		if len(vs) == 0 {
			continue // net/http sends nothing, and suppresses nothing
		}
		prev, ok := h[ck]
		if !ok {
			h[ck] = slices.Clip(vs)
			continue
		}
		// Never append into a slice another map may share.
		h[ck] = append(slices.Clip(prev), vs...)
	}
}
