package memcached

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// deleteTracker counts the deletes a Store's client has in flight at once
// (written, answer not read yet), the most of them, the deletes written,
// and the connections dialed. Each delete waits delay before it is written,
// as over a network with that latency: deletes made one after the other
// then never overlap, and deletes made concurrently surely do, however the
// machine schedules them.
type deleteTracker struct {
	delay    time.Duration
	failAt   int64  // the failAt-th delete fails its write (0: none does)
	panicKey string // the delete of this key panics in its write, once ("": none)
	panicked atomic.Bool
	sent     atomic.Int64
	inFlight atomic.Int64
	most     atomic.Int64
	dials    atomic.Int64
}

var errInjected = errors.New("injected write error")

// trackDeletes makes s's client dial through a deleteTracker from now on.
func trackDeletes(s *Store, delay time.Duration) *deleteTracker {
	tr := &deleteTracker{delay: delay}
	s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tr.dials.Add(1)
		return &deleteTrackingConn{Conn: c, t: tr}, nil
	}
	return tr
}

// deleteTrackingConn is a connection of a deleteTracker. gomemcache uses a
// connection for one call at a time, and writes each command in one Write
// (a bufio.Writer's Flush).
type deleteTrackingConn struct {
	net.Conn
	t    *deleteTracker
	busy bool // a delete written, its answer not read yet
}

func (c *deleteTrackingConn) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, []byte("delete ")) {
		// Once, and closing the connection first: gomemcache puts a
		// connection back in its pool when a call panics, with the
		// command still in its buffer. Left open, the next delete on it
		// would send both and read both answers in one Read, and the
		// delete after that would find its answer buffered and never
		// Read: counted in flight for good. Closed, the next use fails
		// its write, and the Store retries it on another connection.
		if c.t.panicKey != "" && bytes.Contains(p, []byte(":"+c.t.panicKey+"\r\n")) && c.t.panicked.CompareAndSwap(false, true) {
			_ = c.Conn.Close()
			panic("injected panic in a delete")
		}
		if c.t.sent.Add(1) == c.t.failAt {
			return 0, errInjected
		}
		c.busy = true
		n := c.t.inFlight.Add(1)
		for m := c.t.most.Load(); n > m && !c.t.most.CompareAndSwap(m, n); m = c.t.most.Load() {
		}
		time.Sleep(c.t.delay)
	}
	n, err := c.Conn.Write(p)
	if err != nil {
		c.done()
	}
	return n, err
}

func (c *deleteTrackingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.done()
	return n, err
}

func (c *deleteTrackingConn) done() {
	if c.busy {
		c.busy = false
		c.t.inFlight.Add(-1)
	}
}

// deleteStores returns a Store on servers, with MaxIdleConns idle
// connections, whose deletes are tracked, the namespace generation already
// read, and a second Store on the same namespace to write and read entries
// through.
func deleteStores(t *testing.T, servers []string, maxIdle int) (s *Store, tr *deleteTracker, setup *Store) {
	o := Options{Servers: servers, Namespace: namespaceFor("delmany"), MaxIdleConns: maxIdle, Timeout: 5 * time.Second, GenerationTTL: time.Hour}
	s, err := New(o)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	tr = trackDeletes(s, 200*time.Microsecond)
	_, err = s.prefix(context.Background())
	require.NoError(t, err)
	o.MaxIdleConns = 0
	setup, err = New(o)
	require.NoError(t, err)
	t.Cleanup(func() { setup.Close() })
	return s, tr, setup
}

