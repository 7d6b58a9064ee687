package caching

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// recovered returns what f panics with, nil if it returns.
func recovered(f func()) (p any) {
	defer func() { p = recover() }()
	f()
	return nil
}

// Cached and CachedMux panicked with a string on an invalid option or TTL,
// where the README says the error wraps ErrInvalidOption (as ViewKey's
// error and Memoize's panic do): a recover that checks errors.Is found
// nothing.
func TestCachedPanicWrapsTheError(t *testing.T) {
	c, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cases := map[string][]ViewOption{
		"PathOnly+QueryString": {PathOnly(), QueryString(QueryKeyOptions{Ignore: []string{"a"}})},
		"KeyFunc+KeyFormat":    {KeyFunc(func(r *http.Request) string { return "" }), KeyFormat("x/%s")},
		"RouteTTL on Cached":   {RouteTTL("GET /x", time.Hour)},
		"BypassIf of an int":   {BypassIf(func(ctx context.Context, a int) bool { return false })},
	}
	for name, opts := range cases {
		p := recovered(func() { c.Cached(time.Minute, opts...) })
		if err, ok := p.(error); !ok || !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: Cached panicked with %T %v, not an error wrapping ErrInvalidOption", name, p, p)
		}
	}
	p := recovered(func() { c.Cached(-time.Second) })
	if err, ok := p.(error); !ok || !errors.Is(err, ErrInvalidTTL) {
		t.Errorf("negative ttl: Cached panicked with %T %v", p, p)
	}
	p = recovered(func() { c.CachedMux(http.NewServeMux(), time.Minute, RouteTTL("GET /x", -time.Second)) })
	if err, ok := p.(error); !ok || !errors.Is(err, ErrInvalidOption) {
		t.Errorf("negative RouteTTL: CachedMux panicked with %T %v", p, p)
	}
}
