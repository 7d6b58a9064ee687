package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/internal/testutil"
)

// TestOutageEveryRequestServed: with its Redis stopped, the catalog fell
// from 16,700 req/s to 335 (issue 12, item 9). The start of the -outage run,
// on a Redis and a memcached of the test's own: while the server is killed
// or blackholed no request fails, and once it is back the same service
// caches again, with no restart.
func TestOutageEveryRequestServed(t *testing.T) {
	redis.SetLogger(&logging.VoidLogger{}) // a line per failed dial otherwise
	items := workload()[:300]
	for _, b := range outageBackends {
		t.Run(b.name, func(t *testing.T) {
			srv := testutil.StartProcess(t, b.bin, b.args)
			// A short cool-down, so that the breaker lets a probe through
			// early in the short run after the restart.
			rs, err := outageRound(context.Background(), t.TempDir(), workloadMinSeed, b, srv, items, caching.BreakerOptions{Cooldown: time.Millisecond})
			require.NoError(t, err)
			bs, err := blackholeRound(context.Background(), t.TempDir(), workloadMinSeed, b, items, items[:8])
			require.NoError(t, err)

			all := append(rs, bs...)
			byMode := map[string]outageResult{}
			for _, r := range all {
				byMode[r.name] = r
				assert.Zero(t, r.errors, "%s: failed requests", r.name)
			}
			for _, mode := range []string{modeNull, modeUp, modeKilled, modeKilledNoBreaker, modeRestarted, modeRecovered, modeBlackhole, modeBlackholeAgain} {
				require.Len(t, byMode[mode].latencies, len(items), mode)
			}
			require.Len(t, byMode[modeBlackholeNoBrk].latencies, 8)

			assert.Positive(t, byMode[modeUp].hitRatio, "no hits with the server up")
			for _, mode := range []string{modeKilled, modeKilledNoBreaker, modeBlackhole, modeBlackholeNoBrk} {
				assert.Positive(t, byMode[mode].cacheErrors, "%s: the cache saw no backend error", mode)
			}
			assert.NotEqual(t, "closed", byMode[modeBlackhole].breaker, "the breaker did not open on a server that never answers")
			// outageRound fails if the breaker does not close within
			// recoveryLimit of the restart.
			assert.Positive(t, byMode[modeRestarted].recovery)
			assert.Positive(t, byMode[modeRecovered].hitRatio, "no hits after the restart: the service did not recover")
			assert.Equal(t, "closed", byMode[modeRecovered].breaker)

			var out bytes.Buffer
			writeOutageTable(&out, all)
			assert.Contains(t, out.String(), modeRestarted)
		})
	}
}
