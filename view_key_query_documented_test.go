package caching_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-caching/caching"
)

// TestViewKeyQueryAsDocumented pins two choices CanonicalQuery's and
// QueryString's docs state about the query in a view's key. Empty
// parameters (the empty parts of "&&", a leading or trailing '&'), which
// url.ParseQuery skips, are dropped: ?a=1&&b=2& shares ?a=1&b=2's key,
// and a query of '&'s alone shares the key of no query. Parameters are
// sorted by name, so two orders of a pair of names an origin folds into one
// (PHP reads a.b as a_b; ASP.NET matches names without case) share a key;
// a KeyFunc that returns the query as sent keeps them apart, and a
// QueryString Allow of the names the handler reads keeps the other
// spellings from both the key and the handler.
func TestViewKeyQueryAsDocumented(t *testing.T) {
	c := caching.Must(nil)
	defer c.Close()
	key := func(target string, opts ...caching.ViewOption) string {
		t.Helper()
		k, err := c.ViewKey(httptest.NewRequest(http.MethodGet, "http://shop.example"+target, nil), opts...)
		if err != nil {
			t.Fatalf("ViewKey(%s): %v", target, err)
		}
		return k
	}
	asSent := caching.KeyFunc(func(r *http.Request) string { return r.URL.EscapedPath() + "?" + r.URL.RawQuery })
	for _, tc := range []struct {
		name string
		a, b string
		opts []caching.ViewOption
		same bool
	}{
		{"empty parts dropped", "/p?a=1&&b=2&", "/p?a=1&b=2", nil, true},
		{"leading empty part dropped", "/p?&b=2&a=1", "/p?a=1&b=2", nil, true},
		{"only empty parts is no query", "/p?&&", "/p", nil, true},
		{"PHP folded names sorted", "/p?a.b=1&a_b=2", "/p?a_b=2&a.b=1", nil, true},
		{"ASP.NET folded names sorted", "/p?ID=1&id=2", "/p?id=2&ID=1", nil, true},
		{"folded names as sent", "/p?a.b=1&a_b=2", "/p?a_b=2&a.b=1", []caching.ViewOption{asSent}, false},
		{"folded names allowed", "/p?a.b=1&a_b=2", "/p?a_b=2", []caching.ViewOption{caching.QueryString(caching.QueryKeyOptions{Allow: []string{"a_b"}})}, true},
		{"empty parts as sent", "/p?a=1&&b=2", "/p?a=1&b=2", []caching.ViewOption{asSent}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ka, kb := key(tc.a, tc.opts...), key(tc.b, tc.opts...)
			if (ka == kb) != tc.same {
				t.Errorf("keys of %s and %s: %q, %q; same = %v, want %v", tc.a, tc.b, ka, kb, ka == kb, tc.same)
			}
		})
	}
}
