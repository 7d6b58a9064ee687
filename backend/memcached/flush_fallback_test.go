package memcached

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// Regression: Clear with Options.FlushOnClear calls the flush_all of one
// server that New records from gomemcache's FlushAll (see Store.flushOne).
// Were a gomemcache release to stop calling the selector's Each from
// FlushAll, nothing was recorded and Clear panicked on the nil function.
// It now falls back to gomemcache's FlushAll, which flushes every server
// (without the context's stop on a retry). The server is the test's own:
// flush_all on CI's shared memcached would remove other tests' entries.
func TestFlushOnClearWithoutRecordedFlushFlushesAll(t *testing.T) {
	live := testutil.StartProcess(t, "memcached", func(port int) []string {
		return []string{"-u", "root", "-l", "127.0.0.1", "-p", strconv.Itoa(port), "-m", "16"}
	}).Addr
	s, err := New(Options{Servers: []string{live}, Namespace: "flushfallback", FlushOnClear: true})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	require.NoError(t, s.Set(ctx, "k", []byte("v"), time.Minute))
	s.flushOne = nil // as if gomemcache's FlushAll had not called Each in New

	require.NotPanics(t, func() { err = s.Clear(ctx) })
	assert.NoError(t, err)
	_, err = s.Get(ctx, "k")
	assert.ErrorIs(t, err, backend.ErrNotFound, "the entry, after Clear flushed the server")
}
