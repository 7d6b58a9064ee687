package caching

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestGetOrSetJoinerCountsAHit: two concurrent GetOrSet calls share one
// load: the call that ran it counts a miss, the one served its result a
// hit (it did not run load), as Memoize and Fragment count them.
func TestGetOrSetJoinerCountsAHit(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		synctest.Test(t, func(t *testing.T) {
			c, _ := k.open(t, nil, nil, Options{})
			release := make(chan struct{})
			loads := 0
			load := func(context.Context) (int, error) { loads++; <-release; return 7, nil }
			var wg sync.WaitGroup
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					v, err := GetOrSet(context.Background(), c, "k", time.Minute, load)
					assert.NoError(t, err)
					assert.Equal(t, 7, v)
				}()
				synctest.Wait()
			}
			close(release)
			wg.Wait()
			assert.Equal(t, 1, loads)
			s := c.Stats()
			assert.EqualValues(t, 1, s.Misses, "one call ran load")
			assert.EqualValues(t, 1, s.Hits, "the other was served its result")
			c.Close()
		})
	})
}
