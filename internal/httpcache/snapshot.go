package httpcache

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
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
	// computed from the body for a 2xx response) and a Content-Length equal
	// to len(Body) where the status allows a body. Do not modify it.
	Header http.Header
	// Body is the stored body. Do not modify it.
	Body []byte
	// StoredAt is when the response was stored; Age counts from it.
	StoredAt time.Time
	// ETag is the entity tag served and compared, as sent (`"x"` or
	// `W/"x"`); "" when the response has none.
	ETag string
	// LastModified is the parsed Last-Modified header; zero when absent or
	// unparsable.
	LastModified time.Time
	// Deleted are the names of fields the handler deleted from those an
	// outer middleware had set before it ran (X-Frame-Options on an
	// embeddable page): Serve deletes them from the writer's header, where
	// the outer middleware sets them again on every request. Canonical,
	// tokens, sorted, none in Header; nil for nearly every response. Set it
	// with SetDeleted, before the snapshot is shared.
	Deleted []string

	fields      []field // Header in name order, written on a full response
	notModified []field // the subset written on a 304
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
// status allows a body, and computes a strong ETag from the body (the first
// 16 bytes of its SHA-256, base64url) for a 2xx response whose handler set
// none. It takes ownership of body: the caller must not modify it
// afterwards.
func NewSnapshot(status int, hdr http.Header, body []byte, storedAt time.Time) *Snapshot {
	return newSnapshot(status, hdr, body, storedAt, true)
}

// NewSharedSnapshot is NewSnapshot for a shared cache: it computes no ETag,
// so that the validators stored, and sent to revalidate, are the origin's
// own (a made-up If-None-Match would make an origin that validates by
// Last-Modified ignore If-Modified-Since).
func NewSharedSnapshot(status int, hdr http.Header, body []byte, storedAt time.Time) *Snapshot {
	return newSnapshot(status, hdr, body, storedAt, false)
}

func newSnapshot(status int, hdr http.Header, body []byte, storedAt time.Time, computeETag bool) *Snapshot {
	h := make(http.Header, len(hdr)+2)
	var connection []string
	odd := false
	for k, vs := range hdr {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if ck == "Connection" {
			connection = append(connection, vs...)
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
	} else {
		delete(h, "Content-Length")
		body = nil
	}
	if computeETag && len(h["Etag"]) == 0 && status >= 200 && status < 300 {
		h["Etag"] = []string{BodyETag(body)}
	}
	for k, vs := range h {
		h[k] = vs[:len(vs):len(vs)]
	}
	s := &Snapshot{Status: status, Header: h, Body: body, StoredAt: storedAt}
	s.prepare()
	return s
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

// SetDeleted sets s.Deleted from names, the fields a handler deleted (see
// Deleted): canonicalized, sorted, without duplicates, without a name that
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
	if len(del) == 0 {
		s.Deleted = nil
		return
	}
	slices.Sort(del)
	s.Deleted = del[:len(del):len(del)]
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
