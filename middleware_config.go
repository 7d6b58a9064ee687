package caching

import (
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
	"time"
)

// viewConfig is the configuration of one cached view.
type viewConfig struct {
	commonConfig

	keyPrefix     string                           // "view/%s" by default
	keyPrefixFunc func(*http.Request) string       // replaces keyPrefix
	keyFunc       func(*http.Request) string       // replaces prefix, path and query
	userFunc      func(*http.Request) string       // whose response this is
	pathOnly      bool                             // leave the query string out of the key
	query         QueryKeyOptions                  // which query parameters count
	skip          func(*http.Request) bool         // Flask's unless
	refresh       func(*http.Request) bool         // Flask's forced_update
	filter        func(int, http.Header, int) bool // Flask's response_filter
	statuses      []int                            // allow-list; nil: 200
	respectMaxAge bool
	maxBody       int // 0: 1 MiB
	statusHeader  string
	routeTTL      map[string]time.Duration // CachedMux: TTL by pattern
	skipRoutes    map[string]bool          // CachedMux: patterns not cached
}

// viewOption is a ViewOption made from a function.
type viewOption func(*viewConfig)

func (o viewOption) applyView(c *viewConfig) { o(c) }

// DefaultViewKeyPrefix is the key prefix of a cached view without KeyPrefix:
// "view/" and the request's path, as Flask-Caching's key_prefix.
const DefaultViewKeyPrefix = "view/%s"

// KeyPrefix sets the start of a view's keys: format, with %s replaced by the
// request's escaped path (Flask-Caching's key_prefix, default
// DefaultViewKeyPrefix). A format without %s gives every path the same key:
// the query string, Vary variant, UserKey and Version still tell entries
// apart. The format must have at most one %s and no other verb.
func KeyPrefix(format string) ViewOption {
	return viewOption(func(c *viewConfig) { c.keyPrefix = format })
}

// KeyPrefixFunc sets the start of a view's keys to what f returns for the
// request (Flask-Caching's callable key_prefix). The canonical query string,
// Vary variant, UserKey and Version are still added.
func KeyPrefixFunc(f func(*http.Request) string) ViewOption {
	return viewOption(func(c *viewConfig) { c.keyPrefixFunc = f })
}

// RequestKey replaces a view's key by what f returns for the request
// (Flask-Caching's make_cache_key): neither the path nor the query string
// is added. The Vary variant, UserKey and Version still are, so responses
// that vary stay apart.
func RequestKey(f func(*http.Request) string) ViewOption {
	return viewOption(func(c *viewConfig) { c.keyFunc = f })
}

// UserKey tells whose response a request gets: f's result becomes part of
// the key, so every user has entries of their own, and requests with an
// Authorization header, which are otherwise never cached, are cached under
// it. A request for which f returns "" shares the anonymous entries, unless
// it has Authorization: then it is not cached at all.
func UserKey(f func(*http.Request) string) ViewOption {
	return viewOption(func(c *viewConfig) { c.userFunc = f })
}

// PathOnly leaves the query string out of a view's key: /a?x=1 and /a?x=2
// share one entry (Flask-Caching's query_string=False, which is not our
// default: by default the canonical query string is part of the key).
func PathOnly() ViewOption {
	return viewOption(func(c *viewConfig) { c.pathOnly = true })
}

// QueryString chooses which query parameters are part of a view's key (all
// by default, in canonical order: ?b=2&a=1 and ?a=1&b=2 share an entry,
// ?a=1&a=2 and ?a=1 do not). See CanonicalQuery.
func QueryString(opts QueryKeyOptions) ViewOption {
	return viewOption(func(c *viewConfig) { c.pathOnly, c.query = false, opts })
}

// SkipCache makes a view bypass the cache for requests where f returns
// true: the handler serves them and nothing is read or stored
// (Flask-Caching's unless).
func SkipCache(f func(*http.Request) bool) ViewOption {
	return viewOption(func(c *viewConfig) { c.skip = f })
}

// ForceRefresh makes a view run the handler for requests where f returns
// true, without reading the cache, and store the response as usual
// (Flask-Caching's forced_update).
func ForceRefresh(f func(*http.Request) bool) ViewOption {
	return viewOption(func(c *viewConfig) { c.refresh = f })
}

