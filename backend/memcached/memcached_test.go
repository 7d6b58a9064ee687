package memcached_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/backendtest"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

var bg = context.Background()

var nsSeq atomic.Int64

// namespace returns a namespace no other test (or earlier run) has used.
func namespace() string {
	return fmt.Sprintf("t%d-%d", time.Now().UnixNano(), nsSeq.Add(1))
}

// ciItemSize is the item size the CI servers run with (-I 2m).
const ciItemSize = 2 << 20

func open(t testing.TB, o memcached.Options) *memcached.Store {
	t.Helper()
	if o.Namespace == "" {
		o.Namespace = namespace()
	}
	s, err := memcached.New(o)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// strtoullReads are the values of backendtest's IncrCanonical that
// memcached's incr counts from, reading them as C's strtoull does (see the
// package doc): a '+' sign, leading zeros, blanks before the digits and
// anything after them, and a '-' before a number that strtoull then takes
// modulo 2^64 ("-9223372036854775809" is 2^63-1, whose increment the Store
// takes back, leaving that number in place of the text).
var strtoullReads = []string{"007", "+5", "-0", "00", " 5", "5 ", "\t5", "5\n", "5 apples", "-9223372036854775809"}

func TestConformance(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	backendtest.RunWith(t, func(t *testing.T) backend.Backend {
		return memcached.Must(memcached.Options{Servers: addrs[:1], Namespace: namespace(), MaxItemSize: ciItemSize, Timeout: testutil.SlowTimeout})
	}, backendtest.Options{TTLResolution: time.Second, IncrAccepts: strtoullReads, TooLarge: ciItemSize})
}

func TestConformanceTwoServers(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps for expiry")
	}
	addrs := testutil.MemcachedAddrs(t)
	backendtest.RunWith(t, func(t *testing.T) backend.Backend {
		return memcached.Must(memcached.Options{Servers: addrs, Namespace: namespace(), MaxItemSize: ciItemSize, Timeout: testutil.SlowTimeout})
	}, backendtest.Options{TTLResolution: time.Second, IncrAccepts: strtoullReads, TooLarge: ciItemSize})
}

func TestOptionsValidation(t *testing.T) {
	cases := []struct {
		name string
		o    memcached.Options
		want string
	}{
		{"no servers", memcached.Options{}, "Options.Servers"},
		{"bad namespace", memcached.Options{Servers: []string{"127.0.0.1:1"}, Namespace: "a b"}, "Options.Namespace"},
		{"timeout", memcached.Options{Servers: []string{"127.0.0.1:1"}, Timeout: -1}, "Options.Timeout"},
		{"idle", memcached.Options{Servers: []string{"127.0.0.1:1"}, MaxIdleConns: -1}, "Options.MaxIdleConns"},
		{"item size", memcached.Options{Servers: []string{"127.0.0.1:1"}, MaxItemSize: 10}, "Options.MaxItemSize"},
		{"generation ttl", memcached.Options{Servers: []string{"127.0.0.1:1"}, GenerationTTL: -time.Second}, "Options.GenerationTTL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := memcached.New(tc.o)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "memcached: "), err.Error())
		})
	}
}

// TestKeysSpreadOverServers checks, by asking each server directly, that a
// two-server Store puts keys on both, each key on exactly one.
func TestKeysSpreadOverServers(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	ns := namespace()
	s := open(t, memcached.Options{Servers: addrs, Namespace: ns, Timeout: testutil.SlowTimeout})
	perServer := make([]int, len(addrs))
	direct := make([]*memcache.Client, len(addrs))
	for i, a := range addrs {
		direct[i] = memcache.New(a)
	}
	for i := range 100 {
		k := fmt.Sprint("spread/", i)
		require.NoError(t, s.Set(bg, k, []byte(k), time.Minute))
	}
	// The memcached key is namespace:generation:key; learn the generation
	// from the server holding it.
	var gen string
	for _, c := range direct {
		if it, err := c.Get(ns + ":gen"); err == nil {
			gen = string(it.Value)
		}
	}
	require.NotEmpty(t, gen)
	for i := range 100 {
		k := fmt.Sprint("spread/", i)
		holders := 0
		for j, c := range direct {
			if it, err := c.Get(ns + ":" + gen + ":" + k); err == nil {
				assert.Equal(t, k, string(it.Value))
				holders++
				perServer[j]++
			}
		}
		assert.Equal(t, 1, holders, "key %s on exactly one server", k)
	}
	for j, n := range perServer {
		assert.Greater(t, n, 20, "server %s holds %d of 100 keys", addrs[j], n)
	}
	got, err := s.GetMany(bg, []string{"spread/1", "spread/2", "spread/3", "nope"})
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("spread/1"), []byte("spread/2"), []byte("spread/3"), nil}, got)
}

