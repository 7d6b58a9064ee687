package httpcache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nestingReader is the handler's reader whose first Read copies inner to
// the same response through its ReadFrom, before it reads r.
type nestingReader struct {
	w     io.ReaderFrom
	inner io.Reader
	r     io.Reader
}

func (n *nestingReader) Read(p []byte) (int, error) {
	if inner := n.inner; inner != nil {
		n.inner = nil
		if _, err := n.w.ReadFrom(inner); err != nil {
			return 0, err
		}
	}
	return n.r.Read(p)
}

// Regression: a ReadFrom made inside the Read of the reader a ReadFrom
// below reads (the handler's reader writes the same response) took the
// reader the Recorder holds for the outer call (readBelow), and cleared it
// when it returned: the rest of the outer reader was not recorded (the
// cached body lacked what was sent), and then read as io.EOF (the client's
// body cut short), where net/http alone sends it all.
func TestRecorderReadFromNested(t *testing.T) {
	const inner, outer = "inner ", "outer"
	for name, c := range readFromCases {
		if name == "longer than declared" {
			continue // its own reader of what was held
		}
		sent := httptest.NewRecorder()
		rec, w := readFromRecorder(c.hold, &readFromBelow{ResponseWriter: sent}, c.header)
		w.WriteHeader(http.StatusOK)
		rf := w.(io.ReaderFrom)
		n, err := rf.ReadFrom(&nestingReader{
			w:     rf,
			inner: struct{ io.Reader }{strings.NewReader(inner)},
			r:     iotest.OneByteReader(strings.NewReader(outer)),
		})
		require.NoError(t, err, name)
		assert.Equal(t, int64(len(outer)), n, name)
		_, _, body, reason := rec.Finish()
		require.NoError(t, rec.Send(), name)
		assert.Equal(t, inner+outer, sent.Body.String(), "%s: the body sent", name)
		assert.Equal(t, c.uncached, reason != ReasonNone, name)
		if !c.uncached {
			assert.Equal(t, inner+outer, string(body), "%s: the body recorded", name)
		}
		assert.False(t, rec.PanickedBelow(), name)
	}
}

// Regression: the Recorder kept the handler's reader after a ReadFrom
// below in which it or the writer below panicked (readBelow cleared it
// only when that returned): a writer below that kept the reader it was
// given read the handler's reader on, after the panic was recovered.
func TestRecorderReadFromReaderNotKeptAfterPanic(t *testing.T) {
	for name, c := range readFromCases {
		if name == "longer than declared" {
			continue // its own reader of what was held
		}
		for _, below := range []bool{true, false} {
			under := &readFromBelow{ResponseWriter: httptest.NewRecorder(), broken: below}
			_, w := readFromRecorder(c.hold, under, c.header)
			w.WriteHeader(http.StatusOK)
			var r io.Reader = strings.NewReader("read on")
			if !below {
				r = &panicFirstReader{r: r}
			}
			func() {
				defer func() { require.NotNil(t, recover(), "%s: below %v", name, below) }()
				_, _ = w.(io.ReaderFrom).ReadFrom(r)
			}()
			require.NotNil(t, under.got, "%s: the ReadFrom below was not called", name)
			n, err := under.got.Read(make([]byte, 16))
			assert.Zero(t, n, "%s: below %v", name, below)
			assert.Equal(t, io.EOF, err, "%s: below %v", name, below)
		}
	}
}

// panicFirstReader is the handler's reader whose first Read panics, and
// whose later ones read r.
type panicFirstReader struct {
	r        io.Reader
	panicked bool
}

func (p *panicFirstReader) Read(b []byte) (int, error) {
	if !p.panicked {
		p.panicked = true
		panic("reader broke")
	}
	return p.r.Read(b)
}
