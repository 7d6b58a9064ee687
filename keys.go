package caching

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"net/http"
	"net/url"
	"path"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/go-caching/caching/internal/argkey"
)

// Every key the library writes to a backend is built in this file. A
// backend key is the Cache's KeyPrefix, a one-letter kind and a slash, then
// the rest:
//
//	k/<key>                                a key of the direct API (Get, Set, GetAs, ...)
//	t/<tag>                                the current version of a tag
//	p/<path>                               the current version of a path (InvalidatePath)
//	h/<host>#<path>                        its version on one host (Options.HostScopedWrites)
//	v/<view key>                           a response of a view, or its record of Vary names
//	v/<view key>#t=1                       the same, for a request whose writer had a Content-Type
//	v/<view key>#vary:<variant>            one Vary variant of a response (fields of content negotiation)
//	v/<view key>#vary:#<SHA-256>           one of any other fields (Cookie, Authorization: see variantNames.key;
//	                                       an HMAC-SHA-256 with Options.VariantKeySecret)
//	m/<name>/<version>/<shape>/<argument>  a result of a memoized function (shape: resultShape)
//	g/<name>                               the generation of a memoized function (ForgetAll)
//	l/<kind>/<rest>                        the lease of a view's or memoized call's key (Lease)
//
// so that no key of one kind can collide with a key of another. Keys of the
// kinds t, p, h, v and m, which hold what requests and arguments send, are
// shortened when longer than maxReadableKey by keeping a readable head and
// appending '#' and the SHA-256 of the whole key, never by truncation. The
// hash of a known long key is computable by anyone, so no key kept as it is
// has the shape of a shortened one: a short key that has it is shortened too
// (t, p, h: see shortenKey), or cannot have it (v: the shortened form is
// marked; m: a key ends in '/' and its argument's base64, neither of which
// a hash or its '#' holds).
const (
	kindKey  = "k/"
	kindTag  = "t/"
	kindPath = "p/"
	kindView = "v/"
	kindMemo = "m/"
	kindGen  = "g/"
	kindHost = "h/"

	// maxReadableKey is the longest rest of a key kept as it is.
	maxReadableKey = 200
	// hashedHead is how much of a long key stays readable.
	hashedHead = 64
)

// userKey is the backend key of key in the direct API.
func (c *Cache) userKey(key string) string { return c.prefix + kindKey + key }

// tagKey is the backend key holding the version of tag, shortened as a
// path's is: a tag may be made of what a client sent (ArgTags), and its key
// is written to the backend and into every entry written under it. Every
// key of a tag (written, read, recorded in an entry, invalidated) is built
// here.
func (c *Cache) tagKey(tag string) string { return c.prefix + kindTag + shortenKey(tag) }

