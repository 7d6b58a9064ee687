package memcached_test

import (
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// A server that fails a few calls in a row is marked down: the calls for its
// keys are refused at once with backend.ErrServerDown (which the caching
// package's breaker does not count against the other servers), the keys on
// the other servers work all along, and once the server is back a probe
// finds it and its keys work again.
func TestServerDownRefusesItsKeysAtOnceAndComesBack(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	ns := namespaceOn(0) // the generation on the live server
	fake := newFakeServer(t, live, ns)
	s := open(t, memcached.Options{Servers: []string{live, fake.addr}, Namespace: ns})
	require.NoError(t, s.Set(bg, "first", []byte("v"), 0))
	liveKeys := keysOn(t, live, ns, 0, 10)
	deadKeys := keysOn(t, live, ns, 1, 10)

	fake.down()
	refused := 0
	for _, k := range deadKeys {
		_, err := s.Get(bg, k)
		require.Error(t, err)
		require.NotErrorIs(t, err, backend.ErrNotFound)
		if errors.Is(err, backend.ErrServerDown) {
			refused++
		} else {
			require.Zero(t, refused, "a call dialed the server after it was marked down: %v", err)
		}
		for _, lk := range liveKeys {
			require.NoError(t, s.Set(bg, lk, []byte("v"), 0), "a key on the server that is up")
		}
	}
	require.NotZero(t, refused, "the server down was never marked down")
	require.GreaterOrEqual(t, refused, len(deadKeys)-3, "calls dialed the server down")

	// A GetMany with a key on the server down reads the others, and
	// fails for that key.
	_, err := s.GetMany(bg, append([]string{liveKeys[0]}, deadKeys[0]))
	require.ErrorIs(t, err, backend.ErrServerDown)
	vs, err := s.GetMany(bg, liveKeys)
	require.NoError(t, err)
	assert.Equal(t, "v", string(vs[0]))
	// A Delete of keys on both deletes those it can, and fails.
	n, err := s.DeleteCount(bg, append([]string{deadKeys[0]}, liveKeys...)...)
	require.ErrorIs(t, err, backend.ErrServerDown)
	assert.Equal(t, len(liveKeys), n)

	fake.up()
	require.Eventually(t, func() bool { return s.Set(bg, deadKeys[0], []byte("back"), 0) == nil },
		5*time.Second, 10*time.Millisecond, "the server back up is never probed")
	v, err := s.Get(bg, deadKeys[0])
	require.NoError(t, err)
	assert.Equal(t, "back", string(v))
	for _, k := range deadKeys[1:] {
		require.NoError(t, s.Set(bg, k, []byte("v"), 0), "a key on the server back up")
	}
}

// A server that hangs (accepts connections, reads commands, answers
// nothing, late or not) costs Options.Timeout per call only until it is
// marked down: then its keys are refused at once, sending it nothing. The
// Timeout is long enough for a loaded machine: a 50ms one failed the test
// once, under heavy load, where a call to the live server, or the refused
// call itself, was held that long.
func TestHungServerIsMarkedDown(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	ns := namespaceOn(0)
	fake := newFakeServer(t, live, ns)
	const timeout = time.Second
	s := open(t, memcached.Options{Servers: []string{live, fake.addr}, Namespace: ns, Timeout: timeout})
	require.NoError(t, s.Set(bg, "first", []byte("v"), 0))
	deadKeys := keysOn(t, live, ns, 1, 10)
	fake.hang()
	var last time.Duration
	failed := 0
	for _, k := range deadKeys {
		start := time.Now()
		_, err := s.Get(bg, k)
		last = time.Since(start)
		require.Error(t, err)
		if errors.Is(err, backend.ErrServerDown) {
			break
		}
		failed++
	}
	assert.Equal(t, 3, failed, "calls that waited for the hung server before it was marked down")
	sent := fake.dropped.Load()
	_, err := s.Get(bg, deadKeys[len(deadKeys)-1])
	require.ErrorIs(t, err, backend.ErrServerDown)
	assert.Equal(t, sent, fake.dropped.Load(), "a refused call sent the hung server its command")
	assert.Less(t, last, timeout/2, "a refused call waited for the server")
}

// Every server marked down, while the generation read before is still in
// use: the calls are refused at once, but not with backend.ErrServerDown,
// so that the caching package's breaker counts them and opens.
func TestEveryServerMarkedDownIsNoServerDown(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	ns := namespaceOn(0)
	a, b := newFakeServer(t, live, ns), newFakeServer(t, live, ns)
	s := open(t, memcached.Options{Servers: []string{a.addr, b.addr}, Namespace: ns, GenerationTTL: time.Minute})
	require.NoError(t, s.Set(bg, "first", []byte("v"), 0))
	a.down()
	b.down()
	// Until both are marked down, the keys of the one marked first are
	// refused with ErrServerDown, the other's still dial.
	for i := range 20 {
		_, err := s.Get(bg, fmt.Sprint("k", i))
		require.Error(t, err)
		require.NotErrorIs(t, err, backend.ErrNotFound)
	}
	for i := range 20 {
		_, err := s.Get(bg, fmt.Sprint("k", i))
		require.Error(t, err)
		require.NotErrorIs(t, err, backend.ErrServerDown, "call %d", i)
		assert.Contains(t, err.Error(), "every server marked down", "refused at once, dialing nothing")
	}
}

// A server marked down is probed by the first call after its cool-down,
// whatever the call's shape. gomemcache's GetMulti picks the server of every
// key before it sends anything: a GetMany with two keys on the server once
// took the probe's turn with its first key and was refused for its second,
// contacting nothing, so that traffic made of such GetManys (a page reading
// its fragments, entries with their tag versions) never probed the server,
// which stayed marked down for as long as that traffic lasted.
func TestGetManyProbesAServerBackUp(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	ns := namespaceOn(0)
	fake := newFakeServer(t, live, ns)
	s := open(t, memcached.Options{Servers: []string{live, fake.addr}, Namespace: ns})
	require.NoError(t, s.Set(bg, "first", []byte("v"), 0))
	liveKeys := keysOn(t, live, ns, 0, 2)
	deadKeys := keysOn(t, live, ns, 1, 2)
	batch := []string{liveKeys[0], deadKeys[0], deadKeys[1], liveKeys[1]}

	fake.down()
	for range 10 {
		_, err := s.GetMany(bg, batch)
		require.Error(t, err)
		if errors.Is(err, backend.ErrServerDown) {
			break
		}
	}
	_, err := s.GetMany(bg, batch)
	require.ErrorIs(t, err, backend.ErrServerDown, "the server is marked down")

	fake.up()
	// The server answers again. Only GetManys of this batch are made, for 3 s
	// (three cool-downs of 1 s).
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if _, err = s.GetMany(bg, batch); err == nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the server back up was never probed by GetMany for 3s: %v", err)
}

// A delete of keys on a server marked down and on one failing for real (a
// dial refused, not yet marked down) fails with the real failure, not with
// backend.ErrServerDown: the caching package's breaker counts nothing for
// ErrServerDown, and would miss the failure of the other server.
func TestDeleteReportsARealFailureBeforeServerDown(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	ns := namespaceOn0Of3(t)
	fake := newFakeServer(t, live, ns)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String() // a server down: nothing listens there
	require.NoError(t, ln.Close())
	s := open(t, memcached.Options{Servers: []string{live, fake.addr, dead}, Namespace: ns, MaxIdleConns: 1})
	// The Set makes the namespace's generation (on the live server); its
	// key may land on the dead server, whose one failure marks nothing.
	_ = s.Set(bg, "first", []byte("v"), 0)
	it, err := memcache.New(live).Get(ns + ":gen")
	require.NoError(t, err)
	on := func(i uint32) string { // a key on server i of the three
		for j := 0; ; j++ {
			k := fmt.Sprint("k", j)
			if crc32.ChecksumIEEE([]byte(ns+":"+string(it.Value)+":"+k))%3 == i {
				return k
			}
		}
	}
	downKey, deadKey := on(1), on(2)

	fake.down()
	for i := 0; ; i++ {
		_, err := s.Get(bg, downKey)
		if errors.Is(err, backend.ErrServerDown) {
			break
		}
		require.Less(t, i, 10, "the server down is never marked down")
	}
	_, err = s.DeleteCount(bg, downKey, deadKey)
	require.Error(t, err)
	assert.NotErrorIs(t, err, backend.ErrServerDown,
		"the dead server's failure is hidden behind the refusal of the server marked down: %v", err)
}

// namespaceOn0Of3 returns a fresh namespace whose generation key is on the
// first of three servers.
func namespaceOn0Of3(t *testing.T) string {
	t.Helper()
	for n := 0; ; n++ {
		ns := fmt.Sprintf("mcfix-three-%d-%d", time.Now().UnixNano(), n)
		if crc32.ChecksumIEEE([]byte(ns+":gen"))%3 == 0 {
			return ns
		}
	}
}
