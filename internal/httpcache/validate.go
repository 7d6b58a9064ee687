package httpcache

import (
	"bytes"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/go-caching/caching/internal/boottime"
	"github.com/go-caching/caching/internal/header"
)

// Conditional sets on h, the header of a request sent on to revalidate s,
// the validators of s (RFC 9111 section 4.3.1): If-None-Match with its
// ETag, If-Modified-Since with its Last-Modified (as stored); it first
// removes any If-None-Match and If-Modified-Since h had. It reports whether
// s has a validator: when it has none, h is left without either. Their
// spellings with '_' go too (see HasField).
func (s *Snapshot) Conditional(h http.Header) bool {
	DeleteField(h, "If-None-Match")
	DeleteField(h, "If-Modified-Since")
	if s.ETag != "" {
		h["If-None-Match"] = []string{s.ETag}
	}
	if lm := s.Header["Last-Modified"]; len(lm) > 0 && !s.LastModified.IsZero() {
		h["If-Modified-Since"] = []string{lm[0]}
	}
	return s.ETag != "" || !s.LastModified.IsZero()
}

// Validates reports whether a 304 (or a 200 answering HEAD) with header h
// selects s for update (RFC 9111 section 4.3.4). With an ETag, that tag
// must identify s: a strong one a strong stored ETag equal to it (the
// same strong validator), a weak one a stored ETag, weak or strong, with
// the same opaque tag (weak comparison, RFC 9110 section 8.8.3.2). A HEAD
// with a strong tag never validates a weak stored one: an origin that
// weakens the tags of what it encodes (package compress, nginx's gzip)
// gives the identity representation the strong form of the encoded one's
// weak tag, and a HEAD answered unencoded describes that representation,
// not the encoded bytes stored. A 304 answers a conditional request, and
// the origin compared the request's tag (the stored weak one, for a
// revalidation) weakly, as If-None-Match is compared: a strong tag with
// the stored weak tag's opaque tag says that the representation the
// stored bytes were made from is current (nginx's 304 skips its gzip
// filter, and sends the strong form), so it validates s; Freshen keeps
// the stored weak tag, so s never gains a strong validator for bytes
// encoded on the fly (and an origin behind nginx costs one run per
// revalidation, not a 304 and a full rerun). Without an ETag, its
// Last-Modified must equal the stored one; a 304 with neither validator
// validates s (the one stored response for its request) only when s has
// neither either: one with a validator is selected by a matching
// validator alone, and the caller runs its request again without
// conditions. A HEAD response (section 4.3.5) must have a validator, and
// every validator it has must match s's: with an ETag as above, its
// Last-Modified, when it has one, too (a valid date equal to s's). It
// must not declare another Content-Length than s, and must have the same
// content codings as s (Content-Encoding, identity aside): a HEAD
// answered unencoded, as package compress answers one it has no size for,
// describes the identity representation, not a stored gzip response of
// the same resource.
func (s *Snapshot) Validates(h http.Header, head bool) bool {
	if head {
		if cl := h["Content-Length"]; len(cl) > 0 && cl[0] != "" && !(len(s.Header["Content-Length"]) > 0 && s.Header["Content-Length"][0] == cl[0]) {
			return false
		}
		if codings(h["Content-Encoding"]) != codings(s.Header["Content-Encoding"]) {
			return false
		}
		if lm := h["Last-Modified"]; len(lm) > 0 {
			t, ok := firstDate(lm)
			if !ok || s.LastModified.IsZero() || !t.Equal(s.LastModified) {
				return false
			}
		}
	}
	if et := h["Etag"]; len(et) > 0 {
		tag := textproto.TrimString(et[0])
		if opaque, weak := strings.CutPrefix(tag, "W/"); weak {
			return s.etagOpaque() != "" && opaque == s.etagOpaque()
		}
		return s.ETag != "" && (tag == s.ETag || !head && tag == s.etagOpaque())
	}
	if lm, ok := firstDate(h["Last-Modified"]); ok {
		return !s.LastModified.IsZero() && lm.Equal(s.LastModified)
	}
	return !head && s.ETag == "" && s.LastModified.IsZero()
}

// codings returns the content codings ce (a Content-Encoding) names,
// identity aside, in lower case and comma-separated: "" for an unencoded
// response.
func codings(ce []string) string {
	var b strings.Builder
	for e := range header.Elements(ce) {
		if header.EqualLower(e, "identity") {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strings.ToLower(e))
	}
	return b.String()
}