// tagKeys returns the backend keys of tags, deduplicated and sorted, so that
// the same set of tags always gives the same keys in the same order.
func (c *Cache) tagKeys(tags []string) []string {
	if len(tags) == 0 {
		return nil
	}
	keys := make([]string, 0, len(tags))
	for _, t := range tags {
		keys = append(keys, c.tagKey(t))
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// pathTagKey is the backend key holding the version of a path's responses,
// which every view entry built from the path records (InvalidatePath).
func (c *Cache) pathTagKey(path string) string { return c.prefix + kindPath + shortenKey(path) }

// hostPathTagKey is the backend key holding the version of a path's
// responses on one origin host (see originHost), which writes bump under
// Options.HostScopedWrites; host "" is that of the views that ignore the
// host, which every write bumps. The host is escaped as in a view's key,
// so that no host can spell another's key with a '#'.
func (c *Cache) hostPathTagKey(host, path string) string {
	n := len(c.prefix) + len(kindHost)
	kb := make([]byte, 0, n+len(host)+1+len(path))
	kb = append(append(kb, c.prefix...), kindHost...)
	kb = append(append(appendKeyPart(kb, host), '#'), path...)
	if rest := kb[n:]; len(rest) > maxReadableKey || looksShortened(rest) && !ownSeparator(rest, len(rest)-len(path)-1) {
		return c.prefix + kindHost + shortenKey(string(rest))
	}
	return string(kb)
}

// ownSeparator reports whether the '#' that gives the host key rest the
// shape of a shortened key is its own separator, at sep, after a host too
// short to be a shortened key's head (at least hashedHead-3 bytes, cut at
// a rune boundary, and with no '#' when it is that long): the key of a
// path of 43 base64 bytes (a content-addressed name under
// http.StripPrefix) is then kept as it is, since no long key shortens to
// it.
func ownSeparator(rest []byte, sep int) bool {
	return len(rest)-hashLen-1 == sep && sep < hashedHead-3
}

// originHost is the host of r as RFC 9111 compares origins, the scheme
// left out (see hostPort): behind a proxy that terminates TLS the handler
// sees plain HTTP, and a write there must reach the entries its https
// reads made, whether their clients spelled the port 443 or not, or the
// host fully qualified (a trailing dot) or not.
func originHost(r *http.Request) string {
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	return hostPort(host)
}

// genKey is the backend key holding the generation of the memoized
// function name: a version checked like a tag's, bumped by ForgetAll.
func (c *Cache) genKey(name string) string { return c.prefix + kindGen + name }

// kindLease is the kind of the lease keys.
const kindLease = "l/"

// leaseKey is the backend key of the lease of key, a key of a view or a
// memoized call (see lease.go): the kind l/ in front of the key's own kind
// and rest, so that the lease of a key never collides with a key.
func (c *Cache) leaseKey(key string) string {
	return c.prefix + kindLease + key[len(c.prefix):]
}

// memoKeyHead is the start of every key of a memoized function whose
// result type is result: its name, its Version and resultShape's hash of
// result.
func (c *Cache) memoKeyHead(name, version string, result reflect.Type) string {
	return c.prefix + kindMemo + name + "/" + version + "/" + resultShape(result) + "/"
}

// resultShape is a hash of the structure of a memoized function's result
// type (argkey.Shape), 64 bits of SHA-256 in base64url: key-safe and
// short. A release whose result type changed (a field renamed, retyped or
// retagged) without a new Version then misses the entries of the release
// before, which the codec would decode without an error into a value with
// zero fields (JSON ignores the fields it does not know), rather than
// serve them. It depends on the type's declaration only, so that every
// process and every build of the same source shares the entries.
func resultShape(t reflect.Type) string {
	sum := sha256.Sum256([]byte(argkey.Shape(t)))
	return base64.RawURLEncoding.EncodeToString(sum[:8])
}

// appendMemoKey appends the backend key of one call of a memoized function
// to dst: head (its memoKeyHead) and the encoding of its argument, in
// base64 so that the key is printable and safe for every backend. It
// allocates only when dst has no room, or for a key to shorten.
func (c *Cache) appendMemoKey(dst []byte, head string, arg []byte) []byte {
	enc := base64.RawURLEncoding
	start := len(dst) + len(c.prefix) + len(kindMemo)
	dst = append(dst, head...)
	n := enc.EncodedLen(len(arg))
	dst = slices.Grow(dst, n)[:len(dst)+n]
	enc.Encode(dst[len(dst)-n:], arg)
	if len(dst)-start > maxReadableKey {
		return append(dst[:start], shortenKey(string(dst[start:]))...)
	}
	return dst
}

// viewKey returns the backend key of r's entry in view v (or of its Vary
// record): the Cache's prefix and the view kind; the scheme and host of the
// request unless the view ignores hosts; then the view's KeyFormat with the
// path (or what its KeyFunc returns), the canonical query string and, when
// a middleware rewrote the path (http.StripPrefix), "#o=" and the path the
// client sent (see requestPath); then the view's Version and the user,
// escaped so that no value can pass for another part; then, when typed,
// "#t=1" (see appendViewKey).
func (v *view) viewKey(r *http.Request, user string, typed bool) string {
	var kb [keyBufLen]byte
	return string(v.appendViewKey(kb[:0], r, user, typed))
}

// keyBufLen is the size of the stack buffers keys are built in: most fit.
const keyBufLen = 256

// appendViewKey appends viewKey's key to dst. It allocates only when dst
// has no room, for a query string that is not canonical already, or for a
// key to shorten.
//
// typed is the request's type form: whether the writer the view got had a
// Content-Type key in its header (set, even nil, by a middleware outside
// the view). The two forms of a request are answered differently by a
// handler that sets its type only where the writer has none
// (httpcache.Snapshot.OtherTypeForm), so each has an entry, a flight and a
// lease of its own: a request of the rare form no longer leaves the other
// form's requests uncached. A typed key ends in "#t=1", before shortening,
// which no other part can spell: every other part is escaped to hold no
// '#', and "t" names no other part. An untyped key is the key of the
// releases before the form was keyed, byte for byte, so their entries keep
// hitting (an older entry of the typed form under it is still told by
// OtherTypeForm).
func (v *view) appendViewKey(dst []byte, r *http.Request, user string, typed bool) []byte {
	dst = append(dst, v.c.prefix...)
	dst = append(dst, kindView...)
	start := len(dst)
	if !v.cfg.ignoreHost {
		dst = appendAuthority(dst, r)
		dst = append(dst, '#')
	}
	switch {
	case v.keyFunc != nil:
		// Escaped: what a KeyFunc returns often holds what the client sent
		// (a query parameter), which must not be able to spell "#u=alice".
		// Marked "#k=": no format part starts with '#' (KeyFormat and the
		// path are escaped or hold none), so that no KeyFunc result can
		// spell another view's key ("view//account").
		dst = appendKeyPart(append(dst, "#k="...), v.keyFunc(r))
	default:
		dst = append(dst, v.formatHead...)
		var sent string  // the path the client sent, when a middleware rewrote it
		var rawPath bool // r.URL.RawPath is not the escaped path, and keyed
		if v.formatHasPath {
			at := len(dst)
			dst, rawPath = appendEscapedPath(dst, r.URL)
			// Compared as bytes, without a conversion: no allocation. The
			// common target, the escaped path and the query as they are,
			// is told at once.
			if !sentAsIs(r.RequestURI, dst[at:]) {
				if raw := requestPath(r); raw != "" && string(dst[at:]) != raw {
					if _, rewritten := rewrittenFrom(r, raw); rewritten {
						sent = raw
					}
				}
			}
			dst = append(dst, v.formatTail...)
		}
		if !v.cfg.pathOnly && r.URL.RawQuery != "" {
			if q := v.canonicalQuery(r.URL.RawQuery); q != "" {
				dst = append(dst, '?')
				dst = append(dst, q...)
			}
		}
		if rawPath {
			// Escaped: it holds what the client sent. A router that routes
			// by RawPath (chi) may send "/files/x|y%2Fz" to another route
			// than "/files/x%7Cy/z", whose escaped path it shares.
			dst = appendKeyPart(append(dst, "#r="...), r.URL.RawPath)
		}
		if sent != "" {
			// Escaped: the path holds what the client sent.
			dst = appendKeyPart(append(dst, "#o="...), sent)
		}
	}
	if v.cfg.version != "" {
		dst = appendKeyPart(append(dst, "#v="...), v.cfg.version)
	}
	if user != "" {
		dst = appendKeyPart(append(dst, "#u="...), user)
	}
	if typed {
		dst = append(dst, typedKeyPart...)
	}
	if len(dst)-start > maxReadableKey {
		// Marked with a leading '#': a key kept as it is starts with the
		// scheme or with a part escaped to hold no '#', or with a named
		// part (a KeyFunc's "#k=", or, when the format part is empty,
		// "#v=", "#u=", "#o=", "#r=", "#t="), and so ends
		// in one, whose '=' no hash holds. A short key, spelled by a
		// client, cannot be a long one's shortened form.
		short := shortenKey(string(dst[start:]))
		return append(append(dst[:start], '#'), short...)
	}
	return dst
}

// typedKeyPart ends the key of a request of the typed form (appendViewKey).
const typedKeyPart = "#t=1"

// sentAsIs reports whether the request target uri is the escaped path
// esc, alone or before a query: the client's path, unchanged.
func sentAsIs(uri string, esc []byte) bool {
	return len(uri) >= len(esc) && uri[:len(esc)] == string(esc) && (len(uri) == len(esc) || uri[len(esc)] == '?')
}

// requestPath returns the path of r's request target as its client sent
// it, escaped, from r.RequestURI: "/p" of "/p?q" and of the absolute form
// "http://h/p?q", or "*". It returns "" for a request no server received
// (no RequestURI) and for a target without a path (CONNECT's authority).
func requestPath(r *http.Request) string {
	uri := r.RequestURI
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	if uri == "" || uri[0] == '/' || uri == "*" {
		return uri
	}
	if _, rest, ok := strings.Cut(uri, "://"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			return rest[i:]
		}
	}
	return ""
}

// rewrittenFrom reports whether raw (r's requestPath, not "") names
// another path than r.URL.Path: a middleware (http.StripPrefix) rewrote
// the path the client sent. Two views mounted under /v1/ and /v2/ both see
// "/users": their keys and path versions must tell them apart by the path
// the client sent, which it returns decoded as net/http decodes URL.Path.
// It allocates only for a path rewritten, with an escape.
func rewrittenFrom(r *http.Request, raw string) (string, bool) {
	if decodesTo(raw, r.URL.Path) {
		return "", false
	}
	p, err := url.PathUnescape(raw)
	if err != nil {
		p = raw // no server sends it on: another middleware's making
	}
	return p, p != r.URL.Path
}

// decodesTo reports whether url.PathUnescape(raw) is path, without
// decoding raw into a new string.
func decodesTo(raw, path string) bool {
	j := 0
	for i := 0; i < len(raw); i, j = i+1, j+1 {
		c := raw[i]
		if c == '%' {
			if i+2 >= len(raw) || hexVal(raw[i+1]) < 0 || hexVal(raw[i+2]) < 0 {
				return false
			}
			c = byte(hexVal(raw[i+1])<<4 | hexVal(raw[i+2]))
			i += 2
		}
		if j >= len(path) || path[j] != c {
			return false
		}
	}
	return j == len(path)
}

// hexVal is the value of the hexadecimal digit c, or -1.
func hexVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// appendAuthority appends the scheme and host of r: "https://" when r came
// over TLS, else "http://", then the Host as the request has it, byte for
// byte, with '#' and '%' escaped. It is not normalized (RFC 9111's cache
// key would lower-case it and drop a default port): http.ServeMux matches
// hosts case-sensitively, and a handler may read r.Host, so "SHOP.EXAMPLE"
// may well be answered by another route than "shop.example" and must not
// share its entries.
//
// A scheme in r.URL that is not the connection's is kept too (see
// appendScheme): a proxy-headers middleware (gorilla/handlers.ProxyHeaders)
// sets it from X-Forwarded-Proto behind a proxy that terminates TLS, and a
// handler that builds links from it makes another page for each.
func appendAuthority(dst []byte, r *http.Request) []byte {
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	if s := r.URL.Scheme; s != "" && s != scheme[:len(scheme)-len("://")] {
		dst = append(appendScheme(dst, s), '+')
	}
	dst = append(dst, scheme...)
	return appendKeyPart(dst, host)
}

// appendScheme appends the scheme s a middleware set in a request's URL,
// with every byte that a scheme may not hold (RFC 3986 section 3.1: a
// letter, then letters, digits, '+', '-' and '.') percent-encoded. Before
// '+' and the connection's scheme, it spells the key "https+http://host"
// (https over a plain connection): no key of a request without a URL
// scheme starts so, and no scheme can spell the "://" that ends it, nor so
// pass for another.
//
// The connection's scheme stays in the key, so that a URL scheme does not
// pass for it: a client may send its request target in absolute form
// ("GET https://shop.example/ HTTP/1.1", RFC 9112 section 3.2.2) over a
// plain connection, and net/http sets r.URL.Scheme from it; keyed by that
// alone, its response (made by a handler that reads r.TLS) would be stored
// for the https clients.
func appendScheme(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.' {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		}
	}
	return dst
}

