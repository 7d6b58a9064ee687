package e2e

import (
	"bytes"
	"net/http"
	"sync"
)

// Naive is the floor of what any response cache costs, and the reference of
// every comparison: a map from request URI to status, headers and body
// behind one RWMutex, with no TTL, no eviction, no Vary, no validation of
// what it stores. When statusHeader is not empty, a response served from the
// map carries statusHeader: HIT and one the handler made statusHeader: MISS.
// It is safe for concurrent use.
func Naive(next http.Handler, statusHeader string) http.Handler {
	type response struct {
		status int
		header http.Header
		body   []byte
	}
	var (
		mu sync.RWMutex
		m  = map[string]*response{}
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		key := r.URL.RequestURI()
		mu.RLock()
		resp := m[key]
		mu.RUnlock()
		if resp != nil {
			h := w.Header()
			for k, v := range resp.header {
				h[k] = v
			}
			w.WriteHeader(resp.status)
			_, _ = w.Write(resp.body)
			return
		}
		if statusHeader != "" {
			w.Header().Set(statusHeader, "MISS")
		}
		rec := &recordingWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if rec.status == http.StatusOK {
			header := w.Header().Clone()
			if statusHeader != "" {
				header.Set(statusHeader, "HIT") // replayed with the others
			}
			mu.Lock()
			m[key] = &response{rec.status, header, rec.body.Bytes()}
			mu.Unlock()
		}
	})
}

// recordingWriter keeps a copy of what the handler writes.
type recordingWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *recordingWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.body.Write(p)
	return w.ResponseWriter.Write(p)
}
