package caching

import (
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"path"
	"slices"
	"strings"
)

// Every key the library writes to a backend is built here. A backend key is
// the Cache's KeyPrefix, a one-letter kind and a slash, then the rest:
//
//	k/<key>                       a key of the direct API (Get, Set, GetAs, ...)
//	t/<tag>                       the current version of a tag
//	v/<view key>                  a response of the response cache
//	m/<name>/<version>/<argument> a result of a memoized function
//	g/<name>                      the generation of a memoized function (ForgetAll)
//
// so that no key of one kind can collide with a key of another. View and
// memoize keys longer than maxReadableKey are shortened by keeping a readable
// head and appending the SHA-256 of the whole key, never by truncation.
const (
	kindKey  = "k/"
	kindGen  = "g/"
	kindTag  = "t/"
	kindView = "v/"
	kindMemo = "m/"

	// maxReadableKey is the longest view or memoize key kept as it is.
	maxReadableKey = 200
	// hashedHead is how much of a long key stays readable.
	hashedHead = 64
)

// userKey is the backend key of key in the direct API.
func (c *Cache) userKey(key string) string { return c.prefix + kindKey + key }

// tagKey is the backend key holding the version of tag.
func (c *Cache) tagKey(tag string) string { return c.prefix + kindTag + tag }

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

// viewKey is the backend key of a cached response, from the view's key as the
// middleware built it (prefix with the path, canonical query, variant).
func (c *Cache) viewKey(key string) string { return c.prefix + kindView + shortenKey(key) }

// genKey is the backend key holding the generation of the memoized
// function name: a version checked like a tag's, bumped by ForgetAll.
func (c *Cache) genKey(name string) string { return c.prefix + kindGen + name }

// memoKey is the backend key of one call of a memoized function: its name,
// its version and the encoding of its argument.
func (c *Cache) memoKey(name, version string, arg []byte) string {
	var b strings.Builder
	b.Grow(len(c.prefix) + len(kindMemo) + len(name) + len(version) + 2 + base64.RawURLEncoding.EncodedLen(len(arg)))
	b.WriteString(name)
	b.WriteByte('/')
	b.WriteString(version)
	b.WriteByte('/')
	// The argument encoding is binary; base64 keeps the key printable and
	// safe for every backend.
	enc := base64.RawURLEncoding
	buf := make([]byte, enc.EncodedLen(len(arg)))
	enc.Encode(buf, arg)
	b.Write(buf)
	return c.prefix + kindMemo + shortenKey(b.String())
}

// shortenKey returns key if it is at most maxReadableKey bytes long, else its
// first hashedHead bytes (cut at a rune boundary), "#", and the base64 of the
// SHA-256 of the whole key. Distinct long keys differ in their hash; a short
// key cannot take the shape of a long one by accident.
func shortenKey(key string) string {
	if len(key) <= maxReadableKey {
		return key
	}
	head := key[:hashedHead]
	for len(head) > 0 && !utf8RuneStart(key[len(head)]) {
		head = head[:len(head)-1]
	}
	sum := sha256.Sum256([]byte(key))
	return head + "#" + base64.RawURLEncoding.EncodeToString(sum[:])
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// QueryKeyOptions selects which query parameters take part in a view key.
type QueryKeyOptions struct {
	// Allow, when not empty, keeps only the parameters whose names match one
	// of its patterns (path.Match syntax, e.g. "page", "sort_*").
	Allow []string
	// Ignore drops the parameters whose names match one of its patterns, such
	// as "utm_*" or "fbclid". It applies after Allow.
	Ignore []string
}

// CanonicalQuery returns rawQuery in canonical form: parameters decoded,
// filtered by opts, sorted by name then value (duplicates kept: ?a=1&a=2
// differs from ?a=1), and re-encoded. Two query strings that a server would
// read the same way give the same canonical form, so ?b=2&a=1 and ?a=1&b=2
// share one cache entry. A pair that does not decode is kept byte for byte.
// It is safe for concurrent use.
func CanonicalQuery(rawQuery string, opts QueryKeyOptions) string {
	if rawQuery == "" {
		return ""
	}
	type pair struct{ name, value string }
	pairs := make([]pair, 0, 4)
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if v, err := url.QueryUnescape(value); err == nil {
			value = v
		}
		if !queryParamWanted(name, opts) {
			continue
		}
		pairs = append(pairs, pair{name, value})
	}
	if len(pairs) == 0 {
		return ""
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p.name))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p.value))
	}
	return b.String()
}

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
