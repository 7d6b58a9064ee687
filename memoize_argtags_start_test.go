package caching

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pooledSession is keyed by its own method, so a copy of an argument that
// holds one shares it with the caller. Its recycled flag stands for a
// caller that put it back in a pool once Get returned: every method then
// panics, as one reading a zeroed session would (an atomic flag, so that
// the race detector sees no race in the test's own recycling).
type pooledSession struct {
	ID       string
	recycled atomic.Bool
}

func (s *pooledSession) user() string {
	if s.recycled.Load() {
		panic("pooledSession used after it was recycled")
	}
	return s.ID
}

func (s *pooledSession) CacheKey() string { return s.user() }

type pooledQuery struct{ S *pooledSession }

// TestMemoizeArgTagsOfRecycledArgumentAtWorkStartDoesNotPanicJoiners: a
// caller whose ctx ends before its computation's goroutine starts makes
// the argument as it returns (giveBack), a partial copy sharing its
// session, with the keys of its tags made then; it recycles the session; a
// caller with a live ctx and a session of its own joins; the work starts
// with the tag keys made in giveBack, calls no ArgTags on the recycled
// session (whose panic would be the joiner's), and the joiner gets its
// own result.
func TestMemoizeArgTagsOfRecycledArgumentAtWorkStartDoesNotPanicJoiners(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c, err := New(&Options{})
	require.NoError(t, err)
	defer c.Close()
	var fnUsedRecycled atomic.Bool
	m := Memoize(c, "argtags-start", func(_ context.Context, q pooledQuery) (s string, err error) {
		defer func() {
			if recover() != nil {
				fnUsedRecycled.Store(true)
				err = context.Canceled // what a handler would make of it
			}
		}()
		return "session of " + q.S.user(), nil
	}, TTL(time.Minute), ArgTags(func(q pooledQuery) []string { return []string{"user:" + q.S.user()} }))

	s := &pooledSession{ID: "alice"}
	_, err = m.Get(newEarlyEndCtx(), pooledQuery{S: s})
	require.ErrorIs(t, err, context.Canceled)
	s.recycled.Store(true) // put back in the pool once Get returned

	var got string
	var panicked any
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { panicked = recover() }()
		got, err = m.Get(context.Background(), pooledQuery{S: &pooledSession{ID: "alice"}})
	}()
	<-done
	if panicked != nil {
		t.Fatalf("a joiner with a live ctx panicked on another caller's recycled argument: %v", panicValue(panicked))
	}
	require.NoError(t, err)
	assert.Equal(t, "session of alice", got)
}
