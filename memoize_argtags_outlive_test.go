package caching

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeArgTagsOfRecycledArgumentInLeaseWaitDoesNotPanicJoiners: the
// partial copy shares the CacheKey-keyed *outliveSession with the caller.
// Behind a lease held by another process, the leader's work waits and then
// looks the entry up again with the keys of its tags: those ArgTags made
// while the caller still held its argument, not ArgTags again on what the
// copy shares with a caller that left and recycled it, whose nil
// dereference would be the flight's panic, handed to a joiner with a live
// ctx and an intact argument.
func TestMemoizeArgTagsOfRecycledArgumentInLeaseWaitDoesNotPanicJoiners(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := leasePair(t, Options{Lease: time.Minute})
		release := make(chan struct{})
		tags := ArgTags(func(q outliveQuery) []string { return []string{"user:" + q.S.P.ID} })
		fn := func(_ context.Context, q outliveQuery) (string, error) {
			return "session of " + q.S.P.ID, nil
		}
		mb := Memoize(b, "argtags-lease-argtags", func(ctx context.Context, q outliveQuery) (string, error) {
			id := q.S.P.ID
			<-release
			return "session of " + id, nil
		}, TTL(time.Minute), tags)
		ma := Memoize(a, "argtags-lease-argtags", fn, TTL(time.Minute), tags)
		alice := func() outliveQuery { return outliveQuery{S: &outliveSession{P: &outliveProfile{ID: "alice"}}} }

		go func() { _, _ = mb.Get(context.Background(), alice()) }()
		synctest.Wait() // b holds the lease and runs fn

		s := &outliveSession{P: &outliveProfile{ID: "alice"}}
		// a's work waits for b's lease.
		got, panicked, err := leaderLeavesJoiner(
			func(ctx context.Context) { _, _ = ma.Get(ctx, outliveQuery{S: s}) },
			func() (string, error) { return ma.Get(context.Background(), alice()) },
			func() { *s = outliveSession{} }, // recycled once Get returned
			func() { close(release) },
		)
		if panicked != nil {
			if pe, ok := panicked.(*PanicError); ok {
				t.Log(string(pe.Stack))
			}
			t.Fatalf("a joiner with a live ctx panicked on another caller's recycled argument: %v", panicValue(panicked))
		}
		require.NoError(t, err)
		assert.Equal(t, "session of alice", got)
	})
}
