package memcached_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// namespaceOn returns a namespace whose generation key ("<ns>:gen") a
// ServerList of two servers puts on server i (CRC-32 of the key modulo the
// number of servers, as Options.Servers says).
func namespaceOn(i uint32) string {
	for n := 0; ; n++ {
		ns := fmt.Sprintf("mcfix-dead-%d-%d", time.Now().UnixNano(), n)
		if crc32.ChecksumIEEE([]byte(ns+":gen"))%2 == i {
			return ns
		}
	}
}

// keysOn returns n keys that the Store of namespace ns, in the generation
// memcached at addr holds for it, puts on server i of two (keys are stored
// as namespace:generation:key, see the package doc).
func keysOn(t *testing.T, addr, ns string, i uint32, n int) []string {
	t.Helper()
	it, err := memcache.New(addr).Get(ns + ":gen")
	require.NoError(t, err, "the generation is read from %s", addr)
	var keys []string
	for j := 0; len(keys) < n; j++ {
		k := "k" + strconv.Itoa(j)
		if crc32.ChecksumIEEE([]byte(ns+":"+string(it.Value)+":"+k))%2 == i {
			keys = append(keys, k)
		}
	}
	return keys
}

// fakeServer stands for the memcached server that holds a namespace's
// generation key: it forwards every command to a real server until it is
// taken down (it then refuses connections) or hung (it then accepts them
// and reads commands, and answers none), and counts the reads of the
// generation key it is sent.
type fakeServer struct {
	t        *testing.T
	upstream string
	genLine  []byte // "gets <ns>:gen\r\n"

	mu    sync.Mutex
	addr  string
	ln    net.Listener
	hung  bool
	conns map[net.Conn]struct{}

	genReads atomic.Int64
	genRead  chan struct{} // a generation read received while hung
	// dropped counts the commands dropped while hung, but for a probe's
	// gets (of keys <ns>:probe:<n>).
	dropped atomic.Int64
}

func newFakeServer(t *testing.T, upstream, ns string) *fakeServer {
	f := &fakeServer{t: t, upstream: upstream, genLine: []byte("gets " + ns + ":gen\r\n"),
		conns: map[net.Conn]struct{}{}, genRead: make(chan struct{}, 100)}
	f.listen("127.0.0.1:0")
	t.Cleanup(f.down)
	return f
}

func (f *fakeServer) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	require.NoError(f.t, err)
	f.mu.Lock()
	f.ln, f.addr, f.hung = ln, ln.Addr().String(), false
	f.mu.Unlock()
	go f.accept(ln)
}

func (f *fakeServer) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		if f.ln != ln {
			f.mu.Unlock()
			c.Close()
			return
		}
		f.conns[c] = struct{}{}
		f.mu.Unlock()
		go f.serve(c)
	}
}

// serve forwards c's commands, line by line, to a connection of its own to
// the upstream server, and the answers back, while the server is not hung.
func (f *fakeServer) serve(c net.Conn) {
	up, err := net.Dial("tcp", f.upstream)
	if err != nil {
		c.Close()
		return
	}
	defer up.Close()
	go func() { _, _ = io.Copy(c, up) }()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return
		}
		f.mu.Lock()
		hung := f.hung
		f.mu.Unlock()
		if bytes.Equal(line, f.genLine) {
			f.genReads.Add(1)
			if hung {
				f.genRead <- struct{}{}
			}
		}
		if hung {
			if !bytes.Contains(line, []byte(":probe:")) {
				f.dropped.Add(1)
			}
			continue
		}
		if _, err := up.Write(line); err != nil {
			return
		}
	}
}

// down closes the listener and every connection: the address refuses.
func (f *fakeServer) down() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ln != nil {
		f.ln.Close()
		f.ln = nil
	}
	for c := range f.conns {
		c.Close()
		delete(f.conns, c)
	}
}

// up listens again on the same address, forwarding.
func (f *fakeServer) up() { f.listen(f.addr) }

// hang stops answering: commands received from now on are read and dropped.
func (f *fakeServer) hang() {
	f.mu.Lock()
	f.hung = true
	f.mu.Unlock()
}

// The generation key lives on one server. With that server down, every call
// failed, for keys on every server ("0 of 20 Sets succeeded with one of two
// servers down"): the generation read once GenerationTTL had passed failed,
// and nothing else was tried. The Store now goes on in the generation it
// read last, within GenerationGrace: keys on the server that is up work,
// those on the one down fail.
func TestGenerationServerDownKeepsOtherKeysWorking(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	ns := namespaceOn(1)
	fake := newFakeServer(t, live, ns)
	s := open(t, memcached.Options{Servers: []string{live, fake.addr}, Namespace: ns, GenerationTTL: 10 * time.Millisecond})
	require.NoError(t, s.Set(bg, "first", []byte("v"), 0), "the generation is read while its server is up")
	liveKeys := keysOn(t, live, ns, 0, 10)
	deadKeys := keysOn(t, live, ns, 1, 10)

	fake.down()
	time.Sleep(20 * time.Millisecond) // past GenerationTTL: the generation is read again
	for _, k := range liveKeys {
		require.NoError(t, s.Set(bg, k, []byte("v-"+k), 0), "Set of a key on the server that is up")
		v, err := s.Get(bg, k)
		require.NoError(t, err)
		assert.Equal(t, "v-"+k, string(v))
	}
	vs, err := s.GetMany(bg, liveKeys)
	require.NoError(t, err)
	for i, k := range liveKeys {
		assert.Equal(t, "v-"+k, string(vs[i]))
	}
	for _, k := range deadKeys {
		err := s.Set(bg, k, []byte("v"), 0)
		require.Error(t, err, "Set of a key on the server that is down")
		require.NotErrorIs(t, err, backend.ErrNotFound)
	}
}

