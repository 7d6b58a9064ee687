package httpcache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// keepFirstBelow is a writer below whose ReadFrom keeps the first reader
// it is given, reading nothing of it, and at each later call reads the
// kept one (against io.ReaderFrom's contract) before copying the one it
// was given.
type keepFirstBelow struct {
	http.ResponseWriter
	kept    io.Reader
	late    []byte // what the kept reader read at the later calls
	lateErr error  // the error of its last read
}

func (k *keepFirstBelow) ReadFrom(r io.Reader) (int64, error) {
	if k.kept == nil {
		k.kept = r
		return 0, nil
	}
	buf := make([]byte, 64)
	n, err := k.kept.Read(buf)
	k.late, k.lateErr = append(k.late, buf[:n]...), err
	return io.Copy(k.ResponseWriter, r)
}

// Regression: every ReadFrom gave the ReadFrom below the one reader the
// Recorder holds (readBelow): a writer below that kept the reader of one
// call read, during a later call, that call's reader through it, and the
// bytes it read so were missing from what it sent.
func TestRecorderReadFromKeptReaderNotLater(t *testing.T) {
	for name, c := range readFromCases {
		if name == "longer than declared" {
			continue // its own reader of what was held
		}
		t.Run(name, func(t *testing.T) {
			sent := httptest.NewRecorder()
			under := &keepFirstBelow{ResponseWriter: sent}
			rec, w := readFromRecorder(c.hold, under, c.header)
			w.WriteHeader(http.StatusOK)
			rf := w.(io.ReaderFrom)
			_, err := rf.ReadFrom(struct{ io.Reader }{strings.NewReader("first ")})
			require.NoError(t, err)
			require.NotNil(t, under.kept)
			_, err = rf.ReadFrom(struct{ io.Reader }{strings.NewReader("second")})
			require.NoError(t, err)
			_, _, body, reason := rec.Finish()
			require.NoError(t, rec.Send())

			assert.Empty(t, string(under.late), "the kept reader read a later call's reader")
			assert.Equal(t, io.EOF, under.lateErr, "the kept reader's read")
			assert.Equal(t, "second", sent.Body.String(), "the body sent")
			assert.Equal(t, c.uncached, reason != ReasonNone)
			if !c.uncached {
				assert.Equal(t, "second", string(body), "the body recorded")
			}
		})
	}
}

// TestRecorderFirstReadFromAllocatesNothing: the first ReadFrom of a
// Recorder (a view's run makes one for each response) takes the reader it
// gives the ReadFrom below from the Recorder itself, at no allocation.
func TestRecorderFirstReadFromAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	below := noReadBelow{httptest.NewRecorder()}
	var r io.Reader = struct{ io.Reader }{strings.NewReader("x")}
	const runs = 100
	ws := make([]io.ReaderFrom, testutil.AllocsPerRunCalls(runs)) // each for one first ReadFrom
	for i := range ws {
		// Passed through: the recorded body's buffer is not counted.
		_, w := readFromRecorder(false, below, readFromCases["pass through"].header)
		w.WriteHeader(http.StatusOK)
		ws[i] = w.(io.ReaderFrom)
	}
	i := 0
	allocs := testutil.AllocsPerRun(runs, func() {
		_, _ = ws[i].ReadFrom(r)
		i++
	})
	assert.Zero(t, allocs)
}

// TestRecorderReadFromKeptReaderNotNextResponse: a reader the writer below
// kept from a Recorder's ReadFrom reads io.EOF, not the next response's
// reader, also where the Recorder is Reset for that response: the reader
// of its first ReadFrom is not handed out again.
func TestRecorderReadFromKeptReaderNotNextResponse(t *testing.T) {
	under := &keepFirstBelow{ResponseWriter: httptest.NewRecorder()}
	rec, w := readFromRecorder(false, under, http.Header{})
	w.WriteHeader(http.StatusOK)
	_, err := w.(io.ReaderFrom).ReadFrom(struct{ io.Reader }{strings.NewReader("first ")})
	require.NoError(t, err)
	require.NotNil(t, under.kept)
	rec.Finish()

	sent := httptest.NewRecorder()
	under.ResponseWriter = sent
	w = rec.Reset(under)
	w.WriteHeader(http.StatusOK)
	_, err = w.(io.ReaderFrom).ReadFrom(struct{ io.Reader }{strings.NewReader("next")})
	require.NoError(t, err)
	_, _, body, _ := rec.Finish()
	assert.Empty(t, string(under.late), "the kept reader read the next response's reader")
	assert.Equal(t, io.EOF, under.lateErr)
	assert.Equal(t, "next", sent.Body.String(), "the body sent")
	assert.Equal(t, "next", string(body), "the body recorded")
}
