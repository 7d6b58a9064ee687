package redisstore_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// A go-redis client built without ContextTimeoutEnabled (go-redis's
// default) reads and writes its socket under ReadTimeout and WriteTimeout
// only, whatever the context's deadline: a Cache's per-call
// Options.Timeout did not bound a call (a hung server cost 5 s per
// request). New refuses such a client, naming the fix, and takes it with
// ContextTimeoutEnabled. New does not dial: the addresses need not exist.
func TestNewRefusesClientThatIgnoresContextDeadlines(t *testing.T) {
	addrs := []string{"127.0.0.1:1"}
	type wrapped struct{ *redis.Client }
	for _, tc := range []struct {
		name string
		mk   func(ctxTimeout bool) redis.UniversalClient
	}{
		{"Client", func(on bool) redis.UniversalClient {
			return redis.NewClient(&redis.Options{Addr: addrs[0], ContextTimeoutEnabled: on})
		}},
		{"ClusterClient", func(on bool) redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: on})
		}},
		{"FailoverClient", func(on bool) redis.UniversalClient {
			return redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: addrs, ContextTimeoutEnabled: on})
		}},
		{"Ring", func(on bool) redis.UniversalClient {
			return redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": addrs[0]}, ContextTimeoutEnabled: on})
		}},
		{"UniversalClient", func(on bool) redis.UniversalClient {
			return redis.NewUniversalClient(&redis.UniversalOptions{Addrs: addrs, ContextTimeoutEnabled: on})
		}},
		{"a program's type embedding a Client", func(on bool) redis.UniversalClient {
			return wrapped{redis.NewClient(&redis.Options{Addr: addrs[0], ContextTimeoutEnabled: on})}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			off := tc.mk(false)
			defer off.Close()
			b, err := redisstore.New(redisstore.Options{Client: off})
			if err == nil {
				_ = b.Close()
			}
			require.ErrorIs(t, err, backend.ErrInvalidOption, "a client that ignores the context's deadline")
			assert.Contains(t, err.Error(), "ContextTimeoutEnabled: true")

			on := tc.mk(true)
			defer on.Close()
			b, err = redisstore.New(redisstore.Options{Client: on})
			require.NoError(t, err)
			require.NoError(t, b.Close())
		})
	}
}

// A client of a type whose options go-redis does not show (neither a
// go-redis client nor a type embedding one) cannot be checked: New takes
// it, as documented at Options.Client.
func TestNewTakesClientWhoseOptionsItCannotSee(t *testing.T) {
	c := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: "127.0.0.1:1"})
	defer c.Close()
	b, err := redisstore.New(redisstore.Options{Client: opaque{c}})
	require.NoError(t, err)
	require.NoError(t, b.Close())
}

// opaque hides the Options method of the client it holds.
type opaque struct{ redis.UniversalClient }
