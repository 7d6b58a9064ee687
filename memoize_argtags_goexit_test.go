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

// TestMemoizeArgTagsGoexitInGiveBackClosesLoan: a runtime.Goexit of
// ArgTags in giveBack (t.FailNow, or a helper that ends the goroutine) is
// not a panic that ownArgSafely recovers: the loan must still be marked
// failed and returned, and l.a cleared, so that the work, which starts
// after the caller's session was recycled for bob, does not copy it and
// store bob's result under the key of session "alice-sess".
func TestMemoizeArgTagsGoexitInGiveBackClosesLoan(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c, err := New(&Options{})
	require.NoError(t, err)
	defer c.Close()
	var calls, tagCalls atomic.Int32
	m := Memoize(c, "argtags-goexit", func(_ context.Context, q panicQuery) (string, error) {
		defer calls.Add(1)
		return "data of " + q.S.userName(), nil
	}, TTL(time.Minute), ArgTags(func(q panicQuery) []string {
		if tagCalls.Add(1) == 1 {
			runtime.Goexit() // e.g. t.FailNow in a test's ArgTags
		}
		return panicTags(q)
	}))

	s := &panicSession{id: "alice-sess", user: &panicUser{Name: "alice"}}
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		_, _ = m.Get(newEarlyEndCtx(), panicQuery{S: s})
	}()
	<-gone
	s.set("bob-sess", &panicUser{Name: "bob"})
	for i := 0; calls.Load() == 0 && i < 2000; i++ {
		time.Sleep(time.Millisecond)
	}
	t.Logf("ArgTags calls %d, fn calls %d", tagCalls.Load(), calls.Load())
	got, err := m.Get(context.Background(), panicQuery{S: &panicSession{id: "alice-sess", user: &panicUser{Name: "alice"}}})
	require.NoError(t, err)
	assert.Equal(t, "data of alice", got, "another user's result stored under alice's session key")
}