// appendEscapedPath appends u.EscapedPath(), without its cost for the
// common path that has no RawPath and nothing to escape, and reports
// whether u.RawPath is set and is not that escaped path: a spelling
// net/http keeps as the client sent it although it is not a valid
// encoding of u.Path ("/files/x|y%2Fz", a '|' left raw, for the Path
// "/files/x|y/z"). EscapedPath ignores such a RawPath and escapes Path
// ("/files/x%7Cy/z"), but a router that routes by RawPath (chi) reads it
// ("%2F" is no separator there): the key must then hold it too, or the
// two URLs, sent to two routes, would share their entries. It allocates
// only as EscapedPath does (a RawPath set, or a byte to escape).
func appendEscapedPath(dst []byte, u *url.URL) ([]byte, bool) {
	if u.RawPath == "" {
		if pathAsIs(u.Path) {
			return append(dst, u.Path...), false
		}
		return append(dst, u.EscapedPath()...), false
	}
	esc := u.EscapedPath()
	return append(dst, esc...), esc != u.RawPath
}

// pathAsIs reports whether every byte of p is one that url.URL.EscapedPath
// leaves as it is: unreserved, or reserved but allowed in a path segment.
// ("*" alone is not: EscapedPath has a case of its own for it.)
func pathAsIs(p string) bool {
	for i := 0; i < len(p); i++ {
		if !pathByteAsIs[p[i]] {
			return false
		}
	}
	return true
}

