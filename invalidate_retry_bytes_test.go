package caching

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pendingBytes is the sum of the lengths of the keys in the retry set.
func pendingBytes(c *Cache) (keys, bytes int) {
	p := &c.store.pending
	p.mu.RLock()
	defer p.mu.RUnlock()
	for k := range p.keys {
		bytes += len(k)
	}
	return len(p.keys), bytes
}

// TestRetrySetBoundedInBytes: the retry set of failed invalidations was
// bounded in keys (maxPendingInvalidations) but not in bytes, and
// InvalidateTags of a long tag adds its legacy version key, the whole tag
// (appendLegacyTagKeys): with the backend down, invalidations of tags made
// of what a client sent (up to a server's 1 MiB of header) held up to 4,096
// of them, gigabytes. The set now holds at most maxPendingInvalidationBytes
// of keys; a key past that takes the path of a full set (the overflow: the
// namespace is cleared once the backend answers), so the invalidation is
// not lost.
func TestRetrySetBoundedInBytes(t *testing.T) {
	e := newWriteEnv(t)
	ctx := context.Background()
	const n, size = 64, 256 << 10 // 64 tags of 256 KiB: 16 MiB of legacy keys
	tag := func(i int) string { return fmt.Sprintf("search:%d:%s", i, strings.Repeat("q", size)) }
	for i := range n {
		require.NoError(t, e.c.Set(ctx, fmt.Sprint("result", i), []byte("old"), time.Hour, Tags(tag(i))))
	}

	e.r.fail.Store(true)
	for i := range n {
		require.Error(t, e.c.InvalidateTags(ctx, tag(i)))
	}
	keys, bytes := pendingBytes(e.c)
	t.Logf("%d keys waiting, %d bytes", keys, bytes)
	assert.LessOrEqual(t, bytes, maxPendingInvalidationBytes, "the keys waiting for their retry")
	assert.Contains(t, e.logs.String(), "retry set full", "the overflow is logged")

	e.r.fail.Store(false)
	require.Eventually(t, func() bool { return e.c.Stats().PendingInvalidations == 0 }, 10*time.Second, 5*time.Millisecond,
		"the invalidations are retried once the backend answers")
	for i := range n {
		_, err := e.c.Get(ctx, fmt.Sprint("result", i))
		assert.ErrorIs(t, err, ErrNotFound, "the entry of tag %d, whose invalidation failed, is not served", i)
	}
}

// TestRetrySetBytesFreedByRetry: the bytes of the keys a retry deleted are
// free again: a set that was near its byte bound takes new keys once its
// retry has landed, without an overflow.
func TestRetrySetBytesFreedByRetry(t *testing.T) {
	e := newWriteEnv(t)
	ctx := context.Background()
	big := strings.Repeat("q", maxPendingInvalidationBytes/3)
	for round := range 3 {
		e.r.fail.Store(true)
		for i := range 2 {
			require.Error(t, e.c.InvalidateTags(ctx, fmt.Sprint(round, i, big)))
		}
		e.r.fail.Store(false)
		require.Eventually(t, func() bool { return e.c.Stats().PendingInvalidations == 0 }, 5*time.Second, 5*time.Millisecond)
	}
	assert.NotContains(t, e.logs.String(), "retry set full", "no round overflowed")
	_, bytes := pendingBytes(e.c)
	assert.Zero(t, bytes)
	p := &e.c.store.pending
	p.mu.RLock()
	defer p.mu.RUnlock()
	assert.Zero(t, p.bytes, "the count of bytes follows the keys")
}