// With the generation's server hung (it accepts connections and never
// answers), every call waited Options.Timeout for the generation read. Now
// one read is in flight at a time, and the calls that find it in flight go
// on in the generation read before: they complete while it is still stuck,
// and none of them sends a read of its own.
func TestGenerationServerHungDoesNotHoldOtherCalls(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	ns := namespaceOn(1)
	fake := newFakeServer(t, live, ns)
	s := open(t, memcached.Options{Servers: []string{live, fake.addr}, Namespace: ns,
		GenerationTTL: 10 * time.Millisecond, Timeout: 5 * time.Second})
	require.NoError(t, s.Set(bg, "first", []byte("v"), 0), "the generation is read while its server is up")
	liveKeys := keysOn(t, live, ns, 0, 20)

	fake.hang()
	time.Sleep(20 * time.Millisecond) // past GenerationTTL: the generation is read again
	reads := fake.genReads.Load()
	stuck := make(chan error, 1)
	go func() {
		_, err := s.Get(bg, liveKeys[0])
		stuck <- err
	}()
	select { // the read is in flight, and stays so until Timeout
	case <-fake.genRead:
	case <-time.After(10 * time.Second):
		t.Fatal("the generation was not read again")
	}

	var wg sync.WaitGroup
	errs := make(chan error, len(liveKeys))
	for _, k := range liveKeys[1:] {
		wg.Go(func() {
			_, err := s.Get(bg, k)
			errs <- err
		})
	}
	wg.Wait()
	select {
	case err := <-stuck:
		t.Fatalf("the generation read ended (%v) before the other calls did: they waited for it", err)
	default:
	}
	close(errs)
	for err := range errs {
		require.ErrorIs(t, err, backend.ErrNotFound, "a Get of a key on the server that is up")
	}
	assert.Equal(t, reads+1, fake.genReads.Load(), "generation reads sent while one was in flight")

	fake.down() // the stuck read fails; its call goes on in the last generation
	require.ErrorIs(t, <-stuck, backend.ErrNotFound)
}

// Before any generation has been read, and once GenerationGrace has passed
// since the last one was, calls fail while the generation cannot be read:
// the grace is bounded.
func TestGenerationGraceIsBounded(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	ns := namespaceOn(1)
	fake := newFakeServer(t, live, ns)
	fake.down()
	s := open(t, memcached.Options{Servers: []string{live, fake.addr}, Namespace: ns,
		GenerationTTL: 10 * time.Millisecond, GenerationGrace: 50 * time.Millisecond})
	require.Error(t, s.Set(bg, "k", []byte("v"), 0), "no generation read yet")

	fake.up()
	require.Eventually(t, func() bool { return s.Set(bg, "first", []byte("v"), 0) == nil },
		5*time.Second, 10*time.Millisecond, "the generation is read once its server is back")
	liveKeys := keysOn(t, live, ns, 0, 1)
	fake.down()
	time.Sleep(100 * time.Millisecond) // past GenerationTTL + GenerationGrace
	err := s.Set(bg, liveKeys[0], []byte("v"), 0)
	require.Error(t, err, "the last generation is past its grace")
}

// A delete that cannot read the generation deletes the keys from the one
// read last, so that this process stops serving them, and still fails:
// another process may have moved to a newer generation, and the caller
// must try again.
func TestDeleteWithGenerationServerDownFails(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	ns := namespaceOn(1)
	fake := newFakeServer(t, live, ns)
	s := open(t, memcached.Options{Servers: []string{live, fake.addr}, Namespace: ns, GenerationTTL: 10 * time.Millisecond})
	require.NoError(t, s.Set(bg, "first", []byte("v"), 0))
	k := keysOn(t, live, ns, 0, 1)[0]
	require.NoError(t, s.Set(bg, k, []byte("v"), 0))

	fake.down()
	n, err := s.DeleteCount(bg, k)
	require.Error(t, err)
	require.False(t, errors.Is(err, backend.ErrNotFound))
	assert.Zero(t, n, "no count without the current generation")
	_, err = s.Get(bg, k)
	require.ErrorIs(t, err, backend.ErrNotFound)
}

