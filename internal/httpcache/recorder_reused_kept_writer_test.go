package httpcache

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/httpx"
)

// TestRecorderReusedKeptWriterReachesNotTheNext: Reset zeroed the Writer
// inside a Recorder, handles included, so a reused Recorder handed its
// next response the handle its last one had: a writer the last handler
// kept, detached by Finish, was attached again, and its late bytes went
// into the next client's response. Without Finish between, the kept
// writer still reached the Recorder. A reused Recorder's writer, like a
// reused httpx.Writer's, is never one handed out before.
func TestRecorderReusedKeptWriterReachesNotTheNext(t *testing.T) {
	for _, finish := range []bool{true, false} {
		for _, hold := range []bool{false, true} {
			rec := &Recorder{Hold: hold}
			var kept []io.Writer
			// Past the first Reset, and past a block of the reused ones.
			for range 20 {
				if finish && len(kept) > 0 {
					rec.Finish()
				}
				kept = append(kept, rec.Reset(httptest.NewRecorder()))
			}
			w := httptest.NewRecorder()
			rw := rec.Reset(w)
			for i, k := range kept {
				_, err := io.WriteString(k, "LATE;")
				assert.ErrorIs(t, err, httpx.ErrDetached, "finish=%v hold=%v: the writer of response %d", finish, hold, i)
			}
			_, err := io.WriteString(rw, "page")
			require.NoError(t, err)
			_, _, body, reason := rec.Finish()
			require.Equal(t, ReasonNone, reason)
			require.NoError(t, rec.Send())
			assert.Equal(t, "page", string(body), "finish=%v hold=%v: the recorded body", finish, hold)
			assert.Equal(t, "page", w.Body.String(), "finish=%v hold=%v: what the client got", finish, hold)
		}
	}
}
