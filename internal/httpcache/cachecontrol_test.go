package httpcache

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseCacheControl(t *testing.T) {
	d := func(s int64) Delta { return Delta{Seconds: s, Valid: true} }
	tests := []struct {
		name  string
		lines []string
		want  CacheControl
	}{
		{"absent", nil, CacheControl{}},
		{"empty", []string{""}, CacheControl{}},
		{"flags", []string{"no-store, no-cache, private, public, must-revalidate, proxy-revalidate, no-transform, immutable, only-if-cached"},
			CacheControl{NoStore: true, NoCache: true, Private: true, Public: true, MustRevalidate: true, ProxyRevalidate: true, NoTransform: true, Immutable: true, OnlyIfCached: true}},
		{"case-insensitive names", []string{"No-Store, MAX-AGE=60, S-MaxAge=30"}, CacheControl{NoStore: true, MaxAge: d(60), SMaxAge: d(30)}},
		{"quoted value", []string{`max-age="120"`}, CacheControl{MaxAge: d(120)}},
		{"spaces around", []string{"  max-age = 5 ,public  "}, CacheControl{MaxAge: d(5), Public: true}},
		{"several lines", []string{"public", "max-age=10"}, CacheControl{Public: true, MaxAge: d(10)}},
		{"duplicate max-age: smaller wins", []string{"max-age=100, max-age=10", "max-age=50"}, CacheControl{MaxAge: d(10)}},
		{"duplicate min-fresh: larger wins", []string{"min-fresh=5, min-fresh=50, min-fresh=x"}, CacheControl{MinFresh: d(50)}},
		{"invalid max-age reads as 0", []string{"max-age=abc"}, CacheControl{MaxAge: d(0)}},
		{"empty max-age reads as 0", []string{"max-age="}, CacheControl{MaxAge: d(0)}},
		{"negative max-age reads as 0", []string{"max-age=-1"}, CacheControl{MaxAge: d(0)}},
		{"huge max-age capped", []string{"max-age=99999999999999999999999"}, CacheControl{MaxAge: d(1 << 31)}},
		{"no-cache with fields", []string{`no-cache="Set-Cookie, X-Foo", max-age=3`}, CacheControl{NoCache: true, MaxAge: d(3)}},
		{"private with fields", []string{`private="X-A", public`}, CacheControl{Private: true, Public: true}},
		{"quoted escape", []string{`x="a\"b,c", no-store`}, CacheControl{NoStore: true}},
		{"unterminated quote", []string{`private="abc`}, CacheControl{Private: true}},
		{"max-stale without value", []string{"max-stale"}, CacheControl{MaxStaleAny: true}},
		{"max-stale with value", []string{"max-stale=30"}, CacheControl{MaxStale: d(30)}},
		{"swr and sie", []string{"stale-while-revalidate=30, stale-if-error=600"}, CacheControl{StaleWhileRevalidate: d(30), StaleIfError: d(600)}},
		{"unknown ignored", []string{"foo, bar=baz, ,,, public"}, CacheControl{Public: true}},
		{"token must match whole", []string{"no-storex, xprivate"}, CacheControl{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ParseCacheControl(tt.lines))
		})
	}
}

func TestParseCacheControlAllocs(t *testing.T) {
	lines := []string{`public, max-age="60", s-maxage=30`, "no-cache=\"Set-Cookie\""}
	allocs := testing.AllocsPerRun(100, func() { _ = ParseCacheControl(lines) })
	assert.Zero(t, allocs)
}

func FuzzParseCacheControl(f *testing.F) {
	for _, s := range []string{"", "max-age=60", `no-cache="a,b", private`, `x="\"`, "max-age=99999999999999999999", "=,=,", `"`, "max-stale"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cc := ParseCacheControl([]string{s})
		for _, d := range []Delta{cc.MaxAge, cc.SMaxAge, cc.MaxStale, cc.MinFresh, cc.StaleWhileRevalidate, cc.StaleIfError} {
			if d.Seconds < 0 || d.Seconds > maxDelta || (!d.Valid && d.Seconds != 0) {
				t.Fatalf("%q: bad delta %+v", s, d)
			}
		}
		// Splitting the list over two lines at a comma outside quotes
		// must not change the result, and repeating it is idempotent
		// (most restrictive of a value with itself is itself).
		if got := ParseCacheControl([]string{s, s}); got != cc {
			t.Fatalf("%q: repeated = %+v, once = %+v", s, got, cc)
		}
	})
}

// TestParseRequestCacheControlPragma: a request's Pragma: no-cache counts
// as Cache-Control: no-cache only where the request has no Cache-Control
// field (RFC 7234 section 5.4); its other pragmas are ignored.
func TestParseRequestCacheControlPragma(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
		want CacheControl
	}{
		{"none", http.Header{}, CacheControl{}},
		{"pragma no-cache", http.Header{"Pragma": {"no-cache"}}, CacheControl{NoCache: true}},
		{"pragma case-insensitive, in a list", http.Header{"Pragma": {"x-foo=1, No-Cache"}}, CacheControl{NoCache: true}},
		{"other pragma", http.Header{"Pragma": {"x-no-cache, foo=no-cache"}}, CacheControl{}},
		{"cache-control wins", http.Header{"Pragma": {"no-cache"}, "Cache-Control": {"max-stale=5"}}, CacheControl{MaxStale: Delta{Seconds: 5, Valid: true}}},
		{"empty cache-control wins", http.Header{"Pragma": {"no-cache"}, "Cache-Control": {""}}, CacheControl{}},
		{"cache-control alone", http.Header{"Cache-Control": {"no-store"}}, CacheControl{NoStore: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ParseRequestCacheControl(tt.h))
		})
	}
	h := http.Header{"Pragma": {"x-foo=1, no-cache"}}
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = ParseRequestCacheControl(h) }))
}