func TestLongAndUnsafeKeys(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	s := open(t, memcached.Options{Servers: addrs, Timeout: testutil.SlowTimeout})
	long := strings.Repeat("k", 1000)
	keys := []string{long + "1", long + "2", "a b", "a_b", "a\x00b", "a\r\nb", "a#b", "ключ", strings.Repeat("я", 200)}
	for i, k := range keys {
		require.NoError(t, s.Set(bg, k, []byte(strconv.Itoa(i)), 0))
	}
	got, err := s.GetMany(bg, keys)
	require.NoError(t, err)
	for i := range keys {
		assert.Equal(t, strconv.Itoa(i), string(got[i]), "key #%d", i)
	}
}

func TestValueTooLarge(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	s := open(t, memcached.Options{Servers: addrs[:1], Timeout: testutil.SlowTimeout}) // default 1 MiB item size
	require.NoError(t, s.Set(bg, "k", []byte("old"), 0))
	_, err := s.Add(bg, "k", make([]byte, 1<<20), 0)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	v, err := s.Get(bg, "k")
	require.NoError(t, err)
	assert.Equal(t, "old", string(v), "an Add refused stores nothing and drops nothing")
	err = s.Set(bg, "k", make([]byte, 1<<20), 0)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	_, err = s.Get(bg, "k")
	require.ErrorIs(t, err, backend.ErrNotFound, "a Set refused drops the value it was to replace")
}

// TestLargestValueFits checks the item overhead estimate against a real
// server with the default 1 MiB item size: the largest value Set accepts is
// stored.
func TestLargestValueFits(t *testing.T) {
	p := startMemcached(t)
	// A long Timeout: the test is about sizes, and a 1 MiB Set on a loaded
	// machine (CI's race run) can take longer than the default 250ms.
	s := open(t, memcached.Options{Servers: []string{p.Addr}, Timeout: 10 * time.Second})
	key := strings.Repeat("k", 100)
	lo, hi := 0, 1<<20
	for lo < hi { // largest size Set does not refuse
		mid := (lo + hi + 1) / 2
		if err := s.Set(bg, key, make([]byte, mid), 0); errors.Is(err, backend.ErrValueTooLarge) {
			hi = mid - 1
		} else {
			require.NoError(t, err, "a value of %d bytes passed the check but the server refused it", mid)
			lo = mid
		}
	}
	// The last Set of the search may have been refused, deleting the key.
	require.NoError(t, s.Set(bg, key, make([]byte, lo), 0))
	v, err := s.Get(bg, key)
	require.NoError(t, err)
	assert.Len(t, v, lo)
	assert.Greater(t, lo, 1<<20-1024, "the limit is close to the server's")
}

func TestClearIsolatesNamespaces(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	a := open(t, memcached.Options{Servers: addrs, Timeout: testutil.SlowTimeout})
	b := open(t, memcached.Options{Servers: addrs, Timeout: testutil.SlowTimeout})
	raw := memcache.New(addrs...)
	require.NoError(t, raw.Set(&memcache.Item{Key: "foreign-" + namespace(), Value: []byte("x")}))
	require.NoError(t, a.Set(bg, "k", []byte("a"), 0))
	require.NoError(t, b.Set(bg, "k", []byte("b"), 0))
	require.NoError(t, a.Clear(bg))
	_, err := a.Get(bg, "k")
	require.ErrorIs(t, err, backend.ErrNotFound)
	v, err := b.Get(bg, "k")
	require.NoError(t, err)
	assert.Equal(t, "b", string(v))
}

func TestClearSeenByOtherProcessWithinGenerationTTL(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	ns := namespace()
	a := open(t, memcached.Options{Servers: addrs, Namespace: ns, Timeout: testutil.SlowTimeout})
	b := open(t, memcached.Options{Servers: addrs, Namespace: ns, GenerationTTL: -1, Timeout: testutil.SlowTimeout})
	require.NoError(t, a.Set(bg, "k", []byte("v"), 0))
	_, err := b.Get(bg, "k")
	require.NoError(t, err, "same namespace, same entries")
	require.NoError(t, a.Clear(bg))
	_, err = b.Get(bg, "k")
	require.ErrorIs(t, err, backend.ErrNotFound, "b reads the generation on every call")

	// A generation evicted from memcached starts a new one: old entries are
	// not resurrected.
	require.NoError(t, b.Set(bg, "k2", []byte("v"), 0))
	require.NoError(t, memcache.New(addrs...).Delete(ns+":gen"))
	_, err = b.Get(bg, "k2")
	require.ErrorIs(t, err, backend.ErrNotFound)
}

