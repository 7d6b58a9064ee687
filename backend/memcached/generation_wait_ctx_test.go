package memcached

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// leavingCtx is the context of a caller that leaves as soon as the call
// has looked at it once (Store.start): cancelled by that look, which
// finds it not done yet.
type leavingCtx struct {
	context.Context
	cancel context.CancelFunc
	looked atomic.Bool
}

func (c *leavingCtx) Err() error {
	if !c.looked.Swap(true) {
		c.cancel()
		return nil
	}
	return c.Context.Err()
}

// Regression: a call that found the namespace generation's read in flight,
// with no generation within GenerationGrace to go on with, waited for that
// read whatever its context: up to three round trips, each bounded by
// Options.Timeout, for a caller gone. It now stops waiting once its
// context is done, with the context's error, and the read, shared, goes on
// for the others: the call that makes it still gets its answer.
func TestCallWaitingForGenerationReadLeavesWithItsContext(t *testing.T) {
	s, got, release := hungGenerationStore(t, 0)

	reader := make(chan error, 1)
	go func() { _, err := s.Get(context.Background(), "a"); reader <- err }()
	<-got // the generation's read in flight, made by the first Get

	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx := &leavingCtx{Context: parent, cancel: cancel}
	waiter := make(chan error, 1)
	go func() { _, err := s.Get(ctx, "b"); waiter <- err }()
	leavesWith(t, waiter, release, "a call waiting for the generation's read")
	release()
	assert.ErrorIs(t, <-reader, backend.ErrNotFound, "the Get that reads the generation, once the read is answered")
	assert.NotNil(t, s.gen.Load(), "the generation read")
}

// hungGenerationStore returns a Store with GenerationTTL ttl on a
// hungGenerationServer, whose Timeout is above the tests' bound on a hang:
// the generation's read waits for release.
func hungGenerationStore(t *testing.T, ttl time.Duration) (s *Store, got <-chan struct{}, release func()) {
	addr, got, release := hungGenerationServer(t)
	s, err := New(Options{Servers: []string{addr}, Namespace: "fake", Timeout: time.Minute, GenerationTTL: ttl})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, got, release
}

// hungGenerationServer serves a memcached server whose read of namespace
// "fake"'s generation hangs until release is called (also at the test's
// end), and is then answered with generation 7; got is closed once the
// read has come. Other gets miss.
func hungGenerationServer(t *testing.T) (addr string, got <-chan struct{}, release func()) {
	gotc, released := make(chan struct{}), make(chan struct{})
	var gotOnce, releaseOnce sync.Once
	release = func() { releaseOnce.Do(func() { close(released) }) }
	t.Cleanup(release)
	addr = fakeServer(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			reply := "END\r\n"
			if line == "gets fake:gen\r\n" {
				gotOnce.Do(func() { close(gotc) })
				<-released // the read hangs until released
				reply = "VALUE fake:gen 0 1 1\r\n7\r\nEND\r\n"
			}
			if _, err := c.Write([]byte(reply)); err != nil {
				return
			}
		}
	})
	return addr, gotc, release
}

// leavesWith asserts that the call whose error comes on errc ends, once
// its context is cancelled, with the context's error, and says where it
// comes from once. release is called if it does not (so that the call
// ends).
func leavesWith(t *testing.T, errc <-chan error, release func(), what string) {
	t.Helper()
	select {
	case err := <-errc:
		t.Log(err)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 1, strings.Count(err.Error(), "memcached: "), "the error says where it comes from once: %v", err)
	case <-time.After(10 * time.Second): // a bound on a hang, far above the few steps it takes
		t.Errorf("%s did not leave once its context ended", what)
		release()
		<-errc
	}
}

// Regression: with GenerationTTL -1 (no caching) each call reads the
// namespace generation itself, and waited that read out whatever its
// context: up to three round trips, each bounded by Options.Timeout, for a
// caller gone. It now leaves once its context is done, with the context's
// error, and the Store goes on.
func TestOwnGenerationReadLeavesWithItsContext(t *testing.T) {
	s, got, release := hungGenerationStore(t, -1)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	caller := make(chan error, 1)
	go func() { _, err := s.Get(ctx, "a"); caller <- err }()
	<-got // its generation read in flight
	cancel()
	leavesWith(t, caller, release, "a call reading the generation itself")

	release()
	_, err := s.Get(context.Background(), "a")
	assert.ErrorIs(t, err, backend.ErrNotFound, "a call after it, the read answered")
}