// notUpdated are the fields a 304 or HEAD response does not change in a
// stored response (RFC 9111 section 3.2): those never stored, the framing of
// the stored body (Content-Length, Content-Range, Content-Encoding), and
// Vary, by which the stored response was keyed.
var notUpdated = map[string]bool{
	"Content-Length": true, "Content-Range": true, "Content-Encoding": true, "Vary": true,
}

// codingBound are the fields whose values are computed from the bytes of
// one content coding of a representation: its digests (RFC 9530's
// Content-Digest and Repr-Digest, whose representation data is content
// coded; RFC 3230's Digest and Content-MD5 before them). A 304 or HEAD
// response answered for the identity representation carries the
// unencoded bytes' (nginx's 304 skips its gzip filter), which no stored
// gzip body matches.
var codingBound = map[string]bool{
	"Content-Digest": true, "Repr-Digest": true, "Digest": true, "Content-Md5": true,
}

// Freshen returns a copy of s with its header updated from h, the header of
// a 304 or HEAD response that Validates s (RFC 9111 sections 3.2, 4.3.4): a
// field of h replaces the stored one, except the hop-by-hop fields, those h
// names in Connection, Set-Cookie, Age, Server-Timing, skip (a canonical name; "" none)
// and the fields of notUpdated. The fields that vouch for the stored bytes
// are never raised by it: a strong ETag does not replace a weak stored one
// (a weak one may replace a strong one with the same opaque tag: s is then
// no longer rangeable), the Accept-Ranges of an encoded s is kept as
// stored, since with a strong ETag it would let ranges of bytes encoded on
// the fly be served (see rangeable), and the digests of codingBound are
// kept as stored unless h's Content-Encoding names the content codings of
// s (identity aside; none names none): a 304 without one that answers for
// a gzip s describes the identity's bytes as often as the gzip ones, and
// the stored digests, of the same representation, stay right. The body is
// shared with s. storedAt
// is the copy's StoredAt, from which its Age counts. The copy keeps
// s.TransferCoded() and s.Sniffed() unless h sets a Content-Type, s.OuterTyped(), sniffs no type where
// neither s nor h has one, and keeps s.Deleted() and
// s.OuterDirectives() less the fields h sets; a caller
// that knows which fields the handler deleted this time, or which the
// outer middleware set, replaces them with SetDeleted and
// SetOuterDirectives.
func (s *Snapshot) Freshen(h http.Header, skip string, storedAt time.Time) *Snapshot {
	merged := make(http.Header, len(s.Header)+len(h))
	for k, vs := range s.Header {
		merged[k] = vs
	}
	connection := h["Connection"]
	stored := codings(s.Header["Content-Encoding"])
	encoded := stored != ""
	recoded := codings(h["Content-Encoding"]) != stored
	retyped := false
	for k, vs := range h {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if len(vs) == 0 || hopByHop[ck] || notUpdated[ck] || ck == skip || header.HasToken(connection, strings.ToLower(ck)) {
			continue
		}
		switch {
		case ck == "Etag" && strings.HasPrefix(s.ETag, "W/") && !strings.HasPrefix(textproto.TrimString(vs[0]), "W/"):
			continue
		case ck == "Accept-Ranges" && encoded, codingBound[ck] && recoded:
			continue
		}
		merged[ck] = vs
		retyped = retyped || ck == "Content-Type"
	}
	// No type is sniffed for s that has none: an outer middleware's (see
	// Sent), or s was stored before types were; sniffed now, a hit would
	// send it over the outer middleware's.
	f := newSnapshot(s.Status, merged, s.Body, storedAt, true, Sent{Type: true})
	if s.TransferCoded() && !retyped {
		f.SetTransferCoded() // still the sniffed type
	} else if s.Sniffed() && !retyped {
		f.SetSniffed() // still not the handler's
	}
	if s.OuterTyped() {
		f.SetOuterTyped() // the stored response's, which h does not change
	}
	if s.rare != nil {
		// Less those h sets now.
		f.SetDeleted(s.rare.deleted)
		f.SetOuterDirectives(s.OuterDirectives())
	}
	return f
}

