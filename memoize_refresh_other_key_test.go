package caching

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression of 66a9b45, whose epochs were striped (256 per name): a job
// updates the data of a, then calls Refresh(a); meanwhile another worker of
// the job refreshes b, whose key hashed to a's stripe (1 pair in 256).
// Refresh(a) returned the new result, but did not store it, and a's old
// entry stayed served until its TTL. Epochs are now exact per key.
func TestMemoRefreshOfAnotherKeyKeepsThisRefreshStored(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	ctx := context.Background()
	var mu sync.Mutex
	price := map[int]int{}
	entered := make(chan struct{})
	gate := make(chan struct{})
	block := false
	m := Memoize(c, "price", func(_ context.Context, id int) (string, error) {
		mu.Lock()
		p, b := price[id], block && id == 1
		mu.Unlock()
		if b {
			close(entered)
			<-gate
		}
		return fmt.Sprint(id, ":", p), nil
	})
	const b = 2
	mu.Lock()
	price[1] = 100
	mu.Unlock()
	v, err := m.Get(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, "1:100", v)

	mu.Lock()
	price[1], price[b], block = 120, 7, true
	mu.Unlock()
	refreshed := make(chan string, 1)
	go func() {
		v, _ := m.Refresh(ctx, 1)
		refreshed <- v
	}()
	<-entered
	_, err = m.Refresh(ctx, b) // another worker of the job
	require.NoError(t, err)
	close(gate)
	assert.Equal(t, "1:120", <-refreshed)
	v, err = m.Get(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, "1:120", v, "Refresh(1) returned the updated result; its old entry must not be served")
}

// TestMemoEpochsExactPerKey: a supersede (Forget, Set, Refresh) of any
// other key leaves a key's computation current; of its own, not; and the
// epochs of keys without a computation in flight are not kept.
func TestMemoEpochsExactPerKey(t *testing.T) {
	var s memoShared
	e := s.epochOf("m/a")
	for i := range 2000 {
		s.supersede(fmt.Sprint("m/", i))
	}
	require.True(t, s.current(&e), "a supersede of another key stopped the computation of m/a")
	s.supersede("m/a")
	require.False(t, s.current(&e))
	s.done(&e)
	require.Empty(t, s.epochs, "epochs kept for keys without a computation in flight")
}