func TestIncrNegativeSaturates(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	s := open(t, memcached.Options{Servers: addrs, Timeout: testutil.SlowTimeout})
	n, err := s.Incr(bg, "c", 5)
	require.NoError(t, err)
	assert.Equal(t, int64(5), n)
	n, err = s.Incr(bg, "c", -7)
	require.NoError(t, err)
	assert.Equal(t, int64(0), n, "memcached saturates at 0")
	n, err = s.Incr(bg, "missing", -3)
	require.NoError(t, err)
	assert.Equal(t, int64(0), n)
}

func TestContextAlreadyDone(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	s := open(t, memcached.Options{Servers: addrs})
	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, err := s.Get(ctx, "k")
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, s.Set(ctx, "k", nil, 0), context.Canceled)
}

func startMemcached(t testing.TB) *testutil.Process {
	return testutil.StartProcess(t, "memcached", func(port int) []string {
		return []string{"-u", "root", "-l", "127.0.0.1", "-p", strconv.Itoa(port), "-m", "16"}
	})
}

// timedOut reports whether err says a deadline ended the call: a connect
// or read timeout of the client, or a context's deadline.
func timedOut(err error) bool {
	var ce *memcache.ConnectTimeoutError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
}

// TestServerDown checks that calls fail fast with wrapped errors while the
// server is down, and succeed again with the same Store once it is back
// (within a second: the server was marked down, and is probed once a
// second). Fast is told by the error, not timed: a call that waited for
// Options.Timeout (a dial or read held until its deadline) fails with a
// timeout, where a refused dial, or a refusal of a server marked down,
// fails with the refusal.
func TestServerDown(t *testing.T) {
	const timeout = 20 * time.Second
	p := startMemcached(t)
	s := open(t, memcached.Options{Servers: []string{p.Addr}, Timeout: timeout})
	require.NoError(t, s.Set(bg, "k", []byte("v"), 0))
	_, err := s.Get(bg, "k")
	require.NoError(t, err)

	p.Stop()
	ops := map[string]func() error{
		"Get":     func() error { _, err := s.Get(bg, "k"); return err },
		"Set":     func() error { return s.Set(bg, "k", []byte("v"), 0) },
		"Add":     func() error { _, err := s.Add(bg, "a", []byte("v"), 0); return err },
		"Delete":  func() error { return s.Delete(bg, "k") },
		"GetMany": func() error { _, err := s.GetMany(bg, []string{"k", "j"}); return err },
		"Incr":    func() error { _, err := s.Incr(bg, "n", 1); return err },
		"Has":     func() error { _, err := s.Has(bg, "k"); return err },
		"Clear":   func() error { return s.Clear(bg) },
	}
	for name, op := range ops {
		t.Run("down/"+name, func(t *testing.T) {
			err := op()
			require.Error(t, err)
			assert.NotErrorIs(t, err, backend.ErrNotFound)
			assert.True(t, strings.HasPrefix(err.Error(), "memcached: "), err.Error())
			assert.False(t, timedOut(err), "a call waited for Options.Timeout: %v", err)
		})
	}

	p.Start()
	require.Eventually(t, func() bool {
		_, err := s.Get(bg, "k")
		return err == nil || errors.Is(err, backend.ErrNotFound)
	}, 3*time.Second, 10*time.Millisecond, "the server back up is never probed")
	for name, op := range ops {
		t.Run("up/"+name, func(t *testing.T) {
			err := op()
			if name == "Get" || name == "Has" { // the restarted server is empty
				if errors.Is(err, backend.ErrNotFound) {
					err = nil
				}
			}
			require.NoError(t, err)
		})
	}
}

// TestServerRestartWithIdleConnections: pooled connections the restart
// broke are retried once, so the first call after a restart succeeds.
func TestServerRestartWithIdleConnections(t *testing.T) {
	p := startMemcached(t)
	s := open(t, memcached.Options{Servers: []string{p.Addr}})
	require.NoError(t, s.Set(bg, "k", []byte("v"), 0))
	p.Stop()
	p.Start()
	require.NoError(t, s.Set(bg, "k", []byte("v"), 0))
	v, err := s.Get(bg, "k")
	require.NoError(t, err)
	assert.Equal(t, "v", string(v))
}
