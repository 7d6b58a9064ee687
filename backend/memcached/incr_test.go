package memcached_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// An Incr whose result would pass math.MaxInt64 fails with
// backend.ErrNotInteger and leaves the counter as it was, as on every other
// backend. Before the fix the server kept the incremented value
// (9223372036854775808): Get then returned a number no int64 holds, and
// every later Incr of a positive delta failed.
func TestIncrOverflowLeavesTheCounter(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	s := open(t, memcached.Options{Servers: addrs[:1]})
	n, err := s.Incr(bg, "ctr", math.MaxInt64-1)
	require.NoError(t, err)
	require.Equal(t, int64(math.MaxInt64-1), n)

	_, err = s.Incr(bg, "ctr", 2)
	require.ErrorIs(t, err, backend.ErrNotInteger)
	v, err := s.Get(bg, "ctr")
	require.NoError(t, err)
	assert.Equal(t, "9223372036854775806", string(v), "the counter is left as it was")

	n, err = s.Incr(bg, "ctr", 1)
	require.NoError(t, err, "the counter still counts")
	assert.Equal(t, int64(math.MaxInt64), n)
}

// A stored value that memcached takes for a number above math.MaxInt64 (a
// careless Set of a uint64) wraps past 2^64 on incr: the counter became a
// small number and Incr returned it without error. It must fail with
// backend.ErrNotInteger, as on every other backend, and leave the value as
// it was.
func TestIncrWrapPast2To64IsAnError(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	s := open(t, memcached.Options{Servers: addrs[:1]})
	const big = "18446744073709551610" // 2^64 - 6
	require.NoError(t, s.Set(bg, "ctr", []byte(big), 0))

	n, err := s.Incr(bg, "ctr", 10)
	require.ErrorIs(t, err, backend.ErrNotInteger, "Incr returned %d", n)
	v, err := s.Get(bg, "ctr")
	require.NoError(t, err)
	assert.Equal(t, big, string(v), "the value is left as it was")
}