var pathByteAsIs = func() (t [256]bool) {
	for c := range 256 {
		t[c] = unreservedByte(byte(c)) || strings.IndexByte("$&+,/:;=@", byte(c)) >= 0
	}
	return t
}()

// appendKeyPart appends s with '#' and '%' escaped. The common part with
// neither is copied whole.
func appendKeyPart(dst []byte, s string) []byte {
	// Two vectorized scans rather than a loop of our own: on a hit's host
	// (a dozen bytes) the byte loop's speed swung by 4x with where the
	// linker put it (one hit 15% slower after an unrelated change).
	i := strings.IndexByte(s, '#')
	if j := strings.IndexByte(s, '%'); j >= 0 && (i < 0 || j < i) {
		i = j
	}
	if i < 0 {
		return append(dst, s...)
	}
	dst = append(dst, s[:i]...)
	for ; i < len(s); i++ {
		switch s[i] {
		case '#':
			dst = append(dst, "%23"...)
		case '%':
			dst = append(dst, "%25"...)
		default:
			dst = append(dst, s[i])
		}
	}
	return dst
}

// variantNames names the Vary variants whose backend key may not spell
// their variant key (see key): by its SHA-256, or, with
// Options.VariantKeySecret, by its HMAC-SHA-256 under that secret, so that
// whoever may list the backend's keys or read its records cannot test
// guesses of a Cookie or an Authorization against them offline. The zero
// value has no secret.
type variantNames struct {
	macs *sync.Pool // of *variantMAC, keyed by the secret; nil: none
}

