package caching

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// heldLeaseDeletes is a Store whose Delete of a lease key, while armed,
// blocks until unblock is closed: a slow or hung backend's round trip.
type heldLeaseDeletes struct {
	*simple.Store
	armed   atomic.Bool
	entered chan struct{} // closed by the first blocked Delete
	unblock chan struct{}
	key     string      // the lease key of that Delete
	deleted atomic.Bool // that Delete was made
	// Unblock ends the blocked Delete (once): deferred, so that a
	// failing test's bubble ends.
	Unblock func()
	// onLeaseAdd, once set, is the next Add of a lease key (once): add
	// makes it on the Store.
	onLeaseAdd atomic.Pointer[func(add func() (bool, error)) (bool, error)]
}

func newHeldLeaseDeletes(t *testing.T) *heldLeaseDeletes {
	s := &heldLeaseDeletes{Store: newSimple(t, nil), entered: make(chan struct{}), unblock: make(chan struct{})}
	s.Unblock = sync.OnceFunc(func() { close(s.unblock) })
	return s
}

// leased returns a Cache, under a Lease of a minute, of b behind a remote
// (a backend of round trips), with a Timeout that a held Delete never
// reaches.
func leased(b backend.Backend) *Cache {
	return Must(&Options{Backend: &remote{Backend: b}, Lease: time.Minute, Timeout: time.Hour})
}

// setOnLeaseAdd sets onLeaseAdd to f.
func (s *heldLeaseDeletes) setOnLeaseAdd(f func(add func() (bool, error)) (bool, error)) {
	s.onLeaseAdd.Store(&f)
}

func (s *heldLeaseDeletes) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	add := func() (bool, error) { return s.Store.Add(ctx, key, value, ttl) }
	if strings.Contains(key, kindLease) {
		if f := s.onLeaseAdd.Swap(nil); f != nil {
			return (*f)(add)
		}
	}
	return add()
}

func (s *heldLeaseDeletes) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if strings.Contains(k, kindLease) && s.armed.CompareAndSwap(true, false) {
			s.key = k
			close(s.entered)
			<-s.unblock
			err := s.Store.Delete(ctx, keys...)
			s.deleted.Store(err == nil)
			return err
		}
	}
	return s.Store.Delete(ctx, keys...)
}

// TestLeaseReleaseOffTheRequestPath: a leader under a Lease stores its
// response, then deletes its lease. Nothing its response or its waiters
// get depends on that Delete: its request is answered, whole, while the
// Delete still waits for the backend (before, every leased miss waited
// for one more round trip, a whole Timeout on a hung backend). The entry
// is stored before the lease is released; the lease is deleted once the
// backend answers, and Close waits for it.
func TestLeaseReleaseOffTheRequestPath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newHeldLeaseDeletes(t)
		c := leased(b)
		var runs atomic.Int32
		h := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "page %d", runs.Add(1))
		}))
		defer c.Close()
		b.armed.Store(true)
		done := make(chan struct{})
		defer func() { b.Unblock(); <-done }()
		var body string
		go func() {
			defer close(done)
			body = get(h, "/p").Body.String()
		}()
		<-b.entered
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("the leader's request waits for its lease's Delete")
		}
		assert.Equal(t, "page 1", body)
		// Stored before the release: a hit while the lease is still held.
		assert.Equal(t, "page 1", get(h, "/p").Body.String())
		_, err := b.Store.Get(context.Background(), b.key)
		assert.NoError(t, err, "the lease is still held while its Delete waits")
		b.Unblock()
		require.NoError(t, c.Close())
		assert.True(t, b.deleted.Load(), "the lease is deleted once the backend answers, before Close returns")
		assert.EqualValues(t, 1, runs.Load())
	})
}

// TestLeaseMemoizeReleaseOffTheCallPath: as for a view, a memoized call
// under a Lease returns its stored result while the Delete of its lease
// still waits for the backend.
func TestLeaseMemoizeReleaseOffTheCallPath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newHeldLeaseDeletes(t)
		c := leased(b)
		var runs atomic.Int32
		m := Memoize(c, "release", func(_ context.Context, a int) (int, error) {
			runs.Add(1)
			return a * 2, nil
		})
		defer c.Close()
		b.armed.Store(true)
		done := make(chan struct{})
		defer func() { b.Unblock(); <-done }()
		var got int
		var err error
		go func() {
			defer close(done)
			got, err = m.Get(context.Background(), 21)
		}()
		<-b.entered
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("the memoized call waits for its lease's Delete")
		}
		assert.NoError(t, err)
		assert.Equal(t, 42, got)
		b.Unblock()
		require.NoError(t, c.Close())
		assert.True(t, b.deleted.Load(), "the lease is deleted before Close returns")
		assert.EqualValues(t, 1, runs.Load())
	})
}

// failsLeaseDeleteOnce is a Store whose next Delete of a lease key, once
// armed, fails with err without deleting it.
type failsLeaseDeleteOnce struct {
	*simple.Store
	armed atomic.Bool
	err   error
	key   string // the lease key of the failed Delete
}

func (s *failsLeaseDeleteOnce) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if strings.Contains(k, kindLease) && s.armed.CompareAndSwap(true, false) {
			s.key = k
			return s.err
		}
	}
	return s.Store.Delete(ctx, keys...)
}

