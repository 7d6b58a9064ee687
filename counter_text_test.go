package caching

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/filesystem"
	"github.com/go-caching/caching/backend/memcached"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// counterlessBackend hides the backend's own counter (backend.Incrementer),
// so that Incr reads and writes back.
type counterlessBackend struct{ backend.Backend }

// TestSetIntegerIncrAgreesAcrossBackends: a value written by Set is a
// counter only when it is an integer as strconv.FormatInt writes it, as
// Redis's INCRBY reads one. Set stored every value strconv.ParseInt reads
// ("007", "+5", "-0") as a bare counter: the in-process store counted on
// from it, Redis refused it, so one program got 8 on one backend and
// ErrNotInteger on the other. Now every backend refuses those values and
// returns them as they were written.
func TestSetIntegerIncrAgreesAcrossBackends(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprint("caching-counter-text-", time.Now().UnixNano())
	backends := map[string]func(t *testing.T) backend.Backend{
		"simple":      func(t *testing.T) backend.Backend { return newSimple(t, nil) },
		"counterless": func(t *testing.T) backend.Backend { return counterlessBackend{newSimple(t, nil)} },
		"filesystem": func(t *testing.T) backend.Backend {
			b, err := filesystem.New(filesystem.Options{Dir: t.TempDir()})
			require.NoError(t, err)
			return b
		},
		"redis": func(t *testing.T) backend.Backend {
			b, err := redisstore.New(redisstore.Options{URL: testutil.SlowRedisURL(t, 0), Prefix: ns + ":"})
			require.NoError(t, err)
			return b
		},
		"memcached": func(t *testing.T) backend.Backend {
			b, err := memcached.New(memcached.Options{Servers: testutil.MemcachedAddrs(t), Namespace: ns, Timeout: testutil.SlowTimeout})
			require.NoError(t, err)
			return b
		},
	}
	cases := []struct {
		set  string
		want string // the counter after Incr(1), or "" for ErrNotInteger
	}{
		{"41", "42"},
		{"0", "1"},
		{"-41", "-40"},
		{"007", ""},
		{"+5", ""},
		{"-0", ""},
		{"00", ""},
		{" 5", ""},
		{"5 ", ""},
		{"-9223372036854775808", "-9223372036854775807"},
		{"9223372036854775808", ""},
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			c, err := New(&Options{Backend: open(t), Timeout: testutil.SlowTimeout})
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Clear(ctx); _ = c.Close() })
			for _, tc := range cases {
				if name == "memcached" && tc.set[0] == '-' {
					continue // memcached's counters are unsigned
				}
				key := "n" + tc.set
				require.NoError(t, c.Set(ctx, key, []byte(tc.set), time.Minute))
				n, err := c.Incr(ctx, key, 1)
				if tc.want == "" {
					assert.ErrorIs(t, err, backend.ErrNotInteger, "Set(%q) then Incr(1) = %d", tc.set, n)
					got, err := c.Get(ctx, key)
					require.NoError(t, err)
					assert.Equal(t, tc.set, string(got), "Get after a refused Incr")
					continue
				}
				if assert.NoError(t, err, "Set(%q) then Incr(1)", tc.set) {
					assert.Equal(t, tc.want, fmt.Sprint(n), "Set(%q) then Incr(1)", tc.set)
				}
			}
		})
	}
}
