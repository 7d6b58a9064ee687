package httpcache

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-caching/caching/internal/header"
)

// Snapshot is a stored response: what a hit replays. Build one with
// NewSnapshot or Decode; it is immutable afterwards and safe to serve from
// any number of goroutines at once. Its header value slices are shared with
// every response it serves, with cap == len so that a downstream append
// copies instead of writing into the stored entry; code that assigns into
// an element of a served header slice (h["X"][0] = ...) is not supported.
type Snapshot struct {
	// Status is the stored status code.
	Status int
	// Header is the stored header, keys canonical, without hop-by-hop
	// fields, Set-Cookie, Age or Server-Timing. It includes the ETag (the handler's, or one
	// computed from the body for a 2xx response), a Content-Length equal
	// to len(Body) where the status allows a body, and, where the handler
	// set no Content-Type, the one net/http sniffs from the body (see
	// sniffedType; none in a snapshot stored before it was added). Neither
	// is computed nor sniffed where the response was sent with an outer
	// middleware's (see Sent): a hit sends the one it sets. Neither is sent
	// by a hit whose writer's header has the field (see Sniffed and
	// Serve). Where
	// the handler set a nil-valued Content-Type (h["Content-Type"] = nil,
	// which has net/http send none and sniff none), and net/http would
	// otherwise sniff one, it keeps the key, nil-valued: a hit sends
	// no type either. So does NewSnapshot (not NewSharedSnapshot, nor
	// Freshen) of a Date the handler set to nil (h["Date"] = nil: net/http
	// then sends none): a hit sends none either, where a shared cache's
	// gets the Date net/http adds (a cache dates a response it stores
	// without one, RFC 9110 section 6.6.1). Those two are the only fields
	// without a value (format version 4, see Encode). Do not modify it.
	Header http.Header
	// Body is the stored body. Do not modify it.
	Body []byte
	// StoredAt is when the response was stored; Age counts from it, as
	// boottime.Elapsed counts (a suspend of the machine included).
	StoredAt time.Time
	// ETag is the entity tag served and compared, as sent (`"x"` or
	// `W/"x"`); "" when the response has none.
	ETag string
	// LastModified is the parsed Last-Modified header; zero when absent or
	// unparsable.
	LastModified time.Time

	// rare holds what nearly no snapshot has (see Deleted,
	// OuterDirectives and TransferCoded); nil for the others, so that a Snapshot keeps its
	// size class (what each hit from a remote store allocates).
	rare        *rareFields
	fields      []field // Header in name order, written on a full response
	notModified []field // the subset written on a 304
}

// rareFields is what a Snapshot records of the fields an outer middleware
// set before the handler ran, and of a Transfer-Encoding; immutable once the snapshot is shared, but
// for the outer directives of a snapshot Decode made, decoded on first use
// (see outerDirectives).
type rareFields struct {
	deleted []string
	// encodedOuter is, in a snapshot Decode made, its outer directives as
	// the entry holds them (a header section, checked by Decode); "" in
	// any other. A fresh hit never reads them: they are decoded into outer
	// and outerFields when first read, under once.
	encodedOuter string
	once         sync.Once
	outer        http.Header
	outerFields  []field // outer in name order, as Encode writes it
	// flags are the codec's: flagTransferCoded or flagSniffed (see
	// Snapshot.Sniffed and Snapshot.TransferCoded; 0 for neither), with
	// flagOuterTyped (see Snapshot.OuterTyped).
	flags uint8
}

// outerDirectives returns the outer directives and their fields in name
// order, decoding them first where Decode left them encoded. Safe for
// concurrent use.
func (r *rareFields) outerDirectives() (http.Header, []field) {
	if r.encodedOuter != "" {
		r.once.Do(r.decodeOuter)
	}
	return r.outer, r.outerFields
}

func (r *rareFields) decodeOuter() {
	h, err := decodeHeader(r.encodedOuter, false)
	if err != nil {
		panic("httpcache: outer directives that Decode accepted do not decode: " + err.Error())
	}
	r.outer, r.outerFields = h, sortedFields(h)
}

