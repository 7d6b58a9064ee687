package cacheurl_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/cacheurl"
)

// TestSentinelRouteOptionsRefused: route_by_latency and route_randomly made
// Open panic for a Sentinel URL (go-redis's NewFailoverClient panics on
// them); they are refused with an ordinary parameter error, whatever their
// value, and still accepted for a cluster.
func TestSentinelRouteOptionsRefused(t *testing.T) {
	for _, name := range []string{"route_by_latency", "route_randomly"} {
		for _, value := range []string{"true", "1", "false"} {
			for _, scheme := range []string{"redis+sentinel", "rediss+sentinel"} {
				raw := scheme + "://127.0.0.1:26379/mymaster?" + name + "=" + value
				t.Run(raw, func(t *testing.T) {
					var (
						b   any
						err error
					)
					require.NotPanics(t, func() { b, err = cacheurl.Open(raw) })
					require.Error(t, err, "opened %T", b)
					assert.ErrorIs(t, err, cacheurl.ErrInvalidURL)
					var e *cacheurl.Error
					require.True(t, errors.As(err, &e), "%T", err)
					assert.Equal(t, "parameter", e.Part)
					assert.Equal(t, name, e.Param)
					assert.Contains(t, e.Reason, "redis+cluster://")
				})
			}
		}
		raw := "redis+cluster://127.0.0.1:6379?" + name + "=true"
		b, err := cacheurl.Open(raw)
		require.NoError(t, err, raw)
		require.NoError(t, b.Close())
	}
}
