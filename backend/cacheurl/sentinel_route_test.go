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
// value, and still accepted, as false, for a cluster (true reads from
// replicas: see TestReplicaReadOptionsRefused).
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
		raw := "redis+cluster://127.0.0.1:6379?" + name + "=false"
		b, err := cacheurl.Open(raw)
		require.NoError(t, err, raw)
		require.NoError(t, b.Close())
	}
}

// TestReplicaReadOptionsRefused: read_only, route_by_latency, route_randomly
// (cluster) and replica_only (sentinel) send reads to replicas, which lag
// their master: a read after the cache's own Delete or InvalidateTags could
// find the value from before it. They are refused when true with a
// parameter error, and accepted as false.
func TestReplicaReadOptionsRefused(t *testing.T) {
	for _, tc := range []struct{ scheme, name string }{
		{"redis+cluster://127.0.0.1:6379", "read_only"},
		{"redis+cluster://127.0.0.1:6379", "route_by_latency"},
		{"rediss+cluster://127.0.0.1:6379", "route_randomly"},
		{"redis+sentinel://127.0.0.1:26379/m", "replica_only"},
	} {
		for _, value := range []string{"true", "1"} {
			raw := tc.scheme + "?" + tc.name + "=" + value
			t.Run(raw, func(t *testing.T) {
				b, err := cacheurl.Open(raw)
				require.Error(t, err, "opened %T", b)
				assert.ErrorIs(t, err, cacheurl.ErrInvalidURL)
				var e *cacheurl.Error
				require.True(t, errors.As(err, &e), "%T", err)
				assert.Equal(t, tc.name, e.Param)
				assert.Contains(t, e.Reason, "reads must go to the masters")
			})
		}
		b, err := cacheurl.Open(tc.scheme + "?" + tc.name + "=false")
		require.NoError(t, err)
		require.NoError(t, b.Close())
	}
}
