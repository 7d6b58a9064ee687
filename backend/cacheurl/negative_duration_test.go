package cacheurl_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/cacheurl"
)

// TestNegativeDurationsRefused: a whole number of seconds below
// -9223372036 wrapped around to a positive duration (-9223372037 became
// about 292 years) and was accepted by every duration parameter; a
// read_timeout so given reached go-redis, which reads a duration <= 0 as
// no timeout at all. Every negative duration is refused, but the -1 that
// sweep_interval and generation_ttl document as "none".
func TestNegativeDurationsRefused(t *testing.T) {
	params := map[string][]string{
		"simple://":                              {"sweep_interval"},
		"memcached://127.0.0.1:11211?near=1&":    {"timeout", "generation_ttl", "generation_grace", "near_max_stale"},
		"redis://127.0.0.1:6379?":                {"dial_timeout", "read_timeout", "write_timeout", "pool_timeout", "conn_max_idle_time", "conn_max_lifetime"},
		"redis+sentinel://127.0.0.1:26379/m?":    {"read_timeout"},
		"redis+cluster://127.0.0.1:6379?near=1&": {"read_timeout", "near_max_stale"},
	}
	negative := []string{"-9223372037", "-9223372036854775808", "-9223372036", "-5", "-2", "-1s", "-1ns", "-1m30s", "-9223372037s"}
	for base, names := range params {
		for _, name := range names {
			for _, v := range negative {
				raw := base + name + "=" + v
				if base == "simple://" {
					raw = base + "?" + name + "=" + v
				}
				t.Run(raw, func(t *testing.T) {
					b, err := cacheurl.Open(raw)
					if err == nil {
						require.NoError(t, b.Close())
					}
					require.Error(t, err)
					var e *cacheurl.Error
					require.True(t, errors.As(err, &e), "%T", err)
					assert.Equal(t, name, e.Param)
				})
			}
		}
	}
	for _, raw := range []string{
		"simple://?sweep_interval=-1",
		"memcached://127.0.0.1:11211?generation_ttl=-1",
		"memcached://127.0.0.1:11211?generation_grace=-1",
		"simple://?sweep_interval=9223372036",
	} {
		b, err := cacheurl.Open(raw)
		require.NoError(t, err, raw)
		require.NoError(t, b.Close())
	}
	for _, v := range []string{"9223372037", "-1"} {
		_, err := cacheurl.Open("redis://127.0.0.1:6379?read_timeout=" + v)
		assert.ErrorIs(t, err, cacheurl.ErrInvalidURL, v)
	}

	for _, v := range append(negative, "-1") {
		o, err := cacheurl.Options("simple://?default_timeout=" + v)
		if err == nil {
			require.NoError(t, o.Backend.Close())
			t.Fatalf("default_timeout=%s accepted as DefaultTTL %v", v, o.DefaultTTL)
		}
		var e *cacheurl.Error
		require.True(t, errors.As(err, &e), "%T", err)
		assert.Equal(t, "default_timeout", e.Param)
	}
}