type field struct {
	name   string
	values []string
}

// hopByHop are the header fields that describe one connection, not the
// response, and are never stored (RFC 9110 section 7.6.1), with those the
// cache must not replay (Set-Cookie), sets itself (Age), or that describe
// how one response was made (Server-Timing: replayed, its metrics, which
// timing.Options.Expose may show to some clients only, would reach every
// client a hit is served to, and time nothing a hit does).
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true,
	"Proxy-Authenticate": true, "Proxy-Authorization": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Set-Cookie": true, "Age": true, "Server-Timing": true,
}

// NewSnapshot builds the Snapshot of a response. It copies hdr (keys
// canonicalized, the values of several spellings merged as
// header.Canonicalize does; hop-by-hop fields, fields named by Connection,
// Set-Cookie, Age and Server-Timing dropped; the fields and values net/http
// does not send as they are stored as it sends them: see sentValues, and a
// name that is not a token dropped), sets Content-Length to len(body) when the
// status allows a body, and the Content-Type net/http would sniff from it when
// hdr has none (sniffedType; a nil-valued one where hdr has a nil-valued
// Content-Type: see Header; with TransferCoded where hdr has a
// Transfer-Encoding), keeps a nil-valued Date (see Header), and computes a strong ETag from the body (the first
// 16 bytes of its SHA-256, base64url) for a 2xx response whose handler set
// none. It takes ownership of body: the caller must not modify it
// afterwards.
func NewSnapshot(status int, hdr http.Header, body []byte, storedAt time.Time) *Snapshot {
	return newSnapshot(status, hdr, body, storedAt, false, Sent{})
}

// NewSharedSnapshot is NewSnapshot for a shared cache: it computes no ETag,
// so that the validators stored, and sent to revalidate, are the origin's
// own (a made-up If-None-Match would make an origin that validates by
// Last-Modified ignore If-Modified-Since), and keeps no nil-valued Date
// (see Header).
func NewSharedSnapshot(status int, hdr http.Header, body []byte, storedAt time.Time) *Snapshot {
	return newSnapshot(status, hdr, body, storedAt, true, Sent{})
}

// Sent names the fields that NewSnapshot fills in where hdr has none (a
// sniffed Content-Type, a computed ETag) that the response had as its
// client got it: an outer middleware set them before the handler ran and
// the handler left them, so they are left out of hdr (they are not the
// handler's: a hit sends what the outer middleware sets on its own
// request). Nothing is stored in their place: a hit writes the stored
// fields over the outer middleware's, and would send a type or tag the
// miss did not (a sniffed text/html over its text/plain).
type Sent struct {
	Type bool // a Content-Type: none is sniffed
	ETag bool // an ETag: none is computed
}

// NewSnapshotSent is NewSnapshot (NewSharedSnapshot where shared), less the
// fields sent says the response was sent with.
func NewSnapshotSent(status int, hdr http.Header, body []byte, storedAt time.Time, shared bool, sent Sent) *Snapshot {
	return newSnapshot(status, hdr, body, storedAt, shared, sent)
}

