package httpcache

import (
	"bytes"
	"errors"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// gatedWriter is a client that reads only when let: its Write and Flush
// block until open is closed (or fail with err once it is set). It is safe
// for concurrent use, so that a test can read what reached it.
type gatedWriter struct {
	h       http.Header
	open    chan struct{}
	mu      sync.Mutex
	code    int
	body    bytes.Buffer
	flushes int
	err     error
	blocked chan struct{} // closed when a Write or Flush first waits
	once    sync.Once
	free    int // how many Write and Flush calls pass before the gate
}

func newGatedWriter() *gatedWriter {
	return &gatedWriter{h: http.Header{}, open: make(chan struct{}), blocked: make(chan struct{})}
}

func (w *gatedWriter) Header() http.Header { return w.h }

func (w *gatedWriter) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.code == 0 {
		w.code = code
	}
}

func (w *gatedWriter) wait() error {
	w.mu.Lock()
	if w.free > 0 {
		w.free--
		w.mu.Unlock()
		return nil
	}
	w.mu.Unlock()
	w.once.Do(func() { close(w.blocked) })
	<-w.open
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *gatedWriter) Write(p []byte) (int, error) {
	if err := w.wait(); err != nil {
		return 0, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.body.Write(p)
}

func (w *gatedWriter) FlushError() error {
	if err := w.wait(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushes++
	return nil
}

func (w *gatedWriter) Flush() { _ = w.FlushError() }

// let lets the client read, or fail every write with err.
func (w *gatedWriter) let(err error) {
	w.mu.Lock()
	w.err = err
	w.mu.Unlock()
	close(w.open)
}

func (w *gatedWriter) received() (string, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.body.String(), w.flushes
}

// returns runs f and fails the test unless it returns within 10s (a hang
// guard, generous for a loaded machine): it must not wait for the client.
func returns(t *testing.T, what string, f func()) {
	t.Helper()
	testutil.Returns(t, what+" (waiting for the client?)", 10*time.Second, f)
}

// TestRecorderStoreFlushedNeverWaitsForClient: with Hold and StoreFlushed
// (a SharedCache run in front of a reverse proxy), a flush is forwarded to
// the client without the handler waiting for it, so that a client that
// does not read holds up neither the handler nor the requests waiting for
// the stored response. What the client gets is the whole body, in order.
func TestRecorderStoreFlushedNeverWaitsForClient(t *testing.T) {
	t.Run("the handler and Finish go on while the client does not read", func(t *testing.T) {
		// Finish waits for the first write of the body below only (what
		// a writer below adds then is judged): the client stops reading
		// after it.
		w := newGatedWriter()
		w.free = 2 // the first Write and Flush
		rec := &Recorder{Hold: true, StoreFlushed: true}
		rw := rec.Reset(w)
		var body []byte
		_, _ = rw.Write([]byte("0,"))
		require.NoError(t, http.NewResponseController(rw).Flush())
		require.Eventually(t, func() bool { got, n := w.received(); return got == "0," && n == 1 }, time.Second, time.Millisecond)
		returns(t, "the handler", func() {
			for i := 1; i < 50; i++ {
				_, err := rw.Write([]byte(strconv.Itoa(i) + ","))
				require.NoError(t, err)
				require.NoError(t, http.NewResponseController(rw).Flush())
			}
			var reason Reason
			_, _, body, reason = rec.Finish()
			assert.Equal(t, ReasonNone, reason)
		})
		<-w.blocked
		got, _ := w.received()
		assert.Equal(t, "0,", got, "the client has read the first flush only")
		w.let(nil)
		require.NoError(t, rec.Send())
		got, flushes := w.received()
		assert.Equal(t, string(body), got, "Send forwards the rest, after the flushes, in order")
		assert.Positive(t, flushes)
		assert.Equal(t, http.StatusOK, w.code)
	})
	t.Run("a flush reaches a reading client while the handler runs", func(t *testing.T) {
		w := newGatedWriter()
		w.let(nil)
		rec := &Recorder{Hold: true, StoreFlushed: true}
		rw := rec.Reset(w)
		rw.Write([]byte("first"))
		rw.(http.Flusher).Flush()
		require.Eventually(t, func() bool { got, n := w.received(); return got == "first" && n == 1 }, time.Second, time.Millisecond)
		rw.Write([]byte(" second"))
		_, _, body, reason := rec.Finish()
		assert.Equal(t, ReasonNone, reason)
		assert.Equal(t, "first second", string(body))
		require.NoError(t, rec.Send())
		got, _ := w.received()
		assert.Equal(t, "first second", got)
	})
	t.Run("once uncacheable, the waiters are told before the handler waits", func(t *testing.T) {
		w := newGatedWriter()
		failed := make(chan Reason, 1)
		rec := &Recorder{Hold: true, StoreFlushed: true, Limit: 8, OnFail: func(r Reason) { failed <- r }}
		rw := rec.Reset(w)
		returns(t, "the flush", func() {
			rw.Write([]byte("1234"))
			rw.(http.Flusher).Flush()
		})
		<-w.blocked
		done := make(chan struct{})
		go func() {
			defer close(done)
			rw.Write([]byte("56789")) // past the limit: passes through from now on
		}()
		select {
		case r := <-failed:
			assert.Equal(t, ReasonTooLarge, r)
		case <-time.After(10 * time.Second): // a hang guard: generous for a loaded machine
			t.Fatal("OnFail waited for the client")
		}
		w.let(nil)
		<-done
		_, _, body, reason := rec.Finish()
		assert.Nil(t, body)
		assert.Equal(t, ReasonTooLarge, reason)
		require.NoError(t, rec.Send())
		got, _ := w.received()
		assert.Equal(t, "123456789", got, "everything once, in order")
	})
	t.Run("a client that left is the handler's next write error", func(t *testing.T) {
		w := newGatedWriter()
		gone := errors.New("client gone")
		w.let(gone)
		var failed Reason
		rec := &Recorder{Hold: true, StoreFlushed: true, OnFail: func(r Reason) { failed = r }}
		rw := rec.Reset(w)
		rw.Write([]byte("part"))
		rw.(http.Flusher).Flush()
		var err error
		require.Eventually(t, func() bool {
			_, err = rw.Write([]byte("."))
			return err != nil
		}, time.Second, time.Millisecond)
		assert.ErrorIs(t, err, gone)
		assert.Equal(t, ReasonWriteError, failed)
		_, _, body, reason := rec.Finish()
		assert.Nil(t, body)
		assert.Equal(t, ReasonWriteError, reason)
	})
	t.Run("a panic's Fail forwards what was held after the flushes", func(t *testing.T) {
		w := newGatedWriter()
		w.let(nil)
		rec := &Recorder{Hold: true, StoreFlushed: true}
		rw := rec.Reset(w)
		rw.Write([]byte("a"))
		rw.(http.Flusher).Flush()
		rw.Write([]byte("b"))
		rec.Fail(ReasonPanic)
		got, _ := w.received()
		assert.Equal(t, "ab", got)
		require.NoError(t, rec.Send())
	})
}

// TestRecorderDeclaredLengthNotPreallocated: a response that declares a
// Content-Length and sends nothing (a slow upstream, or a HEAD's header)
// pins what it sent, not the length it declared.
func TestRecorderDeclaredLengthNotPreallocated(t *testing.T) {
	const n = 20
	recs := make([]*Recorder, n)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	for i := range recs {
		rec := &Recorder{Hold: true}
		rw := rec.Reset(newGatedWriter())
		rw.Header().Set("Content-Length", strconv.Itoa(DefaultMaxBody))
		rw.WriteHeader(http.StatusOK)
		rw.Write([]byte("first bytes"))
		recs[i] = rec
	}
	runtime.ReadMemStats(&m1)
	runtime.KeepAlive(recs)
	if per := (m1.TotalAlloc - m0.TotalAlloc) / n; per > 16<<10 {
		t.Errorf("each response that declared 1 MiB and sent 11 bytes allocated %d bytes", per)
	}
}