// ResponseFilter lets a view store a response only when f returns true for
// its status, its header as committed, and its body size (Flask-Caching's
// response_filter). It runs after the built-in rules, which it cannot
// loosen.
func ResponseFilter(f func(status int, h http.Header, size int) bool) ViewOption {
	return viewOption(func(c *viewConfig) { c.filter = f })
}

// CacheStatuses sets the statuses a view may store (default: 200 only;
// for example 200, 203, 301, 404, 410). Each must be in 200-599.
func CacheStatuses(codes ...int) ViewOption {
	return viewOption(func(c *viewConfig) { c.statuses = append([]int(nil), codes...) })
}

// RespectMaxAge caps a view's TTL with the response's Cache-Control
// s-maxage, or max-age when there is no s-maxage; a cap of 0 means the
// response is not stored. By default the TTL given to Cached applies,
// whatever the response says (no-store and private always prevent storing).
func RespectMaxAge() ViewOption {
	return viewOption(func(c *viewConfig) { c.respectMaxAge = true })
}

// MaxBodySize sets the largest body a view stores, in bytes (default 1 MiB).
// A larger response passes through uncached and is never buffered past the
// cap. It must be positive.
func MaxBodySize(n int) ViewOption {
	return viewOption(func(c *viewConfig) { c.maxBody = n })
}

// StatusHeader makes a view tell what the cache did in a response header of
// this name (commonly "X-Cache"): HIT, STALE, MISS or BYPASS. Off by
// default.
func StatusHeader(name string) ViewOption {
	return viewOption(func(c *viewConfig) { c.statusHeader = name })
}

// RouteTTL gives the routes of a mux wrapped by Cache.CachedMux whose
// pattern is exactly pattern (as registered, e.g. "GET /products/{id}") a TTL
// of their own (0: the Cache's DefaultTTL; Forever). It has no effect on
// Cache.Cached.
func RouteTTL(pattern string, ttl time.Duration) ViewOption {
	return viewOption(func(c *viewConfig) {
		if c.routeTTL == nil {
			c.routeTTL = make(map[string]time.Duration)
		}
		c.routeTTL[pattern] = ttl
	})
}

// SkipRoutes leaves the routes of a mux wrapped by Cache.CachedMux whose
// pattern is one of patterns uncached. It has no effect on Cache.Cached.
func SkipRoutes(patterns ...string) ViewOption {
	return viewOption(func(c *viewConfig) {
		if c.skipRoutes == nil {
			c.skipRoutes = make(map[string]bool)
		}
		for _, p := range patterns {
			c.skipRoutes[p] = true
		}
	})
}

// newViewConfig applies opts and validates the result. Errors name the
// option and the valid range.
func newViewConfig(opts []ViewOption) (viewConfig, error) {
	cfg := viewConfig{keyPrefix: DefaultViewKeyPrefix}
	for _, o := range opts {
		if o != nil {
			o.applyView(&cfg)
		}
	}
	if n := strings.Count(cfg.keyPrefix, "%"); n > 1 || n == 1 && !strings.Contains(cfg.keyPrefix, "%s") {
		return cfg, fmt.Errorf("caching: KeyPrefix %q: want at most one %%s and no other verb", cfg.keyPrefix)
	}
	for _, s := range cfg.statuses {
		if s < 200 || s > 599 {
			return cfg, fmt.Errorf("caching: CacheStatuses: %d is not in 200-599", s)
		}
	}
	if cfg.maxBody < 0 {
		return cfg, fmt.Errorf("caching: MaxBodySize is %d; want a positive size (0: 1 MiB)", cfg.maxBody)
	}
	if cfg.statusHeader != "" {
		if !validHeaderName(cfg.statusHeader) {
			return cfg, fmt.Errorf("caching: StatusHeader %q is not a header name", cfg.statusHeader)
		}
		cfg.statusHeader = textproto.CanonicalMIMEHeaderKey(cfg.statusHeader)
	}
	for p, ttl := range cfg.routeTTL {
		if ttl < 0 {
			return cfg, fmt.Errorf("caching: RouteTTL(%q) is %v; want 0 (default), positive, or Forever", p, ttl)
		}
	}
	if cfg.swr < 0 || cfg.sie < 0 {
		return cfg, fmt.Errorf("caching: StaleWhileRevalidate and StaleIfError must not be negative")
	}
	return cfg, nil
}

func validHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return s != ""
}
