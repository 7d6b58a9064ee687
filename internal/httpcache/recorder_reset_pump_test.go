package httpcache

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A Recorder reused with Reset while its flushes were being written ends
// that goroutine first: none is left behind, still writing to the last
// response's writer.
func TestRecorderResetStopsThePump(t *testing.T) {
	for range 10 {
		w := newGatedWriter()
		w.let(nil)
		rec := &Recorder{Hold: true, StoreFlushed: true}
		rw := rec.Reset(w)
		_, _ = rw.Write([]byte("x"))
		rw.(http.Flusher).Flush()
		for _, n := w.received(); n == 0; _, n = w.received() {
			time.Sleep(time.Millisecond) // the flush goroutine runs
		}
		rec.Reset(newGatedWriter())
	}
	var left int
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		buf := make([]byte, 1<<20)
		left = strings.Count(string(buf[:runtime.Stack(buf, true)]), "(*pump).run")
		if left == 0 {
			return
		}
	}
	t.Errorf("%d flush goroutines left running after Reset", left)
}