// variantMAC is one HMAC-SHA-256 under the secret, with room for its sum:
// the pool lends it whole, so that a hash allocates nothing.
type variantMAC struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// minVariantKeySecret is the least length of Options.VariantKeySecret:
// RFC 2104 advises against an HMAC key shorter than the hash's output.
const minVariantKeySecret = sha256.Size

// newVariantNames returns the variantNames of secret (nil: none), which it
// copies.
func newVariantNames(secret []byte) variantNames {
	if secret == nil {
		return variantNames{}
	}
	secret = bytes.Clone(secret)
	return variantNames{macs: &sync.Pool{New: func() any {
		h := hmac.New(sha256.New, secret)
		// The first Reset keeps the states after the padded key, which
		// every later Reset and Sum restore: a hash of a short variant
		// key then costs three blocks, not five.
		h.Reset()
		return &variantMAC{h: h}
	}}}
}

// key is the backend key of one Vary variant of the entry at base:
// variant, the variant key of the fields names. It spells variant only
// when every one of names is a field of content negotiation (readableField):
// any other may hold a credential (Cookie, Authorization, an API key of
// the application's), and a backend's keys are read by whoever may list
// them (SCAN, MONITOR, the slow log, a dump); such a variant is named by
// its hash alone (n.sum), "#" and its base64, a form no variant key has
// (they start with an escaped field name).
func (n variantNames) key(base, variant string, names []string) string {
	key, _, _ := n.keyID(base, variant, names)
	return key
}

// keyID is key, with the variant's id in its Vary record (n.id) made from
// the same hash, and true, where the key names the variant by its hash; a
// hit that checks its record lists the variant then hashes it once (with
// Options.VariantKeySecret, one HMAC, not two). Where the key spells the
// variant, the id is left to n.id (false): a record that remembers the
// variant listed needs none.
func (n variantNames) keyID(base, variant string, names []string) (string, variantID, bool) {
	if !hiddenFields(names) {
		return base + "#vary:" + shortenKey(variant), variantID{}, false
	}
	// One allocation: the key is made on every hit of such a variant.
	const mark = "#vary:#"
	sum := n.sum(variant)
	b := make([]byte, len(base)+len(mark)+hashLen)
	copy(b[copy(b, base):], mark)
	base64.RawURLEncoding.Encode(b[len(base)+len(mark):], sum[:])
	return unsafe.String(unsafe.SliceData(b), len(b)), idOfSum(sum), true
}

// id is the name of the variant variant of the fields names in their Vary
// record: the first 128 bits of its hash, the one that names its key (the
// SHA-256 of newVariantID where the key spells the variant).
func (n variantNames) id(variant string, names []string) variantID {
	if n.macs == nil || !hiddenFields(names) {
		return newVariantID(variant)
	}
	return idOfSum(n.sum(variant))
}