// failedReleases are the failures of a lease's release the tests below
// make, and whether the lease stays this process's (the release surely
// did not reach the backend: releaseUnmade).
var failedReleases = []struct {
	name string
	err  error
	own  bool
}{
	{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
	{"server marked down", fmt.Errorf("memcached: %w", backend.ErrServerDown), true},
	// May have landed: another process may hold the key's lease since.
	{"timeout", fmt.Errorf("redis: %w", context.DeadlineExceeded), false},
	{"reply lost", errors.New("redis: connection reset by peer"), false},
}

// leasedWork makes a view's page and a memoized result on c, each stored
// for a second: get returns the number of the run that answered it.
var leasedWork = map[string]func(c *Cache) (get func(t *testing.T) int32){
	"view": func(c *Cache) func(*testing.T) int32 {
		var runs atomic.Int32
		h := c.Cached(time.Second)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, runs.Add(1))
		}))
		return func(t *testing.T) int32 {
			n, err := strconv.Atoi(get(h, "/p").Body.String())
			require.NoError(t, err)
			return int32(n)
		}
	},
	"Memoize": func(c *Cache) func(*testing.T) int32 {
		var runs atomic.Int32
		m := Memoize(c, "taken", func(context.Context, int) (int32, error) {
			return runs.Add(1), nil
		}, TTL(time.Second))
		return func(t *testing.T) int32 {
			n, err := m.Get(context.Background(), 1)
			require.NoError(t, err)
			return n
		}
	},
}

// TestLeaseFailedReleaseTakenOver: a leader stores its response (a view's,
// a memoized function's), and the Delete of its lease fails. When the
// failure surely did not reach the backend, the lease is still this
// process's until it ends: the next miss of the key in this process (the
// entry expired, no stale one) takes it as its own and runs at once, then
// releases it; before, it waited the whole lease (a minute) for a run
// nobody made. A release that may have landed (a timeout, a lost reply)
// is not taken over: the miss waits for the lease, as for another
// process's.
func TestLeaseFailedReleaseTakenOver(t *testing.T) {
	for kind, work := range leasedWork {
		for _, tc := range failedReleases {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					b := &failsLeaseDeleteOnce{Store: newSimple(t, nil), err: tc.err}
					c := Must(&Options{Backend: &remote{Backend: b}, Lease: time.Minute})
					defer c.Close()
					get := work(c)
					b.armed.Store(true)
					assert.EqualValues(t, 1, get(t))
					synctest.Wait() // its lease's release failed
					require.False(t, b.armed.Load(), "the lease's Delete failed")
					time.Sleep(2 * time.Second) // expired: a miss with no stale entry

					start := time.Now()
					assert.EqualValues(t, 2, get(t))
					waited := time.Since(start) // synctest's clock: no load moves it
					st := c.Stats()
					if !tc.own {
						// Until the lease's backend TTL, which began 2 s before.
						assert.Greater(t, waited, 50*time.Second, "a lease that may be another process's is waited for")
						assert.EqualValues(t, 1, st.LeaseWaits)
						return
					}
					assert.Zero(t, waited, "the miss waited for its own process's lease")
					assert.Zero(t, st.LeaseWaits)
					assert.EqualValues(t, 2, st.Leases, "the second run's lease: the first one, taken over")
					c.background.wait()
					_, err := b.Store.Get(context.Background(), b.key)
					assert.ErrorIs(t, err, ErrNotFound, "the lease taken over is released by the run that took it")
				})
			})
		}
	}
}

// landsLateAdd is failsLeaseDeleteOnce whose next lease Add, once late is
// set, is made but answered too late (a timeout): the lease under the key
// may, for all the process knows, be another's from the start.
type landsLateAdd struct {
	*failsLeaseDeleteOnce
	late atomic.Bool
}

func (s *landsLateAdd) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	added, err := s.Store.Add(ctx, key, value, ttl)
	if err == nil && strings.Contains(key, kindLease) && s.late.CompareAndSwap(true, false) {
		return false, fmt.Errorf("redis: %w", context.DeadlineExceeded)
	}
	return added, err
}

// TestLeaseUnsureReleaseNotTakenOver: a lease whose Add timed out (the
// backend made it, unknown to the process) is released after the run; that
// release fails without reaching the backend. The lease is not kept as the
// process's own: had the Add not been made, it would be another process's.
// The next miss waits for it, as for any held lease.
func TestLeaseUnsureReleaseNotTakenOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &landsLateAdd{failsLeaseDeleteOnce: &failsLeaseDeleteOnce{Store: newSimple(t, nil), err: failedReleases[0].err}}
		b.late.Store(true)
		c := Must(&Options{Backend: &remote{Backend: b}, Lease: time.Minute})
		defer c.Close()
		get := leasedWork["view"](c)
		b.armed.Store(true)
		assert.EqualValues(t, 1, get(t))
		synctest.Wait()
		require.False(t, b.armed.Load(), "the lease's Delete failed")
		require.False(t, b.late.Load(), "the lease's Add answered late")
		time.Sleep(2 * time.Second)
		start := time.Now()
		assert.EqualValues(t, 2, get(t))
		assert.Greater(t, time.Since(start), 50*time.Second, "the lease was taken over")
		assert.EqualValues(t, 1, c.Stats().LeaseWaits)
	})
}
