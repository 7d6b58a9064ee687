package caching

import (
	"context"
	"net/http"
	"slices"
	"strings"
)

// pathTagPrefix starts the implicit tag every view entry carries: the
// request's path, so that InvalidatePath reaches every query string and Vary
// variant of a path without a key scan. Tags starting with it are reserved.
const pathTagPrefix = "view-path:"

// cutPrefixFormat splits a KeyPrefix format around its %s.
func cutPrefixFormat(format string) (head, tail string, hasPath bool) {
	return strings.Cut(format, "%s")
}

// key returns the backend key of r's view entry (or of its Vary spec): the
// Cache's prefix, the view kind, then KeyPrefix with the path (or
// KeyPrefixFunc, or RequestKey), the canonical query string, the version and
// the user. Version and user are escaped so that no value can pass for
// another part.
func (v *view) key(r *http.Request, user string) string {
	c := v.c
	var b strings.Builder
	b.Grow(len(c.prefix) + len(kindView) + len(v.cfg.keyPrefix) + len(r.URL.Path) + len(r.URL.RawQuery) + len(v.cfg.version) + len(user) + 8)
	b.WriteString(c.prefix)
	b.WriteString(kindView)
	start := b.Len()
	switch {
	case v.cfg.keyFunc != nil:
		b.WriteString(v.cfg.keyFunc(r))
	default:
		if v.cfg.keyPrefixFunc != nil {
			b.WriteString(v.cfg.keyPrefixFunc(r))
		} else {
			b.WriteString(v.prefixHead)
			if v.prefixHasPath {
				b.WriteString(r.URL.EscapedPath())
				b.WriteString(v.prefixTail)
			}
		}
		if !v.cfg.pathOnly && r.URL.RawQuery != "" {
			if q := v.canonicalQuery(r.URL.RawQuery); q != "" {
				b.WriteByte('?')
				b.WriteString(q)
			}
		}
	}
	if v.cfg.version != "" {
		b.WriteString("#v=")
		writeKeyPart(&b, v.cfg.version)
	}
	if user != "" {
		b.WriteString("#u=")
		writeKeyPart(&b, user)
	}
	s := b.String()
	if len(s)-start > maxReadableKey {
		return c.viewKey(s[start:])
	}
	return s
}

// keyHasPath reports whether the view's keys are built from the path.
func (v *view) keyHasPath() bool {
	return v.cfg.keyFunc == nil && v.cfg.keyPrefixFunc == nil && v.prefixHasPath
}

// writeKeyPart writes s with '#' and '%' escaped.
func writeKeyPart(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '#':
			b.WriteString("%23")
		case '%':
			b.WriteString("%25")
		default:
			b.WriteByte(s[i])
		}
	}
}

// variantKey is the backend key of one Vary variant of the entry at base.
func variantKey(base, variant string) string {
	return base + "#vary:" + shortenKey(variant)
}

// tagKeysFor returns the backend keys of the view's tags and of the path's
// implicit tag, sorted and deduplicated, as Cache.save and lookup want them.
// A view whose key is not built from the path (KeyPrefix without %s,
// KeyPrefixFunc, RequestKey) has no path tag: requests to several paths
// share its entries.
func (v *view) tagKeysFor(path string) []string {
	if !v.keyHasPath() {
		return v.tagKeys
	}
	pk := v.c.tagKey(pathTagPrefix + path)
	keys := make([]string, 0, len(v.tagKeys)+1)
	keys = append(keys, v.tagKeys...)
	i, found := slices.BinarySearch(keys, pk)
	if !found {
		keys = slices.Insert(keys, i, pk)
	}
	return keys
}

// InvalidatePath makes every cached response of each path a miss: every
// query string, Vary variant and user of it, under every view whose key is
// built from the path (the default KeyPrefix, or one with %s; not
// KeyPrefixFunc or RequestKey: tag those), in every process sharing the
// backend. A path is the request's URL.Path, as
// net/http decodes it ("/products/a b", not "/products/a%20b"). It costs one
// write per path and never scans keys.
func (c *Cache) InvalidatePath(ctx context.Context, paths ...string) error {
	tags := make([]string, len(paths))
	for i, p := range paths {
		tags[i] = pathTagPrefix + p
	}
	return c.InvalidateTags(ctx, tags...)
}

// ViewKey returns the backend key under which a view configured with opts
// stores its response to r (for a response with Vary, the key of the record
// of its Vary names: deleting it drops every variant). Use it to log, inspect
// or delete one entry from your own code (c.Backend().Delete); for the key of
// a path, pass a request made with http.NewRequest(http.MethodGet, path, nil).
// It returns an error for invalid options, as Cached would panic.
func (c *Cache) ViewKey(r *http.Request, opts ...ViewOption) (string, error) {
	cfg, err := newViewConfig(opts)
	if err != nil {
		return "", err
	}
	v := c.newView(0, cfg, nil)
	var user string
	if cfg.userFunc != nil {
		user = cfg.userFunc(r)
	}
	return v.key(r, user), nil
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
// escaping leave alone), in strictly sorted order or equal.
func isCanonicalQuery(raw string) bool {
	var prevName, prevValue string
	for i := 0; ; i++ {
		part, rest, more := strings.Cut(raw, "&")
		name, value, ok := strings.Cut(part, "=")
		if !ok || name == "" || !unreserved(name) || !unreserved(value) {
			return false
		}
		if i > 0 && (name < prevName || name == prevName && value < prevValue) {
			return false
		}
		prevName, prevValue = name, value
		if !more {
			return true
		}
		raw = rest
	}
}

// unreserved reports whether s has only the characters url.QueryEscape
// leaves as they are.
func unreserved(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~') {
			return false
		}
	}
	return true
}
