package caching

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// entryReads counts the reads of a view entry (kind v) made once after is
// set.
type entryReads struct {
	*remote
	after atomic.Bool
	reads atomic.Int32
}

func (e *entryReads) count(keys ...string) {
	if !e.after.Load() {
		return
	}
	for _, k := range keys {
		if strings.HasPrefix(k, kindView) {
			e.reads.Add(1)
			return
		}
	}
}

func (e *entryReads) Get(ctx context.Context, key string) ([]byte, error) {
	e.count(key)
	return e.remote.Get(ctx, key)
}

func (e *entryReads) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	e.count(keys...)
	return e.remote.GetMany(ctx, keys)
}

// TestRefreshWithinWindowReadsNoMore: a background refresh that ends
// within its entry's stale window stores its response without reading the
// entry again: only the misses that come past the window (while a refresh
// still runs) store over the entry in this process, and the read as the
// refresh starts already skips an entry replaced before it. A refresh that
// outlasted its window reads it (TestStuckRefreshBoundedByStaleWindow).
func TestRefreshWithinWindowReadsNoMore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &entryReads{remote: &remote{Backend: newSimple(t, nil)}}
		c := Must(&Options{Backend: b})
		defer c.Close()
		var runs atomic.Int32
		h := c.Cached(time.Second, StaleWhileRevalidate(time.Minute), CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if runs.Add(1) == 2 {
				defer b.after.Store(true) // the refresh's handler returns
			}
			_, _ = w.Write([]byte("page"))
		}))
		require.Equal(t, "MISS", get(h, "/a").Header().Get("X-Cache"))
		time.Sleep(1500 * time.Millisecond)
		assert.Equal(t, "STALE", get(h, "/a").Header().Get("X-Cache"))
		synctest.Wait()
		require.EqualValues(t, 2, runs.Load(), "the refresh ran")
		assert.Zero(t, b.reads.Load(), "entry reads after the refresh's handler returned")
		b.after.Store(false)
		assert.Equal(t, "HIT", get(h, "/a").Header().Get("X-Cache"), "the refresh stored")
	})
}
