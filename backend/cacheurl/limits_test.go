package cacheurl_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/cacheurl"
)

// TestConnectionCountsBounded: pool_size=1000000 made Open allocate 274 MiB
// (go-redis sizes its pool when the client is built) and 2147483647 killed
// the process; every count of connections is refused above 10000, and
// max_redirects above 10, with a parameter error that gives the range.
func TestConnectionCountsBounded(t *testing.T) {
	type limit struct {
		url, name string
		max       string   // the largest value accepted
		over      []string // values refused
	}
	conns := []string{"10001", "1000000", "2147483647", "9223372036854775807"}
	var limits []limit
	for _, name := range []string{"pool_size", "min_idle_conns", "max_idle_conns", "max_active_conns"} {
		for _, u := range []string{"redis://127.0.0.1:1", "unix:///run/redis.sock", "redis+cluster://127.0.0.1:1", "redis+sentinel://127.0.0.1:1/mymaster"} {
			limits = append(limits, limit{u, name, "10000", conns})
		}
	}
	limits = append(limits,
		limit{"memcached://127.0.0.1:1", "max_idle_conns", "10000", conns},
		limit{"redis+cluster://127.0.0.1:1", "max_redirects", "10", []string{"11", "2147483647"}},
	)
	for _, l := range limits {
		for _, over := range l.over {
			raw := l.url + "?" + l.name + "=" + over
			t.Run(raw, func(t *testing.T) {
				b, err := cacheurl.Open(raw)
				if err == nil {
					require.NoError(t, b.Close())
				}
				require.Error(t, err)
				var e *cacheurl.Error
				require.True(t, errors.As(err, &e), "%T", err)
				assert.Equal(t, l.name, e.Param)
				assert.Contains(t, e.Reason, "to "+l.max)
			})
		}
		raw := l.url + "?" + l.name + "=" + l.max
		t.Run(raw, func(t *testing.T) {
			b, err := cacheurl.Open(raw)
			require.NoError(t, err)
			require.NoError(t, b.Close())
		})
	}
}