// newSnapshot is NewSnapshotSent: a shared snapshot computes no ETag, and
// keeps no nil-valued Date (see Header).
func newSnapshot(status int, hdr http.Header, body []byte, storedAt time.Time, shared bool, sent Sent) *Snapshot {
	h := make(http.Header, len(hdr)+2)
	var connection []string
	odd, untyped, undated, sniffed := false, false, false, false
	for k, vs := range hdr {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if ck == "Connection" {
			connection = append(connection, vs...)
		}
		if k == "Content-Type" && len(vs) == 0 {
			untyped = true // net/http sends none, and sniffs none (it reads this key only)
		}
		if k == "Date" && len(vs) == 0 && !shared {
			undated = true // net/http sends none (it reads this key only)
		}
		if len(vs) == 0 || hopByHop[ck] || k == "" || !validName(k) {
			continue // never sent (net/http drops a name that is not a token)
		}
		if vs = sentValues(vs); len(vs) > 0 {
			h[k] = vs
			odd = odd || ck != k
		}
	}
	if odd {
		header.Canonicalize(h)
	}
	for e := range header.Elements(connection) {
		delete(h, textproto.CanonicalMIMEHeaderKey(e))
	}
	if bodyAllowed(status) {
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
		if ct := sniffedType(h, body); ct != "" {
			if untyped {
				h["Content-Type"] = nil // see Header
			} else if !sent.Type {
				h["Content-Type"] = []string{ct}
				sniffed = true
			}
		}
	} else {
		delete(h, "Content-Length")
		body = nil
	}
	if undated && len(h["Date"]) == 0 {
		h["Date"] = nil // see Header
	}
	if !shared && !sent.ETag && len(h["Etag"]) == 0 && status >= 200 && status < 300 {
		h["Etag"] = []string{BodyETag(body)}
	}
	for k, vs := range h {
		h[k] = vs[:len(vs):len(vs)]
	}
	s := &Snapshot{Status: status, Header: h, Body: body, StoredAt: storedAt}
	if sniffed {
		s.rare = &rareFields{flags: flagSniffed} // see Sniffed
		if transferCoded(hdr) {
			s.rare.flags = flagTransferCoded // see TransferCoded
		}
	}
	s.prepare()
	return s
}

// transferCoded reports whether h has a Transfer-Encoding as net/http's
// HTTP/1.x server reads it before it sniffs a Content-Type (its first
// value, not blank, under the canonical key): it then sniffs none. (Its
// HTTP/2 server ignores the field and sniffs one.)
func transferCoded(h http.Header) bool {
	te := h["Transfer-Encoding"]
	return len(te) > 0 && te[0] != ""
}

// TransferCoded reports whether the stored Content-Type is one net/http
// sniffed for a handler that set a Transfer-Encoding and no Content-Type:
// its HTTP/2 server sends it (it ignores the field), and so does a
// middleware that sniffs a type itself (package compress), but its
// HTTP/1.x server sniffs none, and sent none. Serve and ServeRange send
// none where net/http's HTTP/1.x server is the writer (see
// untypedOverHTTP1); every other writer gets the type, as the miss did.
// The field itself is hop-by-hop, never stored. Such a type is Sniffed.
func (s *Snapshot) TransferCoded() bool {
	return s.rare != nil && s.rare.flags&^flagOuterTyped == flagTransferCoded
}

// Sniffed reports whether the stored Content-Type (with a value, or
// nil-valued: none) is not the handler's but the one net/http chose for a
// handler that set none: sniffed from the body (NewSnapshot), or recorded
// at its first flush (see SetSniffed). net/http sniffs a type only where
// the header has no Content-Type key, and an outer middleware may set one
// before the handler runs for some requests and not for others that share
// the entry (on an input the key leaves out): Serve and ServeRange send
// such a type only where the writer's header has no Content-Type, and
// leave the one there as it is, as the miss would have. Snapshots stored
// before the mark was added read as not sniffed: OtherTypeForm has a
// writer with a type answered by the handler, not by such a snapshot.
func (s *Snapshot) Sniffed() bool { return s.rare != nil && s.rare.flags&^flagOuterTyped != 0 }

// OuterTyped reports whether the writer of the request whose response s
// stores had a Content-Type (with a value, or nil-valued) before the
// handler ran: an outer middleware's (see SetOuterTyped). A handler may
// answer otherwise where it has one: http.ServeContent (and FileServer,
// ServeFile) and package compress set the type they find only where the
// header has none, and the key may not tell the two apart where an outer
// middleware sets a type for some requests only (the caching package keys
// the form since 5552e3f; an entry stored before it does not). See
// OtherTypeForm.
// Snapshots stored before it was recorded read as not OuterTyped.
func (s *Snapshot) OuterTyped() bool { return s.rare != nil && s.rare.flags&flagOuterTyped != 0 }

// SetOuterTyped records that the storing request's writer had a
// Content-Type before the handler ran (see OuterTyped). Call it before s
// is shared.
func (s *Snapshot) SetOuterTyped() {
	s.setRare(s.Deleted(), s.OuterDirectives(), s.flags()|flagOuterTyped)
}

