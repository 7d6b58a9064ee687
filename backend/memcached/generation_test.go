package memcached_test

import (
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// stalePair returns two Stores of one namespace, as two processes would
// have: a trusts the generation it reads for an hour, so that it stays on
// the generation of before b's Clear for the whole test, deterministically.
// fresh reads the generation on every call: it sees what any process sees
// once its GenerationTTL has run out.
func stalePair(t *testing.T) (a, b, fresh *memcached.Store, ns string) {
	addrs := testutil.MemcachedAddrs(t)
	ns = namespace()
	a = open(t, memcached.Options{Servers: addrs, Namespace: ns, GenerationTTL: time.Hour, Timeout: testutil.SlowTimeout})
	b = open(t, memcached.Options{Servers: addrs, Namespace: ns, Timeout: testutil.SlowTimeout})
	fresh = open(t, memcached.Options{Servers: addrs, Namespace: ns, GenerationTTL: -1, Timeout: testutil.SlowTimeout})
	return a, b, fresh, ns
}

// A delete made within GenerationTTL of another process's Clear must reach
// the entries written since the Clear: under the generation a still
// trusts, they would stay valid until their TTL (here forever).
func TestDeleteAfterOtherProcessClearIsNotLost(t *testing.T) {
	a, b, fresh, _ := stalePair(t)
	_, err := a.Get(bg, "warm") // a reads and trusts generation G
	require.ErrorIs(t, err, backend.ErrNotFound)
	require.NoError(t, b.Clear(bg)) // G+1
	require.NoError(t, b.Set(bg, "k1", []byte("new"), 0))
	require.NoError(t, b.Set(bg, "k2", []byte("new"), 0))

	require.NoError(t, a.Delete(bg, "k1"))
	n, err := a.DeleteCount(bg, "k2", "absent")
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the count is of the current generation's entries")

	for name, s := range map[string]*memcached.Store{"a": a, "b": b, "fresh": fresh} {
		for _, k := range []string{"k1", "k2"} {
			_, err := s.Get(bg, k)
			assert.ErrorIs(t, err, backend.ErrNotFound, "%s still reads %s", name, k)
		}
	}
}

// The same when memcached evicted the generation key and another process
// started a new generation.
func TestDeleteAfterGenerationEvictedIsNotLost(t *testing.T) {
	a, b, fresh, ns := stalePair(t)
	_, err := a.Get(bg, "warm")
	require.ErrorIs(t, err, backend.ErrNotFound)
	require.NoError(t, memcache.New(testutil.MemcachedAddrs(t)...).Delete(ns+":gen"))
	require.NoError(t, b.Set(bg, "k", []byte("new"), 0)) // b starts a new generation

	require.NoError(t, a.Delete(bg, "k"))
	_, err = fresh.Get(bg, "k")
	assert.ErrorIs(t, err, backend.ErrNotFound)
}

// A delete also reaches the generation the deleting process trusted, so
// that another process still on it stops serving the key too.
func TestDeleteReachesTheGenerationTrustedBefore(t *testing.T) {
	a, b, _, ns := stalePair(t)
	c := open(t, memcached.Options{Servers: testutil.MemcachedAddrs(t), Namespace: ns, GenerationTTL: time.Hour, Timeout: testutil.SlowTimeout})
	require.NoError(t, a.Set(bg, "k", []byte("before"), 0)) // a and c on G
	v, err := c.Get(bg, "k")
	require.NoError(t, err)
	require.Equal(t, "before", string(v))
	require.NoError(t, b.Clear(bg))

	require.NoError(t, a.Delete(bg, "k"))
	_, err = c.Get(bg, "k")
	assert.ErrorIs(t, err, backend.ErrNotFound, "c, still on G, reads k")
}

// A read that started before this process's Clear does not bring back the
// cleared generation when it returns after it.
func TestClearNotUndoneByConcurrentRead(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	ns := namespace()
	w := open(t, memcached.Options{Servers: addrs, Namespace: ns, GenerationTTL: -1, Timeout: testutil.SlowTimeout})
	for i := range 200 {
		require.NoError(t, w.Set(bg, "k", []byte("v"), 0))
		// A new Store has no generation yet: its first call reads one.
		s := open(t, memcached.Options{Servers: addrs, Namespace: ns, GenerationTTL: time.Hour, Timeout: testutil.SlowTimeout})
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = s.Has(bg, "other")
		}()
		require.NoError(t, s.Clear(bg))
		<-done
		_, err := s.Get(bg, "k")
		require.ErrorIs(t, err, backend.ErrNotFound, "round %d: the Clear was undone", i)
	}
}
