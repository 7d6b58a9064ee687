package httpcache

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
)

// TestRecorderDeclaredLengthSizedOnce: a body that arrives as its
// Content-Length declared was recorded into a buffer grown by doubling, from
// a few KiB: 1 MiB written in 32 KiB chunks allocated 2 MiB, in six copies.
// Once a share of it has arrived, the buffer is now sized once for the whole
// body; written in one piece, it is sized for it at once.
func TestRecorderDeclaredLengthSizedOnce(t *testing.T) {
	body := bytes.Repeat([]byte("x"), DefaultMaxBody)
	for _, chunk := range []int{len(body), 32 << 10, 4 << 10} {
		t.Run("chunk="+strconv.Itoa(chunk), func(t *testing.T) {
			per := bodyAlloc(t, body, strconv.Itoa(len(body)), chunk)
			if limit := uint64(len(body) + len(body)/8); per > limit {
				t.Errorf("recording a declared 1 MiB body allocated %d bytes; want at most %d", per, limit)
			}
		})
	}
}

// TestRecorderWrongDeclaredLength: a Content-Length that lies sizes no
// buffer past Limit nor past what arrives, and what the Recorder returns is
// what it returned before: nothing for a body that disagrees with its
// length, the body for one that agrees.
func TestRecorderWrongDeclaredLength(t *testing.T) {
	const limit = 64 << 10
	cases := []struct {
		name              string
		declared, written int
		stored            bool
	}{
		{"declared=past-limit", 1 << 30, 100, false},
		{"declared=limit/written=less", limit, 100, false},
		{"declared=more", 5000, 4000, false},
		{"declared=less", 4000, 5000, false},
		{"declared=right", 5000, 5000, true},
		{"declared=limit/written=limit", limit, limit, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := bytes.Repeat([]byte("y"), tc.written)
			w := httptest.NewRecorder()
			rec := &Recorder{Limit: limit}
			rw := rec.Reset(w)
			rw.Header().Set("Content-Length", strconv.Itoa(tc.declared))
			for p := body; len(p) > 0; p = p[min(len(p), 1000):] {
				_, _ = rw.Write(p[:min(len(p), 1000)])
			}
			_, _, got, reason := rec.Finish()
			if tc.stored {
				if reason != ReasonNone || !bytes.Equal(got, body) {
					t.Errorf("reason %q, %d bytes recorded; want the %d written", reason, len(got), len(body))
				}
			} else if reason == ReasonNone || got != nil {
				t.Errorf("reason %q, %d bytes recorded; want none", reason, len(got))
			}
			if !bytes.Equal(w.Body.Bytes(), body) {
				t.Errorf("the writer below got %d bytes; want the %d written", w.Body.Len(), len(body))
			}
		})
	}
	t.Run("a lie allocates what arrives, not what it declares", func(t *testing.T) {
		if per := bodyAlloc(t, []byte("first bytes"), strconv.Itoa(DefaultMaxBody), 11); per > 2*initialBody {
			t.Errorf("a response that declared 1 MiB and sent 11 bytes allocated %d bytes", per)
		}
	})
}

// bodyAlloc returns the bytes a held Recorder allocates to record body,
// written in chunks of chunk bytes, under the Content-Length declared.
func bodyAlloc(t *testing.T, body []byte, declared string, chunk int) uint64 {
	t.Helper()
	const n = 10
	w := &nopWriter{h: make(http.Header)}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	for range n {
		rec := &Recorder{Hold: true}
		rw := rec.Reset(w)
		rw.Header()["Content-Length"] = []string{declared}
		for p := body; len(p) > 0; p = p[min(len(p), chunk):] {
			_, _ = rw.Write(p[:min(len(p), chunk)])
		}
		rec.Finish()
		_ = rec.Send()
	}
	runtime.ReadMemStats(&m1)
	return (m1.TotalAlloc - m0.TotalAlloc) / n
}

// BenchmarkRecorderDeclared measures recording a 1 MiB body that its
// Content-Length declares, written in 32 KiB chunks (io.Copy's).
func BenchmarkRecorderDeclared(b *testing.B) {
	body := bytes.Repeat([]byte("x"), DefaultMaxBody)
	w := &nopWriter{h: make(http.Header)}
	rec := Recorder{Hold: true}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		clear(w.h)
		rw := rec.Reset(w)
		rw.Header()["Content-Length"] = []string{strconv.Itoa(len(body))}
		for p := body; len(p) > 0; p = p[32<<10:] {
			_, _ = rw.Write(p[:32<<10])
		}
		_, _, _, _ = rec.Finish()
		_ = rec.Send()
	}
}