// TestDeleteManyRunsConcurrently: a Delete or DeleteCount of many keys
// (gomemcache has no multi-key delete: one round trip each) has several
// deletes in flight at once, at most maxDeletesInFlight and at most
// Options.MaxIdleConns, so that it dials no more connections than the pool
// keeps: 200 keys used to take 200 round trips one after the other. Every
// key is deleted, and the count is exact.
func TestDeleteManyRunsConcurrently(t *testing.T) {
	bg := context.Background()
	addrs := testutil.MemcachedAddrs(t)
	const n = 200
	cases := []struct {
		name    string
		servers []string
		maxIdle int
		bound   int // the most deletes in flight at once
		dials   int // the most connections dialed
	}{
		{"default", addrs[:1], 0, min(maxDeletesInFlight, DefaultMaxIdleConns), min(maxDeletesInFlight, DefaultMaxIdleConns)},
		{"MaxIdleConns 3", addrs[:1], 3, 3, 3},
		{"MaxIdleConns 1", addrs[:1], 1, 1, 1},
		// Each server's pool serves at most bound connections at once.
		{"all servers", addrs, 0, maxDeletesInFlight, maxDeletesInFlight * len(addrs)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, tr, setup := deleteStores(t, tc.servers, tc.maxIdle)
			keys := seqKeys("many/", n)
			present := 0
			for i, k := range keys {
				if i%3 == 0 {
					require.NoError(t, setup.Set(bg, k, []byte("v"), time.Minute))
					present++
				}
			}
			dialsBefore := tr.dials.Load()
			got, err := s.DeleteCount(bg, keys...)
			require.NoError(t, err)
			assert.Equal(t, present, got, "keys that held an entry")
			assert.Equal(t, int64(n), tr.sent.Load(), "deletes sent")
			assert.Equal(t, int64(0), tr.inFlight.Load(), "deletes in flight after the call")
			most := tr.most.Load()
			if tc.bound > 1 {
				assert.Greater(t, most, int64(1), "most deletes in flight at once")
			}
			assert.LessOrEqual(t, most, int64(tc.bound), "most deletes in flight at once")
			assert.LessOrEqual(t, tr.dials.Load()-dialsBefore, int64(tc.dials), "connections dialed")
			vals, err := setup.GetMany(bg, keys)
			require.NoError(t, err)
			for i, v := range vals {
				assert.Nil(t, v, "key %s after the delete", keys[i])
			}

			// Delete too, every key present this time.
			for _, k := range keys {
				require.NoError(t, setup.Set(bg, k, []byte("v"), time.Minute))
			}
			tr.most.Store(0)
			require.NoError(t, s.Delete(bg, keys...))
			if tc.bound > 1 {
				assert.Greater(t, tr.most.Load(), int64(1), "Delete: most deletes in flight at once")
			}
			assert.LessOrEqual(t, tr.most.Load(), int64(tc.bound), "Delete: most deletes in flight at once")
			vals, err = setup.GetMany(bg, keys)
			require.NoError(t, err)
			for i, v := range vals {
				assert.Nil(t, v, "Delete: key %s after the delete", keys[i])
			}
		})
	}
}

// TestDeleteManyBoundedPerStore: the deletes a Store runs beside its
// callers' own are bounded per Store, not per call. Each Delete or
// DeleteCount deletes on its caller's goroutine, one delete in flight at a
// time, and on helper goroutines, which the Store runs at most
// maxDeleteHelpers of at once across all its calls: with N calls under way,
// at most N + maxDeleteHelpers deletes are in flight, and as many
// connections in use. The bound used to be per call: N calls of many keys
// had up to N*min(maxDeletesInFlight, MaxIdleConns) deletes in flight,
// dialing connections past the pool (which it then closed: a dial, and a
// socket in TIME_WAIT, per delete past it). MaxIdleConns is N +
// maxDeleteHelpers here, so that the pool holds every connection the calls
// use and no more are dialed. Every key is deleted, and each call's count
// is exact.
func TestDeleteManyBoundedPerStore(t *testing.T) {
	bg := context.Background()
	const calls, perCall = 10, 50
	helpers := min(maxDeletesInFlight, calls+maxDeletesInFlight-1) - 1 // maxDeleteHelpers for MaxIdleConns below
	maxIdle := calls + helpers
	s, tr, setup := deleteStores(t, testutil.MemcachedAddrs(t)[:1], maxIdle)
	keys := make([][]string, calls)
	present := make([]int, calls)
	for c := range calls {
		keys[c] = seqKeys(fmt.Sprintf("bound%d/", c), perCall)
		for i, k := range keys[c] {
			if (i+c)%3 == 0 {
				require.NoError(t, setup.Set(bg, k, []byte("v"), time.Minute))
				present[c]++
			}
		}
	}
	dialsBefore := tr.dials.Load()
	got := make([]int, calls)
	errs := make([]error, calls)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for c := range calls {
		wg.Go(func() {
			<-start
			got[c], errs[c] = s.DeleteCount(bg, keys[c]...)
		})
	}
	close(start)
	wg.Wait()
	for c := range calls {
		require.NoError(t, errs[c], "call %d", c)
		assert.Equal(t, present[c], got[c], "call %d: keys that held an entry", c)
	}
	assert.Equal(t, int64(calls*perCall), tr.sent.Load(), "deletes sent")
	assert.Equal(t, int64(0), tr.inFlight.Load(), "deletes in flight after the calls")
	assert.Equal(t, int32(0), s.deleteHelpers.Load(), "helper slots held after the calls")
	most := tr.most.Load()
	assert.Greater(t, most, int64(calls), "most deletes in flight at once: the calls ran no helper")
	assert.LessOrEqual(t, most, int64(calls+helpers), "most deletes in flight at once (%d calls, %d helpers)", calls, helpers)
	assert.LessOrEqual(t, tr.dials.Load()-dialsBefore, int64(calls+helpers), "connections dialed")
	for c := range calls {
		vals, err := setup.GetMany(bg, keys[c])
		require.NoError(t, err)
		for i, v := range vals {
			assert.Nil(t, v, "key %s after the delete", keys[c][i])
		}
	}
}