// Regression: the call that makes the shared read of the namespace
// generation (its leader; none read within GenerationGrace) waited it out
// whatever its context, while the calls waiting for it left with theirs.
// It now leaves as they do, and the read goes on for the others: a call
// that waits for it gets its answer, and the read, ended, leaves nothing
// in flight (the next read is made afresh).
func TestGenerationReadLeaderLeavesWithItsContext(t *testing.T) {
	s, got, release := hungGenerationStore(t, 0)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	leader := make(chan error, 1)
	go func() { _, err := s.Get(ctx, "a"); leader <- err }()
	<-got // the generation's read in flight, made by the leader
	waiter := make(chan error, 1)
	go func() { _, err := s.Get(context.Background(), "b"); waiter <- err }()
	cancel()
	leavesWith(t, leader, release, "the call making the generation's read")

	release()
	assert.ErrorIs(t, <-waiter, backend.ErrNotFound, "a call waiting for the read, once it is answered")
	require.NotNil(t, s.gen.Load(), "the generation read")
	assert.Equal(t, "fake:7:", s.gen.Load().prefix)
	s.genMu.Lock()
	inFlight := s.genRead != nil
	s.genMu.Unlock()
	assert.False(t, inFlight, "the read, answered, is no longer in flight")
}

// Regression: a call waiting for the generation's shared read whose
// context ended as the read did answered either, at random (a select of
// both): its context's error half the time, though the read had its
// answer. The read's answer now wins when both are there.
func TestGenerationReadEndedWinsOverContextEnded(t *testing.T) {
	s, err := New(Options{Servers: []string{"127.0.0.1:1"}, Namespace: "fake"}) // never dialed
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	r := &genRead{done: make(chan struct{}), prefix: "fake:7:"}
	close(r.done) // the read has ended, still recorded as in flight
	s.genRead = r
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 100 {
		p, err := s.refreshPrefix(ctx)
		require.NoError(t, err)
		require.Equal(t, "fake:7:", p)
	}
}

// The read of the namespace generation runs on a goroutine of its own (see
// genRead.run), where a panic would end the program: the call that started
// it raises it instead, as when it read on its own goroutine, and the next
// call reads again. Both with the read shared (GenerationTTL > 0) and with
// each call's own (-1, its context one that can end).
func TestGenerationReadPanicReachesItsCaller(t *testing.T) {
	for _, ttl := range []time.Duration{time.Hour, -1} {
		t.Run(fmt.Sprint(ttl), func(t *testing.T) {
			addr, _, release := hungGenerationServer(t)
			release() // answered at once
			s, err := New(Options{Servers: []string{addr}, Namespace: "fake", GenerationTTL: ttl, Timeout: 10 * time.Second})
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			var panicked atomic.Bool
			dial := s.dial
			s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
				if panicked.CompareAndSwap(false, true) { // the first: the generation read's
					panic("injected panic in the generation read")
				}
				return dial(ctx, network, addr)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p := func() (p any) {
				defer func() { p = recover() }()
				_, _ = s.Get(ctx, "a")
				return nil
			}()
			assert.Equal(t, "injected panic in the generation read", p, "the caller gets the read's panic")
			_, err = s.Get(ctx, "a")
			assert.ErrorIs(t, err, backend.ErrNotFound, "the next call reads the generation again")
		})
	}
}

// Regression: with GenerationTTL -1 every call that left its own read of
// the generation left that read in flight, a goroutine and a connection
// each, without bound: a caller that gives up at once (a short deadline)
// and calls again, against a slow or hung server, piled up reads as fast
// as it could call. At most Options.MaxIdleConns reads are now left in
// flight at once; while as many are, a call reads the generation on its
// own goroutine, waiting it out as a context that cannot end does, and
// gets its answer.
func TestOwnGenerationReadsLeftAreBounded(t *testing.T) {
	addr, _, release := hungGenerationServer(t)
	var reads atomic.Int32
	s, err := New(Options{Servers: []string{addr}, Namespace: "fake", Timeout: time.Minute, GenerationTTL: -1, MaxIdleConns: 2})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	dial := s.dial
	s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		reads.Add(1) // each read in flight holds a connection of its own
		return dial(ctx, network, addr)
	}
	leaving := func() context.Context {
		parent, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		return &leavingCtx{Context: parent, cancel: cancel}
	}
	for i := range 2 {
		_, err := s.Get(leaving(), "a")
		require.ErrorIs(t, err, context.Canceled, "call %d leaves its read in flight", i)
	}

	third := make(chan error, 1)
	go func() { _, err := s.Get(leaving(), "a"); third <- err }()
	for deadline := time.Now().Add(10 * time.Second); reads.Load() < 3 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond) // a poll, its cap far above the steps it takes
	}
	require.EqualValues(t, 3, reads.Load(), "the third call's read in flight")
	release()
	assert.ErrorIs(t, <-third, backend.ErrNotFound, "the third call, two reads left in flight, waits for its own and gets its answer")
	for deadline := time.Now().Add(10 * time.Second); s.leftReads.Load() != 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	assert.Zero(t, s.leftReads.Load(), "the reads left, answered, no longer count")
}
