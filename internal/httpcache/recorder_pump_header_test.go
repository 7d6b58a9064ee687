package httpcache

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// encodingWriter is a writer below the Recorder that reads and changes the
// header map at its writes, as a compressing middleware does when it
// decides at a write: at the first one it sets Content-Encoding and Vary
// and deletes Accept-Ranges; every Write and Flush reads the whole map.
type encodingWriter struct {
	*httptest.ResponseRecorder
	decided bool
	seen    int
}

func (w *encodingWriter) touch() {
	h := w.ResponseRecorder.Header()
	for k, vs := range h {
		w.seen += len(k) + len(vs)
	}
	if !w.decided {
		w.decided = true
		h.Set("Content-Encoding", "gzip")
		h.Set("Vary", "Accept-Encoding")
		h.Del("Accept-Ranges")
	}
}

func (w *encodingWriter) Write(p []byte) (int, error) {
	w.touch()
	return w.ResponseRecorder.Write(p)
}

func (w *encodingWriter) Flush() {
	w.touch()
	w.ResponseRecorder.Flush()
}

// TestRecorderPumpHandlerHeaderOwnMap: while the pump writes the flushes
// (Hold and StoreFlushed), the handler's Header is a map of its own, so
// that a handler that sets its trailers after its last flush (a reverse
// proxy) and the writers below that read and change the header at a write
// never use one map at once (run with -race). Its changes (added, changed,
// deleted keys) reach the map below when the pump stops, over what the
// writers below did to the keys it changed, and without undoing what they
// did to the others; the recorded header is the one at commit.
func TestRecorderPumpHandlerHeaderOwnMap(t *testing.T) {
	for _, stop := range []string{"Send", "Fail"} {
		t.Run(stop, func(t *testing.T) {
			for range 50 {
				w := &encodingWriter{ResponseRecorder: httptest.NewRecorder()}
				rec := &Recorder{Hold: true, StoreFlushed: true}
				rw := rec.Reset(w)
				below := w.ResponseRecorder.Header()
				h := rw.Header()
				h.Set("Content-Type", "text/plain")
				h.Set("Accept-Ranges", "bytes")
				h.Set("X-Upstream", "origin")
				h.Set("X-Gone", "soon")
				h.Set("Vary", "Origin")
				for i := range 5 {
					_, err := rw.Write([]byte(strconv.Itoa(i) + ","))
					require.NoError(t, err)
					rw.(http.Flusher).Flush()
				}
				own := rw.Header()
				require.False(t, sameMap(own, below), "the handler has its own map while the pump runs")
				own[http.TrailerPrefix+"X-Checksum"] = []string{"abc"}
				own.Set("X-Upstream", "finished")
				own.Del("X-Gone")
				own.Set("Vary", "Cookie")
				_, _, _, reason := rec.Finish()
				require.Equal(t, ReasonTrailer, reason, "a trailer set after the body is not stored")
				if stop == "Send" {
					require.NoError(t, rec.Send())
				} else {
					rec.Fail(ReasonPanic)
				}
				// The handler's writer is detached since Finish: the
				// Recorder's Header is the map below again.
				require.True(t, sameMap(rec.Header(), below), "the Recorder's Header is the map below again")
				assert.Equal(t, http.Header{
					"Content-Type":                    {"text/plain"},
					"Content-Encoding":                {"gzip"},     // set below, left alone
					"Vary":                            {"Cookie"},   // changed by both: the handler's, last
					http.TrailerPrefix + "X-Checksum": {"abc"},      // added by the handler
					"X-Upstream":                      {"finished"}, // changed by the handler
				}, below, "Accept-Ranges deleted below, X-Gone by the handler")
				assert.Equal(t, "0,1,2,3,4,", w.Body.String())
			}
		})
	}
}

// TestRecorderPumpHeaderAfterFail: a response that becomes uncacheable
// while the pump runs (past the limit) stops the pump on the handler's
// goroutine: the changes the handler made meanwhile reach the map below,
// which is its Header from then on, as writes pass through.
func TestRecorderPumpHeaderAfterFail(t *testing.T) {
	w := &encodingWriter{ResponseRecorder: httptest.NewRecorder()}
	rec := &Recorder{Hold: true, StoreFlushed: true, Limit: 8}
	rw := rec.Reset(w)
	rw.Write([]byte("1234"))
	rw.(http.Flusher).Flush()
	rw.Header().Set("X-During", "pump")
	rw.Write([]byte("56789")) // past the limit
	assert.Equal(t, ReasonTooLarge, rec.Reason())
	below := w.ResponseRecorder.Header()
	assert.Equal(t, "pump", below.Get("X-During"))
	assert.True(t, sameMap(rw.Header(), below))
	rw.Header().Set("X-After", "fail")
	assert.Equal(t, "fail", below.Get("X-After"))
	require.NoError(t, rec.Send())
	assert.Equal(t, "123456789", w.Body.String())
}

// TestRecorderHeaderIsBelowWithoutPump: the handler's Header is the map
// below when no pump runs (no flush, or no Hold): nothing is copied.
func TestRecorderHeaderIsBelowWithoutPump(t *testing.T) {
	for _, rec := range []*Recorder{{Hold: true}, {StoreFlushed: true}, {Hold: true, StoreFlushed: true}} {
		w := httptest.NewRecorder()
		rw := rec.Reset(w)
		assert.True(t, sameMap(rw.Header(), w.Header()))
		rw.Write([]byte("body"))
		if !rec.Hold {
			rw.(http.Flusher).Flush()
		}
		assert.True(t, sameMap(rw.Header(), w.Header()))
		rec.Finish()
		require.NoError(t, rec.Send())
	}
}

func sameMap(a, b http.Header) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}
