package cacheurl_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-caching/caching/backend/cacheurl"
)

// FuzzOpen: any URL either opens a backend or gets an *Error wrapping
// ErrInvalidURL, and neither the error nor Redact shows a password, given
// as userinfo or as the password parameter. file:// and memcached:// are
// left out: they would create directories and resolve host names.
func FuzzOpen(f *testing.F) {
	for _, seed := range [][4]string{
		{"simple", "", "", "max_entries=10&max_bytes=64MiB"},
		{"null", "", "", ""},
		{"redis", "u", "h:6379/0", "dial_timeout=1s"},
		{"redis+cluster", "", "h1:1,h2:2", "prefix=p"},
		{"redis+sentinel", "", "h:26379/m/0", "password=x"},
		{"unix", "u", "/run/redis.sock", "db=1"},
		{"rediss", "", "[::1]:6380", "skip_verify=true"},
		{"simple", "", "", "a=%zz"},
		{"redis", "", "[::1", ""},
		{"redis", "", "h:0", "default_timeout=300&key_prefix=x"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	const secret = "PASSWORD-9f3c"
	f.Fuzz(func(t *testing.T, scheme, user, rest, query string) {
		if s := strings.ToLower(scheme); strings.HasPrefix(s, "file") || strings.HasPrefix(s, "memcached") ||
			strings.ContainsAny(user, "/?#@") || strings.Contains(rest+query, secret) {
			t.Skip()
		}
		for _, raw := range []string{
			scheme + "://" + user + ":" + secret + "@" + rest + "?" + query, // the secret is the password
			scheme + "://" + rest + "?password=" + secret + "&" + query,     // the secret is the master's
		} {
			if strings.Contains(cacheurl.Redact(raw), secret) {
				t.Fatalf("Redact(%q) shows the password: %s", raw, cacheurl.Redact(raw))
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
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("%q: the error shows the password: %v", raw, err)
			}
		}
	})
}
