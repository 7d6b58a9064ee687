package cacheurl_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-caching/caching/backend/cacheurl"
)

// FuzzOpen: any URL either opens a backend or gets an *Error wrapping
// ErrInvalidURL, and neither the error nor Redact shows any part of a
// password, given as userinfo or as the password parameter. The password
// is three markers joined by the fuzzer's delimiters ('/', '?', '#', '@',
// '&', ...), as one pasted raw into a URL: a marker in the output is a
// piece of it that leaked. file:// and memcached:// are left out: they
// would create directories and resolve host names.
func FuzzOpen(f *testing.F) {
	for _, seed := range [][6]string{
		{"simple", "", "", "max_entries=10&max_bytes=64MiB", "", ""},
		{"null", "", "", "", "", ""},
		{"redis", "u", "h:6379/0", "dial_timeout=1s", "", ""},
		{"redis+cluster", "", "h1:1,h2:2", "prefix=p", "", ""},
		{"redis+sentinel", "", "h:26379/m/0", "password=x", "", ""},
		{"unix", "u", "/run/redis.sock", "db=1", "", ""},
		{"rediss", "", "[::1]:6380", "skip_verify=true", "", ""},
		{"simple", "", "", "a=%zz", "", ""},
		{"redis", "", "[::1", "", "", ""},
		{"redis", "", "h:0", "default_timeout=300&key_prefix=x", "", ""},
		// Passwords pasted raw: a '/', '?', '#' or '@' in them.
		{"redis", "app", "cache1:6379/0", "", "/", ""},
		{"redis", "app", "cache1:6379/0", "", "?", "/"},
		{"redis+sentinel", "app", "s1:26379,s2:26379/mymaster", "", "/", ""},
		{"redis", "app", "cache1:6379/0", "", "#", "@"},
		{"redis", "a/b", "h:1", "", ":", ""},
		{"simple", "", "", "", "?=", "&"},
		{"redis", "", "h", "a=b@c", "?", ""},
		{"redis+sentinel", "", "h:26379/m", "prefix=p", "&", "="},
		{"redis+sentinel", "", "h:26379/m", "", "&", "&"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3], seed[4], seed[5])
	}
	f.Fuzz(func(t *testing.T, scheme, user, rest, query, sep1, sep2 string) {
		if s := strings.ToLower(scheme); strings.HasPrefix(s, "file") || strings.HasPrefix(s, "memcached") ||
			strings.Contains(strings.ToUpper(scheme+user+rest+query), "SECRET") {
			t.Skip()
		}
		const delimiters = "/?#@&=:;,%+[]!$'()*"
		secret := "SECRETa" + only(sep1, delimiters) + "SECRETb" + only(sep2, delimiters) + "SECRETc"
		urls := []string{scheme + "://" + user + ":" + secret + "@" + rest + "?" + query} // the secret is the password
		// The secret is the master's password: a raw '&' in it starts
		// another parameter, whose name must not show either; a '?' in rest
		// would start a query before it, which is the URL's syntax, not a
		// leak.
		if !strings.Contains(rest, "?") {
			urls = append(urls, scheme+"://"+rest+"?password="+secret+"&"+query)
		}
		for _, raw := range urls {
			if r := cacheurl.Redact(raw); leaks(r) {
				t.Fatalf("Redact(%q) shows the password: %s", raw, r)
			}
			b, err := cacheurl.Open(raw)
			if err == nil {
				_ = b.Close()
				continue
			}
			var e *cacheurl.Error
			if !errors.As(err, &e) || !errors.Is(err, cacheurl.ErrInvalidURL) {
				t.Fatalf("%q: error %v (%T) is not an *Error wrapping ErrInvalidURL", raw, err, err)
			}
			if leaks(err.Error()) {
				t.Fatalf("%q: the error shows the password: %v", raw, err)
			}
		}
	})
}

// only returns the runes of s that are in set.
func only(s, set string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(set, r) {
			return r
		}
		return -1
	}, s)
}

// leaks reports whether s holds a piece of FuzzOpen's password.
func leaks(s string) bool {
	return strings.Contains(strings.ToUpper(s), "SECRET")
}