// ServeRange answers a GET or HEAD with a Range header from s, a stored full
// 200, as http.ServeContent does (which it calls): a single range is a 206
// with Content-Range, several are multipart/byteranges, an unsatisfiable
// one a 416, If-Range is honoured, and the request's preconditions are
// evaluated against the stored ETag and Last-Modified. The stored header
// is sent with Age and statusHeader as Serve sends them; nothing is sniffed.
// It reports false, having written nothing, when r has no Range, or one
// that is not a bytes range (another unit must be ignored, RFC 9110 section
// 14.2, which http.ServeContent would answer 416), or s is not a 200, or s
// is encoded and its ranges are not to be served (see rangeable), or r's
// If-Range is a date and s is encoded (see dateNamesOne).
func (s *Snapshot) ServeRange(w http.ResponseWriter, r *http.Request, now time.Time, statusHeader string, st CacheStatus) bool {
	if s.Status != http.StatusOK || len(r.Header["Range"]) == 0 || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	if !strings.HasPrefix(r.Header["Range"][0], "bytes=") || !s.rangeable() || !s.dateNamesOne(r.Header["If-Range"]) {
		return false
	}
	h := w.Header()
	for _, name := range s.Deleted() {
		delete(h, name)
	}
	// Only a Sniffed type is kept: a shared snapshot computes no ETag.
	kept := s.keptOuter(h, false)
	for _, f := range s.fields {
		h[f.name] = f.values
	}
	kept.restore(h)
	if s.TransferCoded() && !kept.typed && untypedOverHTTP1(w, r) {
		h["Content-Type"] = nil // as Serve sends it
	}
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil // present: ServeContent must not sniff one
	}
	delete(h, "Content-Length") // ServeContent sets the range's, where it can
	h["Age"] = AgeValues(boottime.Elapsed(s.StoredAt, now))
	if statusHeader != "" {
		h[statusHeader] = st.Values()
	}
	http.ServeContent(w, r, "", s.LastModified, bytes.NewReader(s.Body))
	return true
}

// dateNamesOne reports whether ifRange, a request's If-Range, may stand
// for s's own bytes: an entity-tag does (http.ServeContent compares it
// with s's ETag), and so does a date unless s is encoded. A pre-compressed
// file and its original share their Last-Modified, and so do the encodings
// a compressor makes on the fly: a date cannot tell the encoded bytes from
// the decoded content a client may hold (a browser keeps what it decoded;
// curl --compressed too), whose range of the encoded bytes would be
// appended to it. A range of an encoded response on a date gets the whole
// response instead, as from package compress. An unencoded one, the
// representation chosen for a client that accepts no encoding, keeps its
// range: a client holding decoded content needs exactly that.
func (s *Snapshot) dateNamesOne(ifRange []string) bool {
	if len(ifRange) == 0 {
		return true
	}
	v := strings.TrimSpace(ifRange[0])
	if strings.HasPrefix(v, `"`) || strings.HasPrefix(v, `W/"`) {
		return true
	}
	for e := range header.Elements(s.Header["Content-Encoding"]) {
		if !header.EqualLower(e, "identity") {
			return false
		}
	}
	return true
}

// rangeable reports whether the ranges of s may be served. Those of an
// unencoded response may. An encoded one (a Content-Encoding other than
// identity) is often encoded on the fly, as package compress does: its
// bytes differ from one run of the handler to the next, under a weak ETag
// that every encoding shares, or a Last-Modified of the unencoded content,
// and its origin drops Accept-Ranges and never answers a range itself. A
// range of it could only be appended to bytes of that same run, which the
// client cannot check: its ranges are served only when the origin said it
// serves them itself ("Accept-Ranges: bytes", a pre-compressed file's) and
// s has a strong validator (RFC 9110 section 8.8.1): a strong ETag, or,
// with no ETag, a Last-Modified at least 60 seconds before its Date, or
// before StoredAt when it has none (section 8.8.2.2). Otherwise the whole
// response is sent, as the origin would send it.
func (s *Snapshot) rangeable() bool {
	ce := s.Header["Content-Encoding"]
	if len(ce) == 0 {
		return true
	}
	encoded := false
	for e := range header.Elements(ce) {
		if !header.EqualLower(e, "identity") {
			encoded = true
			break
		}
	}
	if !encoded {
		return true
	}
	if !header.HasToken(s.Header["Accept-Ranges"], "bytes") {
		return false
	}
	if s.ETag != "" {
		return !strings.HasPrefix(s.ETag, "W/")
	}
	if s.LastModified.IsZero() {
		return false
	}
	date, ok := firstDate(s.Header["Date"])
	if !ok {
		date = s.StoredAt
	}
	return !s.LastModified.After(date.Add(-time.Minute))
}