// sum returns the hash that names variant: its HMAC-SHA-256 under the
// secret, else its SHA-256.
func (n variantNames) sum(variant string) [sha256.Size]byte {
	// Read in place: a copy of a long key (a variant key holds a request's
	// fields) would cost as much as the key.
	b := unsafe.Slice(unsafe.StringData(variant), len(variant))
	if n.macs == nil {
		return sha256.Sum256(b)
	}
	m := n.macs.Get().(*variantMAC)
	m.h.Reset()
	m.h.Write(b)
	m.h.Sum(m.sum[:0])
	sum := m.sum
	n.macs.Put(m)
	return sum
}

// hiddenFields reports whether a variant key of the fields names may hold a
// credential, and so must not be spelled: one of names is not a
// readableField.
func hiddenFields(names []string) bool {
	for _, name := range names {
		if !readableField(name) {
			return true
		}
	}
	return false
}

// readableField reports whether a variant key may spell the values of the
// request field name (canonical): a field of content negotiation, or one
// a URL already shows. Its '_' spellings, which the variant key holds too,
// are the same field.
func readableField(name string) bool {
	switch name {
	case "Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language",
		"Host", "Origin", "User-Agent", "X-Forwarded-Host", "X-Forwarded-Proto":
		return true
	}
	return false
}

// shortenKey returns key if it is kept as it is (keptAsIs), else its first
// hashedHead bytes (cut at a rune boundary), "#", and the base64 of the
// SHA-256 of the whole key. Distinct keys that are not kept differ in their
// hash; a key kept as it is never has that shape (see looksShortened), so
// that a short key cannot be spelled, on purpose or not, as the shortened
// form of a long one: the hash of a known long key is computable by anyone.
func shortenKey(key string) string {
	if keptAsIs(key) {
		return key
	}
	n := min(hashedHead, len(key))
	for n > 0 && n < len(key) && !utf8RuneStart(key[n]) {
		n--
	}
	return hashedKey(key[:n], key)
}

// hashedKey returns head, "#", and the base64 of the SHA-256 of key.
func hashedKey(head, key string) string {
	// Read in place: a copy of a long key (a variant key holds a request's
	// fields) would cost as much as the key.
	sum := sha256.Sum256(unsafe.Slice(unsafe.StringData(key), len(key)))
	return head + "#" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// hashLen is the length of the hash shortenKey appends.
const hashLen = 43 // base64.RawURLEncoding.EncodedLen(sha256.Size)

// keptAsIs reports whether shortenKey keeps key as it is: at most
// maxReadableKey bytes long and not of the shape of a shortened key.
func keptAsIs[K ~string | ~[]byte](key K) bool {
	return len(key) <= maxReadableKey && !looksShortened(key)
}

// looksShortened reports whether key has the shape of shortenKey's shortened
// form: at most hashedHead bytes, '#', and hashLen bytes of base64. Only a
// key with a '#' so placed can: every other key is kept byte for byte.
func looksShortened[K ~string | ~[]byte](key K) bool {
	n := len(key) - hashLen - 1
	if n < 0 || n > hashedHead || key[n] != '#' {
		return false
	}
	for i := n + 1; i < len(key); i++ {
		if !base64URLByte[key[i]] {
			return false
		}
	}
	return true
}

// base64URLByte tells the bytes of base64.RawURLEncoding's alphabet.
var base64URLByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
	}
	return t
}()

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// QueryKeyOptions selects which query parameters take part in a view key;
// the handler of a view (QueryString) does not see the others.
type QueryKeyOptions struct {
	// Allow, when not empty, keeps only the parameters whose names match one
	// of its patterns (path.Match syntax, e.g. "page", "sort_*").
	Allow []string
	// Ignore drops the parameters whose names match one of its patterns, such
	// as "utm_*" or "fbclid". It applies after Allow.
	Ignore []string
}

// maxQueryParams is net/url's limit on the parameters of a query it parses
// (counted as its '&' plus one): past it, url.ParseQuery reads nothing.
const maxQueryParams = 10000

