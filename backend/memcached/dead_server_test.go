package memcached

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// deadAddr returns a loopback address where nothing listens: a server that
// is down, refusing every dial at once.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// namespaceOn returns a fresh namespace whose generation key is on the
// server of index i of n, so that a test with a server down can keep the
// generation readable.
func namespaceOn(name string, i, n int) string {
	for j := 0; ; j++ {
		ns := fmt.Sprint(name, "-", time.Now().UnixNano(), "-", j)
		if crc32.ChecksumIEEE([]byte(ns+":gen"))%uint32(n) == uint32(i) {
			return ns
		}
	}
}

// setSpread writes n keys k0..k(n-1) and returns all of them and those the
// Store could write: the ones on the servers that are up.
func setSpread(t *testing.T, s *Store, n int) (keys, written []string) {
	t.Helper()
	for i := range n {
		k := fmt.Sprint("k", i)
		keys = append(keys, k)
		if s.Set(context.Background(), k, []byte("old"), time.Minute) == nil {
			written = append(written, k)
		}
	}
	if len(written) == 0 || len(written) == len(keys) {
		t.Fatalf("set-up: %d of %d keys on the live server", len(written), len(keys))
	}
	return keys, written
}

// readable returns those of keys that Get finds.
func readable(s *Store, keys []string) []string {
	var found []string
	for _, k := range keys {
		if _, err := s.Get(context.Background(), k); err == nil {
			found = append(found, k)
		}
	}
	return found
}

// Regression: with one server of two down, a Delete of keys spread over
// both stopped at the first key whose server refused it, and left the keys
// after it on the live server undeleted and readable: the caching package's
// invalidations (deletes of tag and path versions) were lost on the
// servers that work, not only on the one that is down.
func TestDeleteWithOneServerDownDeletesTheLiveServersKeys(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	s, err := New(Options{Servers: []string{live, deadAddr(t)}, Namespace: namespaceOn("deldown", 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, maxIdle := range []int{1, 16} { // one goroutine, and helpers
		t.Run(fmt.Sprint("MaxIdleConns=", maxIdle), func(t *testing.T) {
			s.opts.MaxIdleConns = maxIdle
			keys, onLive := setSpread(t, s, 40)
			n, err := s.DeleteCount(context.Background(), keys...)
			if err == nil {
				t.Fatal("DeleteCount succeeded with a server down")
			}
			if n != len(onLive) {
				t.Errorf("DeleteCount = %d, %v; want %d (the keys on the live server)", n, err, len(onLive))
			}
			if left := readable(s, onLive); len(left) > 0 {
				t.Fatalf("DeleteCount failed (%v) and left %d of the %d keys on the live server readable: %v", err, len(left), len(onLive), left)
			}
		})
	}
}

// Regression: with Options.FlushOnClear and the first server of the list
// down, Clear stopped at it (gomemcache's FlushAll stops at the first
// error) and flushed none of the live servers after it. The live server is
// one of the test's own: flush_all on CI's shared memcached would remove the
// entries of every other package's tests running beside it.
func TestFlushOnClearWithFirstServerDownFlushesTheOthers(t *testing.T) {
	live := testutil.StartProcess(t, "memcached", func(port int) []string {
		return []string{"-u", "root", "-l", "127.0.0.1", "-p", strconv.Itoa(port), "-m", "16"}
	}).Addr
	s, err := New(Options{Servers: []string{deadAddr(t), live}, Namespace: namespaceOn("flushdown", 1, 2), FlushOnClear: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, onLive := setSpread(t, s, 20)
	cerr := s.Clear(context.Background())
	if cerr == nil {
		t.Error("Clear succeeded with a server down")
	}
	if left := readable(s, onLive); len(left) > 0 {
		t.Fatalf("Clear (%v) left %d of %d entries on the live server readable", cerr, len(left), len(onLive))
	}
}

// With every server down, the calls are refused at once too, dialing
// nothing, but with an error that does not wrap backend.ErrServerDown: the
// Store as a whole is down, and the caching package's breaker must count
// it as a failure (and open), not leave it to the servers.
func TestEveryServerDownRefusesWithoutErrServerDown(t *testing.T) {
	s, err := New(Options{Servers: []string{deadAddr(t), deadAddr(t)}, Namespace: "alldown"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var dials atomic.Int64
	dial := s.dial
	s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return dial(ctx, network, addr)
	}
	for i := range 20 {
		if _, err := s.Get(context.Background(), fmt.Sprint("k", i)); err == nil || errors.Is(err, backend.ErrNotFound) {
			t.Fatalf("Get with every server down: %v", err)
		}
	}
	before := dials.Load()
	if before > 2*serverDownAfter {
		t.Errorf("%d dials; want at most %d (%d per server before it is marked down)", before, 2*serverDownAfter, serverDownAfter)
	}
	for i := range 20 {
		_, err := s.Get(context.Background(), fmt.Sprint("k", i))
		if err == nil || errors.Is(err, backend.ErrServerDown) {
			t.Fatalf("Get with every server marked down: %v; want an error not wrapping backend.ErrServerDown", err)
		}
	}
	if n := dials.Load() - before; n != 0 {
		t.Errorf("%d dials with every server marked down", n)
	}
}
