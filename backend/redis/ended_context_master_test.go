package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// endedContexts returns contexts that ended before a call was sent: one
// cancelled, one whose deadline had passed, one whose deadline had passed
// long after it was set (a caller that waited before calling).
func endedContexts(t *testing.T) map[string]context.Context {
	t.Helper()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	passed, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
	t.Cleanup(cancel2)
	waited, cancel3 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	t.Cleanup(cancel3)
	<-waited.Done()
	cause, cancel4 := context.WithCancelCause(context.Background())
	cancel4(errors.New("the caller left"))
	return map[string]context.Context{"cancelled": cancelled, "deadline passed": passed, "waited": waited, "cancelled with a cause": cause}
}

// callEvery calls every operation of the Store on key under ctx.
func callEvery(b *redisstore.Store, ctx context.Context, key string) {
	_, _ = b.Get(ctx, key)
	_ = b.Set(ctx, key, []byte("v-"+key), time.Minute)
	_, _ = b.Add(ctx, key, []byte("v"), time.Minute)
	_, _ = b.Incr(ctx, key+"-n", 1)
	_, _ = b.Has(ctx, key)
	_, _ = b.GetMany(ctx, []string{key})
	_ = b.SetMany(ctx, []backend.Item{{Key: key, Value: []byte("v-" + key), TTL: time.Minute}})
	_, _ = b.DeleteCount(ctx, key+"-gone")
	_ = b.Delete(ctx, key+"-gone")
}

// Regression: a call whose context had ended before it was sent (cancelled,
// or its deadline passed) counted as a connection failure of its master
// where the master is dead or hangs: callers that had left marked the
// master down, a refusal to every caller for a second, on no evidence of
// the master's. Only calls whose caller waited for the master count: after
// any number of ended callers, marking the master down takes the usual
// three failures.
func TestClusterEndedContextsDoNotCountAgainstMaster(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"killed", "hung"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			c, b, keys := ownClusterStore(t, "ended-"+how)
			switch how {
			case "killed":
				c.nodes[1].Stop()
			case "hung":
				c.hang(t, 1)
			}
			for range 2 {
				for name, ctx := range endedContexts(t) {
					_, err := b.Get(ctx, keys[1])
					require.Error(t, err, name)
					assert.NotErrorIs(t, err, backend.ErrServerDown, "%s: the master is not marked down", name)
					callEvery(b, ctx, keys[1])
				}
			}
			n, _ := markDown(t, b, keys[1])
			assert.Equal(t, masterDownAfter+1, n, "the ended callers counted nothing")
		})
	}
}
