package httpcache

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// readFromSink is a writer below with ReadFrom, as net/http's own: a
// Recorder's ReadFrom reaches it through readBelow.
type readFromSink struct{ h http.Header }

func (s *readFromSink) Header() http.Header         { return s.h }
func (s *readFromSink) WriteHeader(int)             {}
func (s *readFromSink) Write(p []byte) (int, error) { return len(p), nil }
func (s *readFromSink) ReadFrom(r io.Reader) (int64, error) {
	var buf [512]byte
	var n int64
	for {
		m, err := r.Read(buf[:])
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// BenchmarkRecorderReadFrom: a reused Recorder's ReadFrom of a body past
// the sniffed bytes, which reaches the writer below through a reader of
// its own (Recorder.srcs) in every response.
func BenchmarkRecorderReadFrom(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 2048)
	w := &readFromSink{h: http.Header{}}
	var rec Recorder
	r := bytes.NewReader(body)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		clear(w.h)
		rw := rec.Reset(w)
		rw.Header()["Content-Type"] = []string{"text/plain"}
		r.Reset(body)
		if _, err := rw.(io.ReaderFrom).ReadFrom(r); err != nil {
			b.Fatal(err)
		}
		_, _, _, _ = rec.Finish()
	}
}
