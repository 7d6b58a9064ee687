package caching

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGetOrSetNegativeTTLFailsAlone: a GetOrSet with an invalid (negative)
// TTL was not refused up front: it started the key's load, and a correct
// concurrent GetOrSet of the same key (TTL one minute) joined that load and
// got ErrInvalidTTL, an error about a TTL it never gave, and its value was
// not stored. Now the invalid call returns ErrInvalidTTL before any load,
// and the valid one loads and stores its value.
func TestGetOrSetNegativeTTLFailsAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{Backend: newSimple(t, nil)})
		require.NoError(t, err)
		defer c.Close()
		ctx := t.Context()

		var badLoads atomic.Int64
		release := make(chan struct{})
		bad := make(chan error, 1)
		go func() {
			_, err := GetOrSet(ctx, c, "k", -time.Second, func(context.Context) (string, error) {
				badLoads.Add(1)
				<-release
				return "bad", nil
			})
			bad <- err
		}()
		synctest.Wait() // the invalid call returned, or its load waits
		good := make(chan error, 1)
		go func() {
			_, err := GetOrSet(ctx, c, "k", time.Minute, func(context.Context) (string, error) { return "v", nil })
			good <- err
		}()
		synctest.Wait() // the valid call is done, or waits for the load it joined
		close(release)
		assert.ErrorIs(t, <-bad, ErrInvalidTTL)
		assert.Zero(t, badLoads.Load(), "the call with an invalid TTL ran its load")
		assert.NoError(t, <-good, "a caller with a valid TTL gets the other caller's ErrInvalidTTL")
		v, err := GetAs[string](ctx, c, "k")
		require.NoError(t, err, "the valid call's value is stored")
		assert.Equal(t, "v", v)

		// On a hit too, a negative TTL is an error, as SetAs's is.
		_, err = GetOrSet(ctx, c, "k", -time.Second, func(context.Context) (string, error) { return "bad", nil })
		assert.ErrorIs(t, err, ErrInvalidTTL)
	})
}
