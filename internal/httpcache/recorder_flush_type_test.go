package httpcache

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sniffingWriter sends its header as net/http does when a handler that set
// no Content-Type flushes before it has written sniffLen bytes: with the
// type sniffed from what it was written before that first flush, none for
// no bytes. Safe for concurrent use (the pump writes to it).
type sniffingWriter struct {
	h         http.Header
	mu        sync.Mutex
	body      []byte
	committed bool
	sent      []string // the Content-Type it sent; nil for none
}

func (w *sniffingWriter) Header() http.Header { return w.h }
func (w *sniffingWriter) WriteHeader(int)     {}

func (w *sniffingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.body = append(w.body, p...)
	return len(p), nil
}

func (w *sniffingWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.committed {
		w.committed = true
		if len(w.body) > 0 {
			w.sent = []string{http.DetectContentType(w.body)}
		}
	}
}

// TestRecorderRecordsTheTypeSentAtTheFirstFlush: net/http sends the header
// of a handler that set no Content-Type at its first flush, with the type
// it sniffs from the bytes written by then; the Recorder's header had none,
// and the snapshot stored the type sniffed from the whole body, which its
// hits sent in place of the one the miss got. The Recorder records the
// type sent (none, for a flush before any byte), and its pump commits the
// first flush with exactly those bytes, even when the handler flushes again
// before the pump has written the first one.
func TestRecorderRecordsTheTypeSentAtTheFirstFlush(t *testing.T) {
	rest := "><html><body>" + strings.Repeat("<p>a streamed page</p>", 40) + "</body></html>"
	for _, tc := range []struct {
		name  string
		first string   // written before the first flush
		want  []string // the type sent, and stored
	}{
		{"a prefix sniffed as text", "<!DOCTYPE html", []string{"text/plain; charset=utf-8"}},
		{"no bytes", "", nil},
		{"sniffLen bytes", "<!DOCTYPE html>" + strings.Repeat(" ", sniffLen), []string{"text/html; charset=utf-8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 50 { // the pump may or may not run before the second flush
				below := &sniffingWriter{h: http.Header{}}
				rec := &Recorder{StoreFlushed: true, Hold: true}
				w := rec.Reset(below)
				_, _ = w.Write([]byte(tc.first))
				w.(http.Flusher).Flush()
				_, _ = w.Write([]byte(rest))
				w.(http.Flusher).Flush()
				status, h, body, reason := rec.Finish()
				require.Equal(t, ReasonNone, reason)
				require.NoError(t, rec.Send())
				require.Equal(t, tc.first+rest, string(body))
				require.Equal(t, tc.want, below.sent, "sent")
				s := NewSharedSnapshot(status, h, body, time.Unix(1e9, 0))
				vs, ok := s.Header["Content-Type"]
				require.True(t, ok, "stored")
				require.Equal(t, tc.want, vs, "stored")
			}
		})
	}
}

// TestRecorderLeavesATypeSetOrNotSniffedAtFlush: the handler's own
// Content-Type, a Content-Encoding (net/http sniffs none), and a response
// that never flushes keep what they had: the snapshot decides.
func TestRecorderLeavesATypeSetOrNotSniffedAtFlush(t *testing.T) {
	for _, tc := range []struct {
		name  string
		h     http.Header
		flush bool
		want  []string
	}{
		{"the handler's type", http.Header{"Content-Type": {"text/html"}}, true, []string{"text/html"}},
		{"encoded", http.Header{"Content-Encoding": {"gzip"}}, true, nil},
		{"no flush", http.Header{}, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &Recorder{StoreFlushed: true, Hold: true}
			w := rec.Reset(&sniffingWriter{h: http.Header{}})
			for k, vs := range tc.h {
				w.Header()[k] = vs
			}
			_, _ = w.Write([]byte("<!DOCTYPE html"))
			if tc.flush {
				w.(http.Flusher).Flush()
			}
			_, h, _, reason := rec.Finish()
			require.Equal(t, ReasonNone, reason)
			require.NoError(t, rec.Send())
			vs, ok := h["Content-Type"]
			assert.Equal(t, tc.want, vs)
			assert.Equal(t, tc.want != nil, ok, "recorded")
		})
	}
}
