package httpx

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// TestDetachedWriterReachesNothing: a writer kept past Detach (a handler
// that kept its ResponseWriter) reaches neither the Writer nor what it
// serves next, whichever of its methods is called: each fails with
// ErrDetached or does nothing, and Header is a map of its own.
func TestDetachedWriterReachesNothing(t *testing.T) {
	first, next := newFakeBase(), newFakeBase()
	s := &spy{}
	kept := s.Reset(fakeWriter(hasF|hasH|hasP|hasR, first), s)
	keptUnwrapped := s.Reset(fakeWriter(0, first), s) // detaches kept
	_ = keptUnwrapped
	s.Reset(fakeWriter(hasF|hasH|hasP|hasR, next), s)
	s.log.calls = nil

	kept.Header().Set("X-Late", "1")
	kept.WriteHeader(http.StatusTeapot)
	_, err := kept.Write([]byte("late"))
	assert.ErrorIs(t, err, ErrDetached)
	_, err = kept.(io.StringWriter).WriteString("late")
	assert.ErrorIs(t, err, ErrDetached)
	_, err = kept.(io.ReaderFrom).ReadFrom(strings.NewReader("late"))
	assert.ErrorIs(t, err, ErrDetached)
	kept.(http.Flusher).Flush()
	assert.ErrorIs(t, http.NewResponseController(kept).Flush(), ErrDetached)
	_, _, err = kept.(http.Hijacker).Hijack()
	assert.ErrorIs(t, err, ErrDetached)
	assert.ErrorIs(t, kept.(http.Pusher).Push("/a.css", nil), ErrDetached)
	assert.Nil(t, kept.(rwUnwrapper).Unwrap())

	assert.Empty(t, s.log.list(), "no hook was called")
	assert.Empty(t, first.calls.list())
	assert.Empty(t, next.calls.list())
	assert.Empty(t, next.rec.Header().Get("X-Late"))
	assert.Empty(t, first.rec.Header().Get("X-Late"))

	// The writer handed out now works.
	_, err = s.ResponseWriter().Write([]byte("ok"))
	require.NoError(t, err)
	assert.Equal(t, "ok", next.rec.Body.String())
}

// TestDetachKeepsTheUnwrappedFlushOnTheHooks: the writer Unwrap returns
// with a FlushError and Hijack that go through the hooks (a writer below
// that reaches a Flusher only through its own Unwrap) is detached with the
// writer it came from.
func TestDetachKeepsTheUnwrappedFlushOnTheHooks(t *testing.T) {
	fb := newFakeBase()
	s := &spy{}
	rw := s.Reset(unwrapOnly{fakeWriter(hasF|hasH, fb)}, s)
	below := rw.(rwUnwrapper).Unwrap()
	f, ok := below.(interface{ FlushError() error })
	require.True(t, ok, "%T", below)
	require.NoError(t, f.FlushError())
	s.Detach()
	assert.ErrorIs(t, f.FlushError(), ErrDetached)
	_, _, err := below.(http.Hijacker).Hijack()
	assert.ErrorIs(t, err, ErrDetached)
}

// unwrapOnly reaches the writer it wraps only through Unwrap.
type unwrapOnly struct{ http.ResponseWriter }

func (u unwrapOnly) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// TestResetAllocatesAHandleSlabOnlyWhenReused: a Writer used for one
// response allocates nothing for its handle; a pooled one allocates one
// slab of handles every freshBlock responses.
func TestResetAllocatesAHandleSlabOnlyWhenReused(t *testing.T) {
	under := fakeWriter(hasF, newFakeBase())
	assert.Zero(t, testutil.AllocsPerRun(100, func() {
		s := new(spy)
		s.Reset(under, s)
		spySink = s
	})-testutil.AllocsPerRun(100, func() { spySink = new(spy) }))

	s := &spy{}
	s.Reset(under, s)
	const n = 10 * freshBlock
	// The fewest of several measurements: one run counts every
	// allocation of the process while it lasts, and under load other
	// goroutines' come in (13 was seen once in CI).
	allocs := testutil.AllocsPerRun(1, func() {
		for range n {
			s.Reset(under, s)
		}
	})
	// One for the slab boundary, one for the runtime's own (11 is the
	// most this code makes); one handle each would be 160.
	slack := 2
	if raceEnabled {
		slack = 4 // the race detector's own allocations come and go
	}
	assert.LessOrEqual(t, allocs, float64(n/freshBlock+slack), "one slab per %d responses, not one handle each", freshBlock)
}

var spySink *spy

// blockingWriter's Write waits for release; it records the write deadlines
// set on it, as a connection's writer does.
type blockingWriter struct {
	h         http.Header
	writing   chan struct{}
	release   chan struct{}
	deadlines chan time.Time
}

