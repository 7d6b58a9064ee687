package cacheurl_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/cacheurl"
)

// Regression: integer parameters were read with strconv.Atoi, which takes
// a sign and leading zeros: max_entries=%2B5 (a '+' escaped, as a raw one
// reads as a space), -0 and 007 were accepted, where sizes and ports
// refused a '+'; durations took a sign too (%2B5s, -0s, -0) and sizes and
// ports a -0 and leading zeros. Every number a cache URL holds is now
// written one way: decimal digits, no sign and no leading zero (0 itself
// is one), but the -1 some parameters take; a Go duration, no sign.
func TestNumbersWrittenOneWay(t *testing.T) {
	refused := []struct{ url, part, param string }{
		{"simple://?max_entries=%2B5", "parameter", "max_entries"},
		{"simple://?max_entries=-0", "parameter", "max_entries"},
		{"simple://?max_entries=007", "parameter", "max_entries"},
		{"simple://?max_entries=00", "parameter", "max_entries"},
		{"simple://?threshold=010", "parameter", "max_entries"},
		{"file:///tmp/cacheurl?max_entries=-01", "parameter", "max_entries"},
		{"file:///tmp/cacheurl?max_entries=-0", "parameter", "max_entries"},
		{"file:///tmp/cacheurl?max_entries=%2B1", "parameter", "max_entries"},
		{"redis://127.0.0.1:6379?pool_size=%2B4", "parameter", "pool_size"},
		{"redis://127.0.0.1:6379?max_retries=-01", "parameter", "max_retries"},
		{"redis://127.0.0.1:6379?protocol=03", "parameter", "protocol"},
		{"unix:///run/redis.sock?db=01", "parameter", "db"},
		{"simple://?max_bytes=%2B5", "parameter", "max_bytes"},
		{"simple://?max_bytes=-0", "parameter", "max_bytes"},
		{"simple://?max_bytes=01024", "parameter", "max_bytes"},
		{"simple://?max_bytes=064MiB", "parameter", "max_bytes"},
		{"file:///tmp/cacheurl?max_bytes=-01", "parameter", "max_bytes"},
		{"simple://?sweep_interval=%2B5", "parameter", "sweep_interval"},
		{"simple://?sweep_interval=%2B5s", "parameter", "sweep_interval"},
		{"simple://?sweep_interval=007", "parameter", "sweep_interval"},
		{"simple://?sweep_interval=-01", "parameter", "sweep_interval"},
		{"memcached://127.0.0.1:11211?generation_ttl=-1s", "parameter", "generation_ttl"},
		{"redis://127.0.0.1:6379?read_timeout=%2B1m", "parameter", "read_timeout"},
		{"redis://127.0.0.1:06379", "host", ""},
		{"redis://127.0.0.1:-0", "host", ""},
		{"redis://127.0.0.1:6379/00", "path", ""},
		{"redis://127.0.0.1:6379/01", "path", ""},
		{"redis+sentinel://127.0.0.1:26379/m/01", "path", ""},
	}
	for _, tc := range refused {
		t.Run(tc.url, func(t *testing.T) {
			b, err := cacheurl.Open(tc.url)
			if err == nil {
				require.NoError(t, b.Close())
			}
			var e *cacheurl.Error
			require.True(t, errors.As(err, &e), "accepted, or not a *cacheurl.Error: %v", err)
			assert.Equal(t, tc.part, e.Part)
			assert.Equal(t, tc.param, e.Param)
		})
	}
	// default_timeout is read by Options.
	for _, v := range []string{"%2B5", "-0", "007", "-0s", "%2B5s"} {
		_, err := cacheurl.Options("simple://?default_timeout=" + v)
		var e *cacheurl.Error
		if assert.True(t, errors.As(err, &e), "default_timeout=%s: %v", v, err) {
			assert.Equal(t, "default_timeout", e.Param)
		}
	}
	for _, raw := range []string{
		"simple://?max_entries=0&max_bytes=0&sweep_interval=300",
		"simple://?max_entries=10&max_bytes=64MiB&sweep_interval=1m05s",
		"simple://?max_bytes=0KiB&sweep_interval=-1",
		"file:///tmp/cacheurl?max_entries=-1&max_bytes=-1&sweep_interval=500ms",
		"memcached://127.0.0.1:11211?generation_ttl=-1&timeout=1s",
		"redis://127.0.0.1:6379/0?max_retries=-1&protocol=3&pool_size=10&read_timeout=2",
		"redis://127.0.0.1:6379/10",
		"redis://127.0.0.1:1",
	} {
		b, err := cacheurl.Open(raw)
		if assert.NoError(t, err, raw) {
			require.NoError(t, b.Close())
		}
	}
	o, err := cacheurl.Options("simple://?default_timeout=0")
	require.NoError(t, err)
	require.NoError(t, o.Backend.Close())
}