// Regression: a DeleteCount that could not read the generation counted
// its deletes under the generation read last, which another process's
// Clear had left: the key held no live entry, and was counted as one
// (backend.DeleteCounter's count is never more than were removed). It
// counts nothing now, and fails as before.
func TestDeleteCountAfterAnotherClearWithGenerationServerDownCountsNothing(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	ns := namespaceOn(1)
	fake := newFakeServer(t, live, ns)
	s := open(t, memcached.Options{Servers: []string{live, fake.addr}, Namespace: ns, GenerationTTL: 10 * time.Millisecond})
	other := open(t, memcached.Options{Servers: []string{live, fake.addr}, Namespace: ns})
	require.NoError(t, s.Set(bg, "first", []byte("v"), 0))
	k := keysOn(t, live, ns, 0, 1)[0]
	require.NoError(t, s.Set(bg, k, []byte("v"), 0))
	require.NoError(t, other.Clear(bg))

	fake.down()
	n, err := s.DeleteCount(bg, k)
	require.Error(t, err, "a DeleteCount that could not read the generation fails")
	assert.Zero(t, n, "entries counted live, the generation cleared by another process")
}

// A Clear made by another process while this one could not read the
// generation is seen once the generation's server answers again.
func TestClearDuringGenerationOutageSeenAfter(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	ns := namespaceOn(1)
	fake := newFakeServer(t, live, ns)
	o := memcached.Options{Servers: []string{live, fake.addr}, Namespace: ns, GenerationTTL: 10 * time.Millisecond}
	a := open(t, o)
	require.NoError(t, a.Set(bg, "first", []byte("v"), 0))
	k := keysOn(t, live, ns, 0, 1)[0]
	require.NoError(t, a.Set(bg, k, []byte("before"), 0))

	fake.down()
	time.Sleep(20 * time.Millisecond) // past GenerationTTL
	v, err := a.Get(bg, k)
	require.NoError(t, err, "served from the generation read last")
	require.Equal(t, "before", string(v))

	// Another process reaches the generation's server (here: once it is
	// back) and clears.
	fake.up()
	b := open(t, o)
	require.NoError(t, b.Clear(bg))
	require.Eventually(t, func() bool {
		_, err := a.Get(bg, k)
		return errors.Is(err, backend.ErrNotFound)
	}, 5*time.Second, 10*time.Millisecond, "the Clear is seen once the generation can be read")
}

// GenerationGrace -1 turns the grace off: a generation that cannot be read
// fails the calls, as every call failed before the grace. Below -1 is
// refused.
func TestGenerationGraceOff(t *testing.T) {
	_, err := memcached.New(memcached.Options{Servers: []string{"127.0.0.1:1"}, GenerationGrace: -2})
	require.ErrorIs(t, err, backend.ErrInvalidOption)

	live := testutil.MemcachedAddrs(t)[0]
	ns := namespaceOn(1)
	fake := newFakeServer(t, live, ns)
	s := open(t, memcached.Options{Servers: []string{live, fake.addr}, Namespace: ns,
		GenerationTTL: 10 * time.Millisecond, GenerationGrace: -1})
	require.NoError(t, s.Set(bg, "first", []byte("v"), 0))
	k := keysOn(t, live, ns, 0, 1)[0]
	fake.down()
	time.Sleep(20 * time.Millisecond) // past GenerationTTL
	require.Error(t, s.Set(bg, k, []byte("v"), 0))
}

// With the generation's server hung, every Delete read the generation
// again and waited Options.Timeout for it, so that each invalidation (and
// each lease's release) of the caching package stalled its caller. Within a
// second of a read that failed, a Delete now fails at once, as that read
// did, after deleting its keys from the generation read last, and sends no
// read of its own.
func TestDeleteWithGenerationServerHungDoesNotWait(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	ns := namespaceOn(1)
	fake := newFakeServer(t, live, ns)
	s := open(t, memcached.Options{Servers: []string{live, fake.addr}, Namespace: ns,
		GenerationTTL: 10 * time.Millisecond, Timeout: 300 * time.Millisecond})
	require.NoError(t, s.Set(bg, "first", []byte("v"), 0))
	keys := keysOn(t, live, ns, 0, 5)
	for _, k := range keys {
		require.NoError(t, s.Set(bg, k, []byte("v"), 0))
	}

	fake.hang()
	_, err := s.DeleteCount(bg, keys[0])
	require.Error(t, err, "the generation read times out")
	reads := fake.genReads.Load()
	for _, k := range keys[1:] {
		n, err := s.DeleteCount(bg, k)
		require.Error(t, err, "a Delete that could not read the generation fails")
		require.False(t, errors.Is(err, backend.ErrNotFound))
		assert.Zero(t, n, "no count without the current generation")
		_, err = s.Get(bg, k)
		require.ErrorIs(t, err, backend.ErrNotFound)
	}
	assert.Equal(t, reads, fake.genReads.Load(), "generation reads sent by the Deletes after the failed one")
}
