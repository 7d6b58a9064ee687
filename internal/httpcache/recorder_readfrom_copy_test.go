package httpcache

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// copyingBelow is a writer below whose ReadFrom copies as a
// *net.TCPConn's does where it cannot sendfile or splice (net/http's
// ReadFrom hands it the body past its first 512 bytes): io.Copy to a
// writer without ReadFrom, which allocates a 32 KiB buffer for a reader
// without WriteTo.
type copyingBelow struct {
	http.ResponseWriter
	dst io.Writer // the ResponseWriter's Write alone, made once
}

func (b *copyingBelow) ReadFrom(r io.Reader) (int64, error) { return io.Copy(b.dst, r) }

// Regression: the reader the Recorder gives the ReadFrom below in place of
// the handler's (readBelow, 0fc64ea) has no WriteTo: a *net.TCPConn's
// ReadFrom, which copies a reader it cannot sendfile with io.Copy,
// allocated a 32 KiB buffer for each body of an uncacheable response,
// where one of the handler's readers with a WriteTo (a bytes.Reader)
// allocated none, and its io.LimitedReader (http.ServeContent's) one of
// the body's length. The copy now goes through a pooled buffer, for
// every reader: what it sends is unchanged.
func TestRecorderReadFromCopiesWithoutAllocating(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	data := []byte(strings.Repeat("d", 2048))
	br := bytes.NewReader(data)
	lr := &io.LimitedReader{R: br}
	plain := struct{ io.Reader }{br}
	for name, c := range readFromCases {
		if !c.uncached || name == "longer than declared" {
			continue // the pass-through paths, where nothing is recorded
		}
		sent := httptest.NewRecorder()
		below := &copyingBelow{ResponseWriter: sent}
		below.dst = struct{ io.Writer }{sent}
		_, w := readFromRecorder(c.hold, below, c.header)
		w.WriteHeader(http.StatusOK)
		rf := w.(io.ReaderFrom)
		for _, r := range []io.Reader{br, lr, plain} {
			copyOnce := func() {
				br.Reset(data)
				lr.N = int64(len(data))
				sent.Body.Reset()
				n, err := rf.ReadFrom(r)
				if err != nil || n != int64(len(data)) {
					panic("short copy")
				}
			}
			copyOnce()
			assert.True(t, bytes.Equal(data, sent.Body.Bytes()), "%s: %T: the body sent", name, r)
			assert.Zero(t, testing.AllocsPerRun(100, copyOnce), "%s: %T", name, r)
		}
	}
}
