package cacheurl

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKnownParamsComplete: every parameter an opener (or Options) reads is
// in knownParams, which errors and Redact use to tell a parameter from the
// tail of a password with a raw '&': a name missing there would be hidden
// from errors and dropped by Redact in a URL with a password.
func TestKnownParamsComplete(t *testing.T) {
	for scheme, raw := range map[string]string{
		"simple":          "simple://?zz_unknown=1",
		"null":            "null://?zz_unknown=1",
		"file":            "file:///nonexistent/cacheurl?zz_unknown=1",
		"redis":           "redis://h?zz_unknown=1",
		"rediss":          "rediss://h?zz_unknown=1",
		"unix":            "unix:///run/redis.sock?zz_unknown=1",
		"redis+cluster":   "redis+cluster://h?zz_unknown=1",
		"rediss+cluster":  "rediss+cluster://h?zz_unknown=1",
		"redis+sentinel":  "redis+sentinel://h/m?zz_unknown=1&route_by_latency=1&route_randomly=1",
		"rediss+sentinel": "rediss+sentinel://h/m?zz_unknown=1",
		"memcached":       "memcached://h?zz_unknown=1",
	} {
		u, err := parse(raw)
		require.NoError(t, err, raw)
		_, err = openers[scheme](u)
		require.Error(t, err, raw)
		for _, name := range u.params.asked {
			assert.True(t, knownParams[name], "%s reads %s, which knownParams lacks", scheme, name)
		}
	}
	assert.Len(t, openers, 11, "a scheme was added: test it here")
	for _, name := range append(cacheParams, "key_prefix", "default_timeout") {
		assert.True(t, knownParams[name], name)
	}
	assert.False(t, knownParams["zz_unknown"])
}
