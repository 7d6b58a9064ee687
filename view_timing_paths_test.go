package caching

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/timing"
)

// infoRecorder is an httptest.ResponseRecorder that takes 1xx codes as
// net/http does: sent at once, not the final status.
type infoRecorder struct {
	*httptest.ResponseRecorder
	info []int
}

func (w *infoRecorder) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.info = append(w.info, code)
		return
	}
	w.ResponseRecorder.WriteHeader(code)
}

// TestRunReportsCacheEveryPath: a run the stale entry may answer reports
// its cache metric at the handler's first final status, or at its end: the
// metric reaches the header the client got, once, whichever way the
// handler commits (not at all, Write, ReadFrom, Flush, after a 103, or
// before it panics), GET and HEAD, in both views.
func TestRunReportsCacheEveryPath(t *testing.T) {
	type handler func(w http.ResponseWriter)
	cases := []struct {
		name   string
		run    handler
		status int
		want   string
	}{
		{"nothing written", func(http.ResponseWriter) {}, http.StatusOK, "miss"},
		{"write", func(w http.ResponseWriter) { _, _ = w.Write([]byte("new")) }, http.StatusOK, "miss"},
		{"read from", func(w http.ResponseWriter) { _, _ = io.Copy(w, strings.NewReader("new")) }, http.StatusOK, "miss"},
		{"flush first", func(w http.ResponseWriter) {
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte("new"))
		}, http.StatusOK, "miss"},
		{"103 then 200", func(w http.ResponseWriter) {
			w.Header().Set("Link", "</s.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			_, _ = w.Write([]byte("new"))
		}, http.StatusOK, "miss"},
		{"103 then 502", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusBadGateway)
		}, http.StatusOK, "stale"},
		{"502", func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) }, http.StatusOK, "stale"},
		{"404", func(w http.ResponseWriter) { w.WriteHeader(http.StatusNotFound) }, http.StatusNotFound, "miss"},
		{"panic after 200", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("new"))
			panic("broke")
		}, http.StatusOK, "miss"},
		{"panic after flush", func(w http.ResponseWriter) {
			_, _ = w.Write([]byte("new"))
			w.(http.Flusher).Flush()
			panic("broke")
		}, http.StatusOK, "miss"},
	}
	for _, shared := range []bool{false, true} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			for _, tc := range cases {
				t.Run(fmt.Sprintf("%s/%s/shared=%v", tc.name, method, shared), func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						c := Must(nil)
						defer c.Close()
						var runs atomic.Int64
						next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
							if runs.Add(1) > 1 {
								tc.run(w)
								return
							}
							w.Header().Set("Cache-Control", "max-age=10, stale-if-error=60") // SharedCache's own
							w.Header().Set("ETag", `"v1"`)                                   // revalidated
							_, _ = w.Write([]byte("stored"))
						})
						opts := []ViewOption{StaleIfError(time.Minute), CacheStatusHeader("X-Cache")}
						if shared {
							opts = append(opts, SharedCache())
						}
						h := timing.Must(timing.Options{Expose: func(*http.Request) bool { return true }})(
							c.Cached(10*time.Second, opts...)(next))
						require.Equal(t, "stored", get(h, "/page").Body.String())
						time.Sleep(15 * time.Second) // stale: the next request runs the handler

						w := &infoRecorder{ResponseRecorder: httptest.NewRecorder()}
						func() {
							defer func() { _ = recover() }()
							h.ServeHTTP(w, httptest.NewRequest(method, "/page", nil))
						}()
						require.Equal(t, int64(2), runs.Load(), "the request ran the handler")
						res := w.Result() // the header as the final status sent it
						assert.Equal(t, tc.status, res.StatusCode)
						assert.Equal(t, []string{"cache;desc=" + tc.want}, cacheMetrics(res.Header.Get("Server-Timing")),
							"X-Cache: %s", res.Header.Get("X-Cache"))
					})
				})
			}
		}
	}
}