func (b *blockingWriter) Header() http.Header { return b.h }
func (b *blockingWriter) WriteHeader(int)     {}
func (b *blockingWriter) Write(p []byte) (int, error) {
	close(b.writing)
	<-b.release
	return len(p), nil
}
func (b *blockingWriter) SetWriteDeadline(t time.Time) error { b.deadlines <- t; return nil }

// TestCallsDoNotWaitForEachOther: a watchdog goroutine's
// http.ResponseController SetWriteDeadline, which reaches the connection
// through Unwrap, is how a handler ends a Write blocked on a client that
// reads nothing. The lock that lets Detach wait for calls in progress must
// not make that call wait for the blocked Write (a deadlock: the write it
// would end holds it).
func TestCallsDoNotWaitForEachOther(t *testing.T) {
	b := &blockingWriter{h: http.Header{}, writing: make(chan struct{}), release: make(chan struct{}), deadlines: make(chan time.Time, 1)}
	rw := New(b).ResponseWriter()
	done := make(chan error, 1)
	go func() {
		_, err := rw.Write([]byte("body"))
		done <- err
	}()
	<-b.writing
	deadline := time.Now()
	set := make(chan error, 1)
	go func() { set <- http.NewResponseController(rw).SetWriteDeadline(deadline) }()
	select {
	case err := <-set:
		require.NoError(t, err)
		assert.Equal(t, deadline, <-b.deadlines)
	case <-time.After(5 * time.Second):
		t.Fatal("SetWriteDeadline waited for the blocked Write")
	}
	close(b.release)
	require.NoError(t, <-done)
}

// flushingReader flushes the writer it feeds before each read (a progress
// stream: io.Copy(w, src) where src pushes each chunk out), and, on its
// first read, waits for go_.
type flushingReader struct {
	w       http.ResponseWriter
	started chan struct{}
	go_     chan struct{}
	n       int
}

func (r *flushingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		close(r.started)
		<-r.go_
	}
	r.n++
	if r.n > 3 {
		return 0, io.EOF
	}
	r.w.(http.Flusher).Flush() // a call on the same writer, inside ReadFrom
	return copy(p, "x"), nil
}

// TestDetachDuringReentrantCall: a kept writer's ReadFrom whose source
// flushes that same writer makes a call inside a call. With a read-write
// lock per handle, once Detach waited for the write lock the nested read
// lock waited for Detach, and Detach for the ReadFrom: both hung for good,
// and the middleware's serving goroutine with them. A call begun while
// Detach waits now fails at once, and Detach returns when the ReadFrom
// does.
func TestDetachDuringReentrantCall(t *testing.T) {
	fb := newFakeBase()
	w := New(fakeWriter(hasF|hasR, fb))
	rw := w.ResponseWriter()
	src := &flushingReader{w: rw, started: make(chan struct{}), go_: make(chan struct{})}
	copied := make(chan struct{})
	go func() { // the handler's kept goroutine
		defer close(copied)
		_, _ = rw.(io.ReaderFrom).ReadFrom(src)
	}()
	<-src.started
	hd := w.hd
	detached := make(chan struct{})
	go func() { // the middleware, once the handler returned
		w.Detach()
		close(detached)
	}()
	for !hd.detached.Load() { // Detach began, and waits for the ReadFrom
		time.Sleep(time.Millisecond)
	}
	close(src.go_)
	select {
	case <-detached:
	case <-time.After(5 * time.Second):
		t.Fatal("Detach and the kept writer's ReadFrom deadlocked")
	}
	<-copied
	_, err := rw.Write([]byte("late"))
	assert.ErrorIs(t, err, ErrDetached)
}

// countingWriter counts the writes that reach it, and those that reach it
// after after is set.
type countingWriter struct {
	h          http.Header
	writes     atomic.Int64
	after      atomic.Bool
	afterCount atomic.Int64
}

func (c *countingWriter) Header() http.Header { return c.h }
func (c *countingWriter) WriteHeader(int)     {}
func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes.Add(1)
	if c.after.Load() {
		c.afterCount.Add(1)
	}
	return len(p), nil
}

// TestDetachRacingCalls: a kept writer's calls racing Detach (the Writer
// is not safe for concurrent calls of its own, so one goroutine makes
// them): Detach returns once the call in progress has, and no call
// reaches the writer after it returned (no lost wake-up, no late call
// slipping through).
func TestDetachRacingCalls(t *testing.T) {
	for range 300 {
		cw := &countingWriter{h: http.Header{}}
		w := New(cw)
		rw := w.ResponseWriter()
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			for range 200 {
				if _, err := rw.Write([]byte("x")); err != nil {
					return
				}
			}
		})
		close(start)
		done := make(chan struct{})
		go func() {
			w.Detach()
			cw.after.Store(true)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Detach never returned")
		}
		wg.Wait()
		require.Zero(t, cw.afterCount.Load(), "a call reached the writer after Detach returned")
	}
}
