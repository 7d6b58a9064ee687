package caching

import (
	"fmt"
	"net/http"

	"github.com/go-caching/caching/internal/httpcache"
)

// Peek returns the response a view configured with opts has stored for r,
// without running anything (Flask: cache.get(make_cache_key())): its
// status, header (with the ETag and Content-Length a hit sends), body and
// Age, and whether it is fresh (a hit would serve it as HIT: within its TTL
// and not declared stale by StaleIf). A stale response is returned while
// its entry is kept (StaleWhileRevalidate, StaleIfError). Give the options
// the view was made with, as for ViewKey: they choose the key. For a
// response with Vary, the variant of r's headers is returned. For a view
// behind a middleware that rewrites the path, give r as the view sees it:
// for a view mounted with http.StripPrefix("/v1", ...),
// httptest.NewRequest("GET", "/v1/users", nil) with its URL.Path set to
// "/users" (its RequestURI, the client's path, keeps the mounts apart). r's method is
// not looked at; r's context bounds the backend calls, as Options.Timeout
// does. Peek has no writer: it returns the entry of a request whose writer
// had no Content-Type when the view got it, the one under ViewKey's key,
// not the entry a request stores where a middleware outside the view set
// one (see ViewKeys).
//
// When nothing is stored for r (or r is a request the view never stores,
// with Authorization or a TLS client certificate and no user for it; or,
// in a SharedCache view, the entry is one an earlier version stored with a
// status the view no longer serves, a 5xx or a 4xx but 404, 405, 410 and
// 414, which a request finds a miss), the error wraps ErrNotFound; a
// backend error is returned as it is; invalid options give an error wrapping
// ErrInvalidOption. Peek is not counted in Stats. The returned Header and
// Body are the stored ones: they must not be modified.
func (c *Cache) Peek(r *http.Request, opts ...ViewOption) (resp *Response, fresh bool, err error) {
	if c.life.Err() != nil {
		return nil, false, fmt.Errorf("caching: peek: %w", ErrClosed)
	}
	cfg, fns, err := newViewConfig(opts, true)
	if err != nil {
		return nil, false, err
	}
	v := c.newView(0, cfg, fns, nil)
	r = urlSchemeAsConnection(r)
	var user string
	if cfg.userFunc != nil {
		user = cfg.userFunc(r)
	}
	if user == "" && httpcache.Credentials(r) != httpcache.ReasonNone {
		return nil, false, fmt.Errorf("caching: peek: %w", ErrNotFound)
	}
	now := c.clock()
	f, err := v.find(r, v.viewKey(r, user, false), &now)
	if err != nil {
		return nil, false, fmt.Errorf("caching: peek: %w", err)
	}
	if !v.usable(r, f.snap) {
		// A stored status the view no longer serves: its requests miss.
		return nil, false, fmt.Errorf("caching: peek: %w", ErrNotFound)
	}
	return response(f.snap, now), f.fresh, nil
}
