package memcached_test

import (
	"math"
	"strconv"
	"strings"
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
	s := open(t, memcached.Options{Servers: addrs[:1], Timeout: testutil.SlowTimeout})
	n, err := s.Incr(bg, "ctr", math.MaxInt64-1)
	require.NoError(t, err)
	require.Equal(t, int64(math.MaxInt64-1), n)

	_, err = s.Incr(bg, "ctr", 2)
	require.ErrorIs(t, err, backend.ErrNotInteger)
	v, gerr := s.Get(bg, "ctr")
	require.NoError(t, gerr)
	if strings.Contains(err.Error(), "non-numeric") {
		// memcached refused the undo: on a value at or above 2^63 its
		// parser looks for a '-' past the value's end, in whatever memory
		// follows it, now and then finding one. Not applied, so the
		// counter is left above MaxInt64, and Incr must say so.
		t.Log("memcached refused the undo as non-numeric")
		assert.Contains(t, err.Error(), "may be left above MaxInt64", "a refused undo said")
		assert.Equal(t, "9223372036854775808", string(v), "the counter where the Incr took it")
		return
	}
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
	s := open(t, memcached.Options{Servers: addrs[:1], Timeout: testutil.SlowTimeout})
	const big = "18446744073709551610" // 2^64 - 6
	require.NoError(t, s.Set(bg, "ctr", []byte(big), 0))

	n, err := s.Incr(bg, "ctr", 10)
	require.ErrorIs(t, err, backend.ErrNotInteger, "Incr returned %d", n)
	v, err := s.Get(bg, "ctr")
	require.NoError(t, err)
	assert.Equal(t, big, string(v), "the value is left as it was")
}

// A stored value above math.MaxInt64 is no int64 to backend.Incrementer,
// whatever the sign of delta: a decrement that memcached's decr brings back
// under MaxInt64 must fail with backend.ErrNotInteger and leave the value as
// it was, as an increment does. Before the fix Incr(-1) of 2^63 returned
// 2^63-1 and stored it. 2^63 with delta math.MinInt64 lands on 0, where a
// decrement of any smaller counter stops too: the Store still tells them
// apart.
func TestDecrementOfValueAboveMaxInt64IsAnError(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	s := open(t, memcached.Options{Servers: addrs[:1], Timeout: testutil.SlowTimeout})
	for _, tc := range []struct {
		stored string
		delta  int64
	}{
		{"9223372036854775808", -1},             // 2^63
		{"9223372036854775808", math.MinInt64},  // to 0 exactly
		{"9223372036854775809", math.MinInt64},  // 2^63+1
		{"18446744073709551615", -1},            // 2^64-1
		{"18446744073709551615", math.MinInt64}, // to 2^63-1
		{"18446744073709551615", math.MinInt64 + 1},
	} {
		require.NoError(t, s.Set(bg, "ctr", []byte(tc.stored), 0))
		n, err := s.Incr(bg, "ctr", tc.delta)
		assert.ErrorIs(t, err, backend.ErrNotInteger, "Incr(%s, %d) returned %d", tc.stored, tc.delta, n)
		v, err := s.Get(bg, "ctr")
		require.NoError(t, err)
		assert.Equal(t, tc.stored, string(v), "a refused Incr(%s, %d) leaves the value as it was", tc.stored, tc.delta)
	}
}

// Decrements of counters in range still count, down to 0 where memcached
// stops, delta math.MinInt64 included.
func TestDecrementInRangeCounts(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	s := open(t, memcached.Options{Servers: addrs[:1], Timeout: testutil.SlowTimeout})
	for _, tc := range []struct {
		stored string
		delta  int64
		want   int64
	}{
		{"9223372036854775807", -1, math.MaxInt64 - 1},
		{"9223372036854775807", math.MinInt64 + 1, 0},
		{"9223372036854775807", math.MinInt64, 0},
		{"5", math.MinInt64, 0},
		{"0", math.MinInt64, 0},
		{"5", -7, 0},
		{"1", -1, 0},
	} {
		require.NoError(t, s.Set(bg, "ctr", []byte(tc.stored), 0))
		n, err := s.Incr(bg, "ctr", tc.delta)
		require.NoError(t, err, "Incr(%s, %d)", tc.stored, tc.delta)
		assert.Equal(t, tc.want, n, "Incr(%s, %d)", tc.stored, tc.delta)
		v, err := s.Get(bg, "ctr")
		require.NoError(t, err)
		assert.Equal(t, strconv.FormatInt(tc.want, 10), string(v), "Incr(%s, %d)", tc.stored, tc.delta)
	}
}