// CanonicalQuery returns rawQuery in canonical form: its parameters
// filtered by opts and sorted by name (stable: the values of one name keep
// their order), each spelled as the client sent it, and its empty
// parameters (the empty parts of "&&", a leading or trailing '&'), which
// url.ParseQuery skips, dropped. Two query strings share a form only if
// they hold the same non-empty parameters, byte for byte, in another order:
// url.ParseQuery (and so r.URL.Query()) reads them the same way, with the
// same names, the same values in the same order, and the same error, and a
// handler that reads the raw query (r.URL.RawQuery, r.RequestURI, an origin
// echoing its query string) finds in one no byte that the other does not
// hold, but for the '&'s around empty parameters: ?a=1&&b=2& shares
// ?a=1&b=2's form, and a query of '&'s alone has the empty form, the key of
// no query. So ?b=2&a=1 and ?a=1&b=2 share one form, while ?a=1&a=2 and
// ?a=2&a=1 do not (Get("a") differs), nor do ?a=1&a=2 and ?a=1, nor
// ?q=%3Cb%3E and ?q=<b> (a page echoing the raw query would otherwise store
// an attacker's unescaped markup for every browser, which sends the escaped
// spelling). A query that does not parse cleanly (an invalid escape, a ';',
// more parameters than net/url reads), or whose parameters hold a '#', a
// space or control byte, or a byte past ASCII, is kept byte for byte in its
// order, marked so that it shares its form with no other query. It is safe
// for concurrent use.
//
// Sorting by name assumes that the handler tells parameters apart by their
// exact names, as url.ParseQuery does. An origin that folds two names into
// one and answers with the last value (PHP reads a.b and a+b as a_b;
// ASP.NET matches names without case) answers ?a.b=1&a_b=2 with 2 and
// ?a_b=2&a.b=1 with 1, yet the two share a form, and so a view's key: the
// first one's response is served for both. No option keys the query in the
// order it was sent. For such a handler, list the names it reads in
// QueryKeyOptions.Allow (the other spellings are then left out of the key
// and of the handler's request too), or key the query as sent with the
// view's KeyFunc (r.URL.EscapedPath() + "?" + r.URL.RawQuery, which gives
// every order and spelling an entry of its own).
func CanonicalQuery(rawQuery string, opts QueryKeyOptions) string {
	if rawQuery == "" {
		return ""
	}
	if strings.Count(rawQuery, "&") >= maxQueryParams || strings.IndexByte(rawQuery, ';') >= 0 {
		return uncanonicalQuery(rawQuery)
	}
	type pair struct{ name, raw string }
	pairs := make([]pair, 0, 4)
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		rawName, value, _ := strings.Cut(part, "=")
		name, err1 := url.QueryUnescape(rawName)
		_, err2 := url.QueryUnescape(value)
		if err1 != nil || err2 != nil {
			return uncanonicalQuery(rawQuery)
		}
		if queryParamWanted(name, opts) {
			if !queryPartAsIs(part) {
				return uncanonicalQuery(rawQuery)
			}
			pairs = append(pairs, pair{name, part})
		}
	}
	if len(pairs) == 0 {
		return ""
	}
	// Stable: the values of one name keep their order, as Query()[name] has it.
	slices.SortStableFunc(pairs, func(a, b pair) int { return strings.Compare(a.name, b.name) })
	if pairs[0].raw[0] == '!' {
		// The mark of a query kept byte for byte: no sorted form starts so.
		return uncanonicalQuery(rawQuery)
	}
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.raw)
	}
	return b.String()
}

