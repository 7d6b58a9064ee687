package caching

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// detachPanicWriter is an outer ResponseWriter whose WriteHeader panics
// (a middleware that breaks as the status passes), counting what reaches
// it after.
type detachPanicWriter struct {
	*httptest.ResponseRecorder
	writes atomic.Int64 // Write calls that reached it
}

func (w *detachPanicWriter) WriteHeader(int) { panic("outer WriteHeader broke") }

func (w *detachPanicWriter) Write(p []byte) (int, error) {
	w.writes.Add(1)
	return w.ResponseRecorder.Write(p)
}

// TestOuterWriterPanicAtFinishLeavesKeptWriterInert: where the writer
// outside the view panics as the view's recorder writes the status below
// (Recorder.Finish, after the handler returned: a HEAD whose handler
// wrote nothing, a GET's first held bytes), the panic skipped the run's
// deferred cleanup, whose Detach makes the writer the handler kept inert.
// Finish detaches that writer before it writes anything below, and the
// cleanup now detaches it whatever happened: a goroutine the handler left
// running gets an error from its late write, which reaches neither the
// outer writer nor anything else.
func TestOuterWriterPanicAtFinishLeavesKeptWriterInert(t *testing.T) {
	for _, shared := range []bool{false, true} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			t.Run(fmt.Sprintf("shared=%v/%s", shared, method), func(t *testing.T) {
				outerPanicKeptWriter(t, shared, method)
			})
		}
	}
}

func outerPanicKeptWriter(t *testing.T, shared bool, method string) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var runs atomic.Int64
		late := make(chan struct{})
		lateErr := make(chan error, 1)
		next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"v1"`) // a SharedCache HEAD revalidates it (view.head)
			if runs.Add(1) == 1 {
				_, _ = w.Write([]byte("stored"))
				return
			}
			go func() { // left running past the handler's return
				<-late
				_, err := w.Write([]byte("late"))
				lateErr <- err
			}()
			if r.Method != http.MethodHead {
				_, _ = w.Write([]byte("fresh")) // held: Finish writes it below
			} // else nothing: Finish commits the implicit 200 below
		})
		opts := []ViewOption{StaleIfError(time.Minute)}
		if shared {
			opts = append(opts, SharedCache())
		}
		h := c.Cached(10*time.Second, opts...)(next)
		require.Equal(t, "stored", get(h, "/page").Body.String())
		time.Sleep(15 * time.Second) // stale: the next request runs the handler

		w := &detachPanicWriter{ResponseRecorder: httptest.NewRecorder()}
		p := func() (p any) {
			defer func() { p = recover() }()
			h.ServeHTTP(w, httptest.NewRequest(method, "/page", nil))
			return nil
		}()
		require.Equal(t, int64(2), runs.Load(), "the second request ran the handler")
		assert.Equal(t, "outer WriteHeader broke", p, "the outer writer's panic reaches the caller")
		before := w.writes.Load()
		close(late)
		assert.Error(t, <-lateErr, "the kept writer is inert once the view is done")
		assert.Equal(t, before, w.writes.Load(), "the late write reaches no outer writer")
	})
}
