package caching

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/boottime"
)

// leaseAdds records the lease keys added through it.
type leaseAdds struct {
	backend.Backend
	mu   sync.Mutex
	keys []string
}

func (b *leaseAdds) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if strings.Contains(key, kindLease) {
		b.mu.Lock()
		b.keys = append(b.keys, key)
		b.mu.Unlock()
	}
	return b.Backend.Add(ctx, key, value, ttl)
}

// TestLeaseReleaseAfterASuspendLeavesTheNextHolder: a holder's release was
// timed on the monotonic clock, which stops while the machine is
// suspended. A holder suspended for an hour under a lease of a minute
// found, on resume, its lease still running by that clock, and deleted the
// lease the backend had ended meanwhile and another process had taken
// since: that process's waiters then found neither lease nor entry. The
// suspend now counts: the release is left out, and the other process's
// lease stays. (Not parallel: StepWallForTest moves every process-wide
// reading of the wall clock that boottime makes.)
func TestLeaseReleaseAfterASuspendLeavesTheNextHolder(t *testing.T) {
	ctx := t.Context()
	remote := simple.Must(simple.Options{SweepInterval: -1})
	t.Cleanup(func() { _ = remote.Close() })
	b := &leaseAdds{Backend: remote} // not a ValueStore: a remote backend to the Cache
	c := Must(&Options{Backend: b, Lease: time.Minute})
	t.Cleanup(func() { _ = c.Close() })

	other := []byte("another process's lease")
	m := Memoize(c, "suspended", func(ctx context.Context, _ int) (string, error) {
		b.mu.Lock()
		keys := append([]string(nil), b.keys...)
		b.mu.Unlock()
		require.Len(t, keys, 1, "the lease taken")
		t.Cleanup(boottime.StepWallForTest(time.Hour)) // the machine sleeps an hour
		// The backend's lease ended in the hour; another process takes it.
		added, err := remote.Add(ctx, keys[0], other, time.Minute)
		require.NoError(t, err)
		require.True(t, added, "the backend kept the lease across the suspend")
		return "result", nil
	})
	got, err := m.Get(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, "result", got)
	b.mu.Lock()
	key := b.keys[0]
	b.mu.Unlock()
	v, err := remote.Get(ctx, key)
	require.NoError(t, err, "the holder deleted the lease another process took after its own ended")
	assert.Equal(t, string(other), string(v))
}