// OtherTypeForm reports whether h, the header of a hit's writer before the
// stored fields are written, differs from the storing request's writer in
// whether it has a Content-Type in a way that may change the handler's
// response (see OuterTyped): the stored type is one the handler set (not
// Sniffed) where the storing request's writer had none and h has one (the
// handler may have set it only because there was none: it would have left
// h's), or the entry has no type, the storing request's writer having had
// one, and h has none (the handler would have set its own). The caller
// runs the handler instead of serving s. Other differences are answered
// from s: a Sniffed type stands only where h has none (see Serve); a type
// the handler set over the outer one is sent either way. A snapshot stored
// before OuterTyped was recorded reads as stored without an outer type:
// one with a type the handler set is not served where h has one. It costs
// a hit whose writer's header has no field nothing but a field read, and
// allocates nothing. A cache that keys the writer's form (the caching
// package's views do) reaches a snapshot of the other form only where it
// was stored before the form was keyed: an older release's entry of a
// request with a type, under the key of the requests without one.
func (s *Snapshot) OtherTypeForm(h http.Header) bool {
	var flags uint8
	if s.rare != nil {
		flags = s.rare.flags
	}
	if len(h) == 0 {
		if flags&flagOuterTyped == 0 {
			return false
		}
		_, stored := s.Header["Content-Type"]
		return !stored
	}
	_, typed := h["Content-Type"]
	_, stored := s.Header["Content-Type"]
	if typed {
		return flags == 0 && stored
	}
	return flags&flagOuterTyped != 0 && !stored
}

// SetSniffed records that the stored Content-Type (with a value, or
// nil-valued) is the one net/http chose, not the handler's (see Sniffed):
// NewSnapshot does for the type it sniffs; the Recorder's first flush
// records one that NewSnapshot takes for the handler's (see
// Recorder.TypeAtFlush). It does nothing to a snapshot without a
// Content-Type key, or already marked. Call it before s is shared.
func (s *Snapshot) SetSniffed() {
	if _, typed := s.Header["Content-Type"]; typed && !s.Sniffed() {
		s.setRare(s.Deleted(), s.OuterDirectives(), s.flags()&flagOuterTyped|flagSniffed)
	}
}

// SetTransferCoded records that the stored Content-Type is one net/http
// sniffed for a handler that set a Transfer-Encoding (see TransferCoded):
// NewSnapshot does for the type it sniffs; the Recorder's first flush
// records one that NewSnapshot takes for the handler's (see
// Recorder.TypeAtFlush). It does nothing to a snapshot whose Content-Type
// has no value. Call it before s is shared. It marks the type Sniffed too.
func (s *Snapshot) SetTransferCoded() {
	if len(s.Header["Content-Type"]) > 0 {
		s.setRare(s.Deleted(), s.OuterDirectives(), s.flags()&flagOuterTyped|flagTransferCoded)
	}
}

// flags returns the codec's flags of s (see rareFields.flags).
func (s *Snapshot) flags() uint8 {
	if s.rare == nil {
		return 0
	}
	return s.rare.flags
}

// sniffedType returns the Content-Type net/http sends with body, as the
// response with header h, when h has none: sniffed from the body's first
// 512 bytes (http.DetectContentType), unless the body is empty or h has a
// Content-Encoding (net/http's rule, for a status that allows a body).
// Stored, it is sent by every hit, a HEAD's included, whose body net/http
// does not see, and by a range of it (ServeRange sniffs nothing); "" when
// net/http sniffs nothing, or h has a Content-Type.
func sniffedType(h http.Header, body []byte) string {
	if _, ok := h["Content-Type"]; ok || len(body) == 0 || encoded(h) {
		return ""
	}
	return http.DetectContentType(body)
}

// encoded reports whether h has a Content-Encoding, as net/http reads it
// before it sniffs a Content-Type (its first value, not blank).
func encoded(h http.Header) bool {
	ce := h["Content-Encoding"]
	return len(ce) > 0 && ce[0] != ""
}

