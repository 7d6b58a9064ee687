package caching

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// TestCachedKeptWriterFailsOnceTheHandlerReturned: a handler that keeps its
// http.ResponseWriter past its return (a late goroutine, a logger) could
// still write through it: into the response being recorded (and stored,
// for every later client) while the view finished it, racing with the
// view (go test -race), or into net/http's finished response. As under
// compress, the writer is inert once the handler has returned, or
// panicked: its writes fail with compress.ErrHandlerReturned (the same
// error value) and reach nothing. So for the handler a SharedCache view
// runs for a HEAD that revalidates a stored GET.
func TestCachedKeptWriterFailsOnceTheHandlerReturned(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shared bool
		method string
		panics bool
	}{
		{name: "miss", method: http.MethodGet},
		{name: "SharedCache miss", shared: true, method: http.MethodGet},
		{name: "SharedCache HEAD", shared: true, method: http.MethodHead},
		{name: "miss, handler panicked", method: http.MethodGet, panics: true},
		{name: "SharedCache HEAD, handler panicked", shared: true, method: http.MethodHead, panics: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			var kept http.ResponseWriter
			ran := 0
			page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ran++
				w.Header().Set("Content-Type", "text/plain")
				w.Header().Set("Cache-Control", "public, no-cache") // a HEAD revalidates
				w.Header().Set("ETag", `"v1"`)
				_, _ = io.WriteString(w, "page")
				if r.Method != tc.method {
					return
				}
				kept = w
				if tc.panics {
					panic("handler failed")
				}
			})
			opts := []ViewOption{}
			if tc.shared {
				opts = append(opts, SharedCache())
			}
			h := c.Cached(time.Minute, opts...)(page)
			serve := func(method string) (w *httptest.ResponseRecorder, panicked any) {
				w = httptest.NewRecorder()
				defer func() { panicked = recover() }()
				h.ServeHTTP(w, httptest.NewRequest(method, "/p", nil))
				return w, nil
			}
			if tc.method == http.MethodHead {
				_, p := serve(http.MethodGet) // the stored GET the HEAD revalidates
				require.Nil(t, p)
			}
			w, p := serve(tc.method)
			require.Equal(t, tc.panics, p != nil, "panicked: %v", p)
			require.NotNil(t, kept, "the handler ran for the %s", tc.method)
			before := w.Body.String()

			_, err := io.WriteString(kept, "LATE")
			assert.ErrorIs(t, err, compress.ErrHandlerReturned, "a write through the kept writer")
			assert.ErrorIs(t, http.NewResponseController(kept).Flush(), compress.ErrHandlerReturned, "a flush")
			kept.Header().Set("X-Late", "1")
			assert.Equal(t, before, w.Body.String(), "the late write reached the response")
			assert.Empty(t, w.Header().Get("X-Late"), "the kept writer's Header is the response's")

			if !tc.panics {
				w, _ = serve(http.MethodGet)
				assert.NotContains(t, w.Body.String(), "LATE", "the stored page")
			}
		})
	}
}

// TestCachedLateWritesStoreWhatTheirClientGot: a handler's goroutine that
// goes on writing while the view finishes its response raced with it (go
// test -race reported Recorder.Write against Recorder.Finish), and its
// bytes could reach the stored entry and not the client, or the client
// through net/http's finished response. Now a write made before the view
// detached the writer is part of the response, recorded and sent alike,
// and every later one fails: the stored page is what its client got.
func TestCachedLateWritesStoreWhatTheirClientGot(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	h := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "page;")
		wg.Go(func() {
			for range 10000 {
				if _, err := io.WriteString(w, "LATE;"); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		})
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(i int) (string, string) {
		resp, err := http.Get(srv.URL + "/p" + strconv.Itoa(i))
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(b), resp.Header.Get("Content-Length")
	}
	const pages = 100
	got := make([]string, pages)
	for i := range pages {
		got[i], _ = get(i)
	}
	wg.Wait()
	for i := range pages {
		body, _ := get(i)
		assert.Equal(t, got[i], body, "page %d: the stored page is what its client got", i)
	}
	for _, err := range errs {
		assert.True(t, errors.Is(err, compress.ErrHandlerReturned), "a late write's error: %v", err)
	}
}
