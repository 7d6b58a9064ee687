package redisstore_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// The first large write's caller has left (a cancelled context): the
// maxmemory read it starts does not fail with it (it used to, and the
// guard was then off for 5 s), so the next large write, whose caller is
// still there, is refused before Redis (allkeys-lru) evicts every other
// tenant's key to take it.
func TestMaxmemoryCancelledFirstReadStillGuards(t *testing.T) {
	b, admin := sharedTenantServer(t, "2mb")
	ctx := context.Background()
	big := bytes.Repeat([]byte("x"), 1536<<10) // over a third of 2 MiB

	gone, cancel := context.WithCancel(ctx)
	cancel() // the first large write's caller has left
	t.Log("first:", b.Set(gone, "first", big, time.Hour))

	err := b.Set(ctx, "second", big, time.Hour)
	t.Log("second:", err)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	require.Equal(t, 300, keysUnder(t, admin, "other-tenant"), "another tenant's keys were evicted to make room for it")
	require.Contains(t, err.Error(), "a third of the server's maxmemory", "the value was sent, not refused by the guard")
}
