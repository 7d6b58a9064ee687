package caching

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInvalidationsRetriedAfterOutage: InvalidateTags, InvalidatePath,
// Forget and ForgetAll returned the backend's error and did nothing more,
// so a program that changed its data while the cache was down (it cannot
// undo the change) had the old values served again once the backend was
// back, until their TTL ended, unless it kept its own retry loop. They are
// retried in the background as InvalidateOnWrite's are.
func TestInvalidationsRetriedAfterOutage(t *testing.T) {
	for _, api := range []string{"InvalidateTags", "InvalidatePath", "Forget", "ForgetAll"} {
		t.Run(api, func(t *testing.T) {
			e := newWriteEnv(t) // a remote store that can fail, a breaker that never opens
			ctx := context.Background()
			var data int
			m := Memoize(e.c, "price", func(context.Context, int) (int, error) { return data, nil }, Tags("prices"), TTL(time.Hour))
			data = 1
			get(e.mux, "/items/1")
			v, err := m.Get(ctx, 7)
			require.NoError(t, err)
			require.Equal(t, 1, v)

			data = 2 // the data changes while the cache is down
			e.r.fail.Store(true)
			switch api {
			case "InvalidateTags":
				require.Error(t, e.c.InvalidateTags(ctx, "prices"))
			case "InvalidatePath":
				require.Error(t, e.c.InvalidatePath(ctx, "/items/1"))
			case "Forget":
				require.Error(t, m.Forget(ctx, 7))
			case "ForgetAll":
				require.Error(t, m.ForgetAll(ctx))
			}
			assert.EqualValues(t, 1, e.c.Stats().PendingInvalidations, "the invalidation waits")
			e.r.fail.Store(false)
			require.Eventually(t, func() bool { return e.c.Stats().PendingInvalidations == 0 }, 5*time.Second, 5*time.Millisecond,
				"retried once the backend answers")

			if api == "InvalidatePath" {
				get(e.mux, "/items/1")
				assert.EqualValues(t, 2, e.reads.calls.Load(), "the old response is gone")
				return
			}
			v, err = m.Get(ctx, 7)
			require.NoError(t, err)
			assert.Equal(t, 2, v, "the value from before the change is gone")
		})
	}
}
