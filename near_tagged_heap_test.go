package caching

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestNearTaggedEntriesStayWithinMaxBytes: an entry read from the remote
// store was kept near with its payload aliasing the whole reply (header,
// every tag key with its version, payload), while the near cache counted
// the payload and the entry's own copies of the tag keys, never the tag
// keys' bytes in the reply. Entries written under many long tags with small
// payloads made a near cache of MaxBytes hold about 1.8×MaxBytes of live
// heap. Now a near entry whose reply holds much more than its payload keeps
// a copy of the payload instead of the reply, and a decoded entry counts
// the reply it holds: the live heap stays within the byte bound.
func TestNearTaggedEntriesStayWithinMaxBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("writes some 20 MiB to Redis and measures the heap")
	}
	ctx := context.Background()
	const (
		maxBytes = 8 << 20
		nTags    = maxEntryTags
		values   = 100 // several times what fits
		slack    = 512 << 10
	)
	c, n := onNearRedis(t, maxBytes)
	tags := make([]string, nTags)
	for i := range tags {
		tags[i] = fmt.Sprintf("%04d-%s", i, strings.Repeat("t", 180))
	}
	for i := range values {
		require.NoError(t, c.Set(ctx, fmt.Sprint("v", i), []byte("x"), time.Hour, Tags(tags...)))
	}
	liveHeap := func() int64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	// One read first warms the client and keeps the tags' versions near.
	_, err := c.Get(ctx, "v0")
	require.NoError(t, err)
	before := liveHeap()
	for range 2 { // the first reads may be refused (see keepNear): read twice
		for i := range values {
			got, err := c.Get(ctx, fmt.Sprint("v", i))
			require.NoError(t, err)
			require.Equal(t, "x", string(got))
		}
	}
	held := liveHeap() - before
	st := n.NearStats()
	t.Logf("%d entries near, %d bytes counted, %d evicted; live heap %.2f MiB = %.2f×MaxBytes",
		st.Entries, st.Bytes, st.Evictions, float64(held)/(1<<20), float64(held)/maxBytes)
	require.Positive(t, st.Evictions, "the near cache was filled past its bound")
	require.LessOrEqual(t, st.Bytes, int64(maxBytes))
	require.LessOrEqual(t, held, int64(maxBytes*3/2+slack),
		"the near cache holds at most 1.5×MaxBytes (see TestNearCacheCountsDecodedValues) plus %d", slack)
	runtime.KeepAlive(c)
}

// TestDecodedEntryCountsItsReply: a decoded entry's payload aliases the
// reply it was decoded from, which stays alive with it: the entry counts
// all of the reply, besides its own copies of the tag keys.
func TestDecodedEntryCountsItsReply(t *testing.T) {
	e := newEntry(time.Now().UnixNano(), time.Hour, 0)
	e.TagKeys = []string{strings.Repeat("a", 300), strings.Repeat("b", 300)}
	e.Versions = []uint64{1, 2}
	e.Payload = []byte("payload")
	raw := encodeEntry(e)
	raw = append(make([]byte, 0, len(raw)+100), raw...) // a reply with room to spare
	d, err := decodeEntry(raw)
	require.NoError(t, err)
	require.Equal(t, "payload", string(d.Payload))
	require.GreaterOrEqual(t, d.memSize(), cap(raw)+600,
		"the whole reply and the copies of the tag keys")
}
