package cacheurl_test

import (
	"strings"
	"testing"

	"github.com/go-caching/caching/backend/cacheurl"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// TestURLPasswordWithSlashLeaks: a password pasted raw, with a '/' or '?'
// in it, ends the authority early, so that it reads as the host and its
// tail as the path or a parameter. No error and no Redact output shows any
// part of it.
func TestURLPasswordWithSlashLeaks(t *testing.T) {
	for _, raw := range []string{
		"redis://app:Xy7Secret/Part2@cache1:6379/0",
		"redis://app:Xy7Secret?Part2@cache1:6379/0",
		"redis+sentinel://app:Xy7Secret/Part2@s1:26379,s2:26379/mymaster",
		// All digits: the first half reads as a valid host:port.
		"redis://app:1234/5678@cache1:6379/0",
		"redis+sentinel://app:1234/5678@s1:26379",
		"redis+cluster://app:1234?5678@h1:7001,h2:7002",
		"rediss://:Xy7Secret#Part2@cache1:6379",
		"unix://app:1234/5678@/run/redis.sock",
		// An '@' in the password too: the first one ends the authority.
		"redis://app:Xy7Secret@Part2/x@cache1:6379/0",
		"redis+sentinel://app:Xy7Secret@Part2/x@s1:26379/m/0",
	} {
		leaks := func(s string) bool {
			return strings.Contains(s, "Xy7Secret") || strings.Contains(s, "Part2") ||
				strings.Contains(s, "1234") || strings.Contains(s, "5678")
		}
		if _, err := cacheurl.Open(raw); err != nil && leaks(err.Error()) {
			t.Errorf("cacheurl.Open error shows the password: %v", err)
		}
		if _, err := cacheurl.Options(raw); err != nil && leaks(err.Error()) {
			t.Errorf("cacheurl.Options error shows the password: %v", err)
		}
		if _, err := redisstore.New(redisstore.Options{URL: raw}); err != nil && leaks(err.Error()) {
			t.Errorf("redisstore.New error shows the password: %v", err)
		}
		if r := cacheurl.Redact(raw); leaks(r) {
			t.Errorf("Redact(%q) = %q shows the password", raw, r)
		}
	}
}
