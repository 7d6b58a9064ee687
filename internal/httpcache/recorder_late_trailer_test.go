package httpcache

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A trailer set with http.TrailerPrefix once the body is written (as
// httputil.ReverseProxy does for an origin's undeclared trailers) reaches
// the client, and a snapshot has no trailers: the response must not be
// stored, or its hits would be sent without them.
func TestRecorderLateTrailerIsRefused(t *testing.T) {
	for _, hold := range []bool{false, true} {
		w := newLateTrailerRecorder(hold)
		_, _, _, reason := w.rec.Finish()
		assert.Equal(t, ReasonTrailer, reason, "hold=%v", hold)
	}
}

type lateTrailer struct{ rec *Recorder }

func newLateTrailerRecorder(hold bool) lateTrailer {
	rec := &Recorder{Hold: hold}
	w := rec.Reset(discard{h: http.Header{}})
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "body")
	w.Header()[http.TrailerPrefix+"X-Checksum"] = []string{"abc"}
	return lateTrailer{rec}
}

// discard is a ResponseWriter that keeps nothing.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(p []byte) (int, error) { return len(p), nil }
func (d discard) WriteHeader(int)             {}
