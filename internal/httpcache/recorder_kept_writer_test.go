package httpcache

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/httpx"
)

// TestRecorderKeptWriterIsInertAfterFinish: a handler that keeps its
// writer past its return (a late goroutine, a logger) reached the Recorder
// through it: its bytes went into the body being recorded, or past it to
// the writer below, racing with Finish and Send. From Finish on, every
// call of the kept writer fails with httpx.ErrDetached and reaches nothing.
func TestRecorderKeptWriterIsInertAfterFinish(t *testing.T) {
	for _, hold := range []bool{false, true} {
		w := httptest.NewRecorder()
		rec := &Recorder{Hold: hold}
		rw := rec.Reset(w)
		rw.Header().Set("Content-Type", "text/plain")
		_, err := io.WriteString(rw, "page")
		require.NoError(t, err)
		_, _, body, reason := rec.Finish()
		require.Equal(t, ReasonNone, reason)

		_, err = io.WriteString(rw, "LATE")
		assert.ErrorIs(t, err, httpx.ErrDetached, "hold=%v: Write", hold)
		assert.ErrorIs(t, http.NewResponseController(rw).Flush(), httpx.ErrDetached, "hold=%v: Flush", hold)
		rw.Header().Set("X-Late", "1")
		rw.WriteHeader(http.StatusTeapot)

		require.NoError(t, rec.Send())
		assert.Equal(t, "page", string(body), "hold=%v: the recorded body", hold)
		assert.Equal(t, "page", w.Body.String(), "hold=%v: what the client got", hold)
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Empty(t, w.Header().Get("X-Late"), "hold=%v: the kept writer's Header is not the response's", hold)
	}
}

// TestRecorderLateWritesRacingFinishReachTheClientAsRecorded: a goroutine
// of the handler that goes on writing while Finish runs (go test -race
// reported Recorder.Write against Finish) either gets its bytes in before
// Finish, recorded and sent alike, or gets ErrDetached: the recorded body
// is what the client gets.
func TestRecorderLateWritesRacingFinishReachTheClientAsRecorded(t *testing.T) {
	for range 50 {
		w := httptest.NewRecorder()
		rec := &Recorder{Hold: true}
		rw := rec.Reset(w)
		_, _ = io.WriteString(rw, "page;")
		var wg sync.WaitGroup
		var lastErr error
		wg.Go(func() {
			for range 10000 {
				if _, lastErr = io.WriteString(rw, "LATE;"); lastErr != nil {
					return
				}
			}
		})
		_, _, body, reason := rec.Finish()
		require.NoError(t, rec.Send())
		wg.Wait()
		require.Equal(t, ReasonNone, reason)
		assert.Equal(t, string(body), w.Body.String(), "what was recorded is what the client got")
		if lastErr != nil {
			assert.True(t, errors.Is(lastErr, httpx.ErrDetached), "the late write's error: %v", lastErr)
		}
	}
}