// sentValues returns a copy of vs as net/http sends it, which the codec
// can store: a value holding CR or LF has them replaced with spaces and is
// trimmed (HTTP/1.1's writer; HTTP/2's omits it), one holding NUL is
// omitted (HTTP/2's writer; an HTTP/1.1 client refuses a response with
// it). Stored raw, they made every remote lookup refuse the entry as
// corrupt. Values without them, nearly all, are copied as they are.
func sentValues(vs []string) []string {
	out := slices.Clone(vs)
	n := 0
	for _, v := range out {
		if !validValue(v) {
			if strings.IndexByte(v, 0) >= 0 {
				continue
			}
			v = textproto.TrimString(newlineToSpace.Replace(v))
		}
		out[n] = v
		n++
	}
	return out[:n]
}

// newlineToSpace is net/http's replacement of CR and LF in the header
// values it writes.
var newlineToSpace = strings.NewReplacer("\n", " ", "\r", " ")

// Deleted returns the names of the fields the handler deleted from those
// an outer middleware had set before it ran (X-Frame-Options on an
// embeddable page): Serve deletes them from the writer's header, where the
// outer middleware sets them again on every request. Canonical, tokens,
// sorted, none in Header; nil for nearly every response. Set them with
// SetDeleted, before the snapshot is shared. Do not modify the slice.
func (s *Snapshot) Deleted() []string {
	if s.rare == nil {
		return nil
	}
	return s.rare.deleted
}

// OuterDirectives returns the fields among those a shared cache judges a
// response by (Cache-Control, Expires, a targeted field such as
// CDN-Cache-Control) that an outer middleware set before the handler ran
// and the handler left as they were: they took part in judging the
// response (its freshness, its stale windows, whether it may be served
// stale or to a request with Authorization), but are not stored in Header,
// so that a hit sends what the outer middleware sets on its own request.
// JudgedHeader adds them back. Canonical keys, none of them in Header; nil
// for nearly every response. Set them with SetOuterDirectives, before the
// snapshot is shared. Do not modify the header. A snapshot Decode made
// decodes them on the first call (of this method, JudgedHeader or Encode),
// once: safe for concurrent use, as every method of a shared snapshot is.
func (s *Snapshot) OuterDirectives() http.Header {
	if s.rare == nil {
		return nil
	}
	outer, _ := s.rare.outerDirectives()
	return outer
}

// JudgedHeader returns the header the stored response was judged by: Header
// with the fields of OuterDirectives. It is Header itself for a snapshot
// without them (nearly all), else a new header sharing Header's values. Do
// not modify it.
func (s *Snapshot) JudgedHeader() http.Header {
	outer := s.OuterDirectives()
	if len(outer) == 0 {
		return s.Header
	}
	h := make(http.Header, len(s.Header)+len(outer))
	for k, vs := range s.Header {
		h[k] = vs
	}
	for k, vs := range outer {
		h[k] = vs
	}
	return h
}

// SetDeleted sets what Deleted returns from names, the fields a handler
// deleted: canonicalized, sorted, without duplicates, without a name that
// is not a token (net/http never sends it) or that s stores (NewSnapshot
// sets Content-Length and may compute an ETag). Call it before s is shared.
func (s *Snapshot) SetDeleted(names []string) {
	var del []string
	for _, n := range names {
		n = textproto.CanonicalMIMEHeaderKey(n)
		if n == "" || !validName(n) || len(s.Header[n]) > 0 || slices.Contains(del, n) {
			continue
		}
		del = append(del, n)
	}
	if len(del) > 0 {
		slices.Sort(del)
		del = del[:len(del):len(del)]
	}
	s.setRare(del, s.OuterDirectives(), s.flags())
}