// TestDeleteManyGoesOnPastAFailedKey: a delete that fails does not stop
// the call: every other key is deleted, and the call returns the error
// with the count of the keys deleted (every delete sent but the one that
// failed found its key). A server down must not leave the keys on the
// others undeleted.
func TestDeleteManyGoesOnPastAFailedKey(t *testing.T) {
	bg := context.Background()
	const n, failAt = 200, 5
	s, tr, setup := deleteStores(t, testutil.MemcachedAddrs(t)[:1], 0)
	keys := seqKeys("fail/", n)
	for _, k := range keys {
		require.NoError(t, setup.Set(bg, k, []byte("v"), time.Minute))
	}
	tr.failAt = failAt
	got, err := s.DeleteCount(bg, keys...)
	require.ErrorIs(t, err, errInjected)
	assert.Contains(t, err.Error(), "memcached: ")
	assert.Equal(t, int64(n), tr.sent.Load(), "deletes sent")
	assert.Equal(t, n-1, got, "keys deleted")
	assert.Equal(t, int64(0), tr.inFlight.Load(), "deletes in flight after the call")
	vals, err := setup.GetMany(bg, keys)
	require.NoError(t, err)
	left := 0
	for _, v := range vals {
		if v != nil {
			left++
		}
	}
	assert.Equal(t, 1, left, "keys left")
}

// TestDeletePanicEndsItsHelpers: a delete that panics on the caller's
// goroutine (the first key is always the caller's) reaches the caller, and
// the call's helpers stop taking keys and end before it does: none outlives
// the call holding a slot of the Store's.
func TestDeletePanicEndsItsHelpers(t *testing.T) {
	const n = 100
	s, tr, _ := deleteStores(t, testutil.MemcachedAddrs(t)[:1], 0)
	keys := seqKeys("panic/", n)
	tr.panicKey = keys[0]
	func() {
		defer func() { require.NotNil(t, recover(), "the delete's panic reaches the caller") }()
		_, _ = s.DeleteCount(context.Background(), keys...)
	}()
	assert.Zero(t, s.deleteHelpers.Load(), "helper slots held after the call")
	assert.Zero(t, tr.inFlight.Load(), "deletes in flight after the call")
	sent := tr.sent.Load()
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, sent, tr.sent.Load(), "deletes sent after the call returned")
	assert.Less(t, sent, int64(n), "the helpers stopped taking keys")
}

// BenchmarkDeleteManyLatency measures a Delete of 100 keys over a network
// with some latency (each delete waits 250µs before it is written, as the
// tracker above makes it), where the round trips, not memcached, bound it.
func BenchmarkDeleteManyLatency(b *testing.B) {
	// A long Timeout: the simulated latency is slept on a loaded machine's
	// timers, and the benchmark is not about deadlines.
	s, err := New(Options{Servers: testutil.MemcachedAddrs(b)[:1], Namespace: namespaceFor("delbench"), Timeout: 5 * time.Second})
	require.NoError(b, err)
	b.Cleanup(func() { s.Close() })
	tr := trackDeletes(s, 250*time.Microsecond)
	keys := seqKeys("lat/", 100)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Delete(ctx, keys...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(tr.dials.Load())/float64(b.N), "dials/op")
	b.ReportMetric(float64(tr.most.Load()), "most-in-flight")
}
