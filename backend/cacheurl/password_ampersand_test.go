package cacheurl_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/cacheurl"
)

// TestPasswordAmpersandNotShown: a Sentinel master's password with a raw
// '&' split the query, and its tail came back as a parameter name in the
// error ("parameter TopSecretTail: has no value") and in Redact
// ("?TopSecretTail=&password=xxxxx"). In a URL with a password, errors do
// not name a parameter no scheme reads, and Redact drops such parameters;
// known names are still named and kept.
func TestPasswordAmpersandNotShown(t *testing.T) {
	const tail = "TopSecretTail"
	for _, tc := range []struct{ url, want string }{
		{"redis+sentinel://127.0.0.1:26379/mymaster?password=abc&" + tail, "has no value"},
		{"redis+sentinel://127.0.0.1:26379/mymaster?password=abc&" + tail + "=x", "is unknown for redis+sentinel://; want one of"},
		{"redis+sentinel://127.0.0.1:26379/mymaster?password=abc&" + tail + "&" + tail, "is given more than once"},
		{"redis+sentinel://127.0.0.1:26379/mymaster?prefix=p&Password=abc&" + tail + "=x", "is unknown"},
		{"redis://:abc@127.0.0.1:6379?" + tail + "=x", "is unknown for redis://"},
		{"simple://?password=abc&" + tail + "=x", "is unknown for simple://"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			b, err := cacheurl.Open(tc.url)
			if err == nil {
				require.NoError(t, b.Close())
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, cacheurl.ErrInvalidURL)
			var e *cacheurl.Error
			require.True(t, errors.As(err, &e), "%T", err)
			assert.Equal(t, "parameter", e.Part)
			assert.Empty(t, e.Param)
			assert.Contains(t, err.Error(), "cacheurl: an unknown parameter: "+tc.want)
			assert.Contains(t, err.Error(), "%26")
			assert.NotContains(t, err.Error(), tail)
			assert.NotContains(t, cacheurl.Redact(tc.url), tail)
		})
	}

	// Known names are shown, with a password or not; unknown ones without
	// a password too.
	for _, tc := range []struct{ url, param string }{
		{"redis+sentinel://127.0.0.1:26379/mymaster?password=abc&pool_size=x", "pool_size"},
		{"redis+sentinel://127.0.0.1:26379/mymaster?password=abc&max_entries=1", "max_entries"},
		{"redis+sentinel://127.0.0.1:26379/mymaster?password=abc&near", "near"},
		{"redis://127.0.0.1:6379?bogus=1", "bogus"},
		{"redis://127.0.0.1:6379?bogus", "bogus"},
		{"redis://user@127.0.0.1:6379?bogus=1", "bogus"},
	} {
		_, err := cacheurl.Open(tc.url)
		var e *cacheurl.Error
		require.True(t, errors.As(err, &e), "%s: %v", tc.url, err)
		assert.Equal(t, tc.param, e.Param, tc.url)
		assert.Contains(t, err.Error(), "cacheurl: parameter "+tc.param+": ", tc.url)
	}

	for in, want := range map[string]string{
		"redis+sentinel://h:26379/m?password=abc&" + tail:                   "redis+sentinel://h:26379/m?password=xxxxx",
		"redis+sentinel://h:26379/m?prefix=a:b&password=abc&" + tail + "=x": "redis+sentinel://h:26379/m?prefix=a:b&password=xxxxx",
		"redis+sentinel://h:26379/m?" + tail + "&password=abc&pool_size=5":  "redis+sentinel://h:26379/m?password=xxxxx&pool_size=5",
		"redis://u:abc@h:6379/0?" + tail + "=x&prefix=p":                    "redis://u:xxxxx@h:6379/0?prefix=p",
		"redis://h:6379/0?" + tail + "=x&prefix=p":                          "redis://h:6379/0?" + tail + "=x&prefix=p",
	} {
		assert.Equal(t, want, cacheurl.Redact(in), in)
	}
}