// SetOuterDirectives sets what OuterDirectives returns from h: its fields
// with canonical keys, as NewSnapshot stores them (see sentValues), less
// those s stores in Header (a nil-valued Content-Type or Date included),
// those with no value and those whose name is not a token. Call it before
// s is shared.
func (s *Snapshot) SetOuterDirectives(h http.Header) {
	var outer http.Header
	for k, vs := range h {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if _, stored := s.Header[ck]; ck == "" || !validName(ck) || stored {
			continue
		}
		if vs = sentValues(vs); len(vs) == 0 {
			continue
		}
		if outer == nil {
			outer = make(http.Header, len(h))
		}
		outer[ck] = append(slices.Clip(outer[ck]), vs...)
	}
	for k, vs := range outer {
		outer[k] = vs[:len(vs):len(vs)]
	}
	s.setRare(s.Deleted(), outer, s.flags())
}

// setRare sets s.rare, nil when all three are empty. A new rareFields each
// time: the one s had may be shared with the snapshot s was copied from.
func (s *Snapshot) setRare(deleted []string, outer http.Header, flags uint8) {
	if len(deleted) == 0 && len(outer) == 0 && flags == 0 {
		s.rare = nil
		return
	}
	if len(deleted) == 0 {
		deleted = nil
	}
	if len(outer) == 0 {
		outer = nil
	}
	s.rare = &rareFields{deleted: deleted, outer: outer, outerFields: sortedFields(outer), flags: flags}
}

// sortedFields returns the fields of h in name order; nil when it has
// none.
func sortedFields(h http.Header) []field {
	if len(h) == 0 {
		return nil
	}
	out := make([]field, 0, len(h))
	for k, vs := range h {
		out = append(out, field{k, vs})
	}
	slices.SortFunc(out, func(a, b field) int { return strings.Compare(a.name, b.name) })
	return out
}

// computedETag reports whether s.ETag has the form of one BodyETag
// returns: a quoted string of 22 base64url characters. NewSnapshot computes
// such a tag only where the handler set none, and a handler's own tag of
// that form (a 128-bit digest, base64url) is nearly unheard of: Serve takes
// it for computed without hashing the body, which it would on every such
// hit. (Where it is the handler's, the one thing that changes is that a
// hit whose writer's header has an ETag, an outer middleware's, keeps it.)
func (s *Snapshot) computedETag() bool {
	t := s.ETag
	if len(t) != 24 || t[0] != '"' || t[23] != '"' {
		return false
	}
	for i := 1; i < 23; i++ {
		if c := t[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// BodyETag returns the strong ETag NewSnapshot computes for a body.
func BodyETag(body []byte) string {
	sum := sha256.Sum256(body)
	var buf [2 + 22]byte
	buf[0] = '"'
	base64.RawURLEncoding.Encode(buf[1:23], sum[:16])
	buf[23] = '"'
	return string(buf[:])
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// notModifiedFields are the stored fields a 304 repeats (RFC 9110 section
// 15.4.5); Last-Modified only when there is no ETag, as http.ServeContent.
var notModifiedFields = map[string]bool{
	"Cache-Control": true, "Content-Location": true, "Date": true,
	"Etag": true, "Expires": true, "Vary": true,
}

// etagOpaque returns the ETag without its W/ prefix, no copy. (Not a field:
// a Snapshot's size class is what each hit from a remote store allocates.)
func (s *Snapshot) etagOpaque() string { return strings.TrimPrefix(s.ETag, "W/") }

// prepare derives everything a hit needs from Header, once.
func (s *Snapshot) prepare() {
	names := make([]string, 0, len(s.Header))
	for k := range s.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	s.fields = make([]field, len(names))
	s.notModified = s.notModified[:0]
	for i, k := range names {
		s.fields[i] = field{k, s.Header[k]}
	}
	if vs := s.Header["Etag"]; len(vs) > 0 {
		// Trimmed as net/http sends it, and as clients send it back.
		s.ETag = textproto.TrimString(vs[0])
	}
	if vs := s.Header["Last-Modified"]; len(vs) > 0 {
		if t, err := http.ParseTime(textproto.TrimString(vs[0])); err == nil {
			s.LastModified = t
		}
	}
	for _, f := range s.fields {
		if notModifiedFields[f.name] || (f.name == "Last-Modified" && s.ETag == "") {
			s.notModified = append(s.notModified, f)
		}
	}
}
