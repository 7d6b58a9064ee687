package redisstore

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// bulkLimitedRedis starts a redis-server whose proto-max-bulk-len is
// 1 MiB, with the extra arguments, and returns its address.
func bulkLimitedRedis(t *testing.T, extra ...string) string {
	t.Helper()
	srv := testutil.StartProcess(t, "redis-server", func(port int) []string {
		return append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--proto-max-bulk-len", "1mb"}, extra...)
	})
	return srv.Addr
}

// The first large write's caller leaves while the server's limits are
// first read (the read stalls): that write goes on without the guard (it
// is not sent: its context has ended), but the read goes on without it,
// and the next large write is checked against what it read, not against
// the 512 MiB assumed before: a value over the server's proto-max-bulk-len
// is refused, not sent for a minute until the next read.
func TestMaxmemoryFirstReadLeftByItsCallerGuardsTheNextWrite(t *testing.T) {
	addr := bulkLimitedRedis(t)
	release := make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(free)
	p, stalled := startMaxmemStaller(t, addr, release)
	b, err := New(Options{URL: "redis://" + p.Addr() + "?read_timeout=10s&write_timeout=10s", Prefix: "left"})
	require.NoError(t, err)
	defer b.Close()
	ctx := context.Background()
	require.NoError(t, b.Set(ctx, "warm", []byte("x"), time.Minute)) // the pool is up

	gone, leave := context.WithCancel(ctx)
	first := make(chan error, 1)
	go func() { first <- b.Set(gone, "first", bytes.Repeat([]byte("v"), 100<<10), time.Minute) }()
	<-stalled
	b.maxmemMu.Lock()
	read := b.maxmemDone
	b.maxmemMu.Unlock()
	require.NotNil(t, read, "no read of the limits runs")
	leave()
	require.ErrorIs(t, <-first, context.Canceled)

	free()
	<-read
	err = b.Set(ctx, "next", bytes.Repeat([]byte("v"), 1<<20+1), time.Minute)
	require.ErrorIs(t, err, backend.ErrValueTooLarge, "the next write was checked against the default limits")
	require.Contains(t, err.Error(), "proto-max-bulk-len (1048576 bytes)")
}