// queryPartAsIs reports whether every byte of a query parameter (its
// name, '=' and value, as sent) is printable ASCII but '#', so that its
// canonical form holds no '#' (which starts the key's next part), no space
// or control byte, and nothing past ASCII. '[' and ']' (PHP's a[]=1,
// JSON:API's filter[name]=x), which browsers send unescaped, are kept.
func queryPartAsIs(part string) bool {
	for i := 0; i < len(part); i++ {
		if c := part[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	return true
}

// keyedQuery returns rawQuery without the parameters opts leaves out of
// the key, the others as the client wrote them, in its order: the query a
// view's handler sees, so that what it makes of a parameter the key does
// not tell (a page echoing utm_source) is never stored for the requests
// without it. CanonicalQuery gives it the form of rawQuery. A query that
// does not parse cleanly is returned whole, as its key keeps it.
func keyedQuery(rawQuery string, opts QueryKeyOptions) string {
	if rawQuery == "" || len(opts.Allow) == 0 && len(opts.Ignore) == 0 ||
		strings.Count(rawQuery, "&") >= maxQueryParams || strings.IndexByte(rawQuery, ';') >= 0 {
		return rawQuery
	}
	kept := make([]string, 0, 4)
	for part := range strings.SplitSeq(rawQuery, "&") {
		name, value, _ := strings.Cut(part, "=")
		name, err1 := url.QueryUnescape(name)
		_, err2 := url.QueryUnescape(value)
		if err1 != nil || err2 != nil {
			return rawQuery
		}
		if part == "" || queryParamWanted(name, opts) {
			kept = append(kept, part)
		}
	}
	return strings.Join(kept, "&")
}

// keyedRequest returns r, or a copy that holds no query the key was not
// made of: the request the handler answers when its response may be stored
// or freshen an entry, so that nothing the key does not tell (a page
// echoing utm_source) reaches the response served to every request of the
// key. Its URL.RawQuery is r's less the parameters QueryString leaves out
// (Allow, Ignore), or empty under PathOnly; its RequestURI carries that
// query, not the one the client sent (which a middleware outside the view
// may have rewritten in r.URL alone); and its Form, when an outer
// middleware parsed it, is what ParseForm makes of the copy (parsed before
// the rewrite, it held the client's query). r itself is not changed. Only
// a miss or refresh calls it: a hit never pays for the copy.
func (v *view) keyedRequest(r *http.Request) *http.Request {
	if v.keyFunc != nil {
		return r // the KeyFunc says what is keyed, which the view cannot tell
	}
	raw := r.URL.RawQuery
	switch {
	case v.cfg.pathOnly:
		raw = ""
	case len(v.cfg.query.Allow) > 0 || len(v.cfg.query.Ignore) > 0:
		raw = keyedQuery(raw, v.cfg.query)
	}
	uri := r.RequestURI
	if uri != "" && uri != "*" {
		target, sent, _ := strings.Cut(uri, "?")
		if sent != raw {
			uri = target
			if raw != "" {
				uri += "?" + raw
			}
		}
	}
	if raw == r.URL.RawQuery && uri == r.RequestURI {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.RawQuery = raw
	r2.URL, r2.RequestURI = &u, uri
	if r.Form != nil {
		// Parsed by an outer middleware: ParseForm would not read the query
		// again. PostForm is kept (a GET's or HEAD's is empty: only POST,
		// PUT and PATCH read a body), the query is read from the copy's.
		// (An error, a query that does not parse cleanly, went to the
		// middleware that parsed r's; the values before it are kept, as
		// ParseForm keeps them.)
		r2.Form = nil
		_ = r2.ParseForm()
	}
	return r2
}

// uncanonicalQuery is the form of a query that does not parse cleanly: "!"
// (which url.QueryEscape never leaves as it is) and the escaped raw query.
func uncanonicalQuery(raw string) string { return "!" + url.QueryEscape(raw) }

func queryParamWanted(name string, opts QueryKeyOptions) bool {
	if len(opts.Allow) > 0 && !matchAny(opts.Allow, name) {
		return false
	}
	return !matchAny(opts.Ignore, name)
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, err := path.Match(p, name); ok && err == nil || p == name {
			return true
		}
	}
	return false
}

// canonicalQuery is CanonicalQuery with the view's options, without its
// allocations when the query string is already in canonical form (as links
// a service builds itself usually are).
func (v *view) canonicalQuery(raw string) string {
	if len(v.cfg.query.Allow) == 0 && len(v.cfg.query.Ignore) == 0 && isCanonicalQuery(raw) {
		return raw
	}
	return CanonicalQuery(raw, v.cfg.query)
}

// isCanonicalQuery reports whether CanonicalQuery would return raw as it
// is: name=value pairs of unreserved characters only (which unescaping and
// escaping leave alone), names in sorted order, fewer than net/url's limit.
func isCanonicalQuery(raw string) bool {
	var prevName string
	for params := 1; ; params++ {
		// name=value, each a run of unreserved bytes, the name not empty.
		i := 0
		for i < len(raw) && unreservedTable[raw[i]] {
			i++
		}
		if i == 0 || i == len(raw) || raw[i] != '=' || params > maxQueryParams {
			return false
		}
		name := raw[:i]
		if params > 1 && name < prevName {
			return false
		}
		j := i + 1
		for j < len(raw) && unreservedTable[raw[j]] {
			j++
		}
		if j == len(raw) {
			return true
		}
		if raw[j] != '&' {
			return false
		}
		prevName, raw = name, raw[j+1:]
	}
}

// unreservedTable is unreservedByte as a table, for the loops of a hit.
var unreservedTable = func() (t [256]bool) {
	for c := range 256 {
		t[c] = unreservedByte(byte(c))
	}
	return t
}()

// unreservedByte reports whether url.QueryEscape leaves c as it is.
func unreservedByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}
