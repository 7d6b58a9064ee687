package caching_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/internal/testutil"
)

// headerWriter is a ResponseWriter whose header map is reused: writing a
// response into it allocates nothing.
type headerWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *headerWriter) Header() http.Header         { return w.h }
func (w *headerWriter) WriteHeader(code int)        { w.status = code }
func (w *headerWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// TestCachedHitAllocatesNothing: on the default store a hit builds its key
// on the stack, looks it up without making a string of it, and replays the
// stored header without copying it.
func TestCachedHitAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	c := caching.Must(nil)
	t.Cleanup(func() { _ = c.Close() })
	h := c.Cached(time.Hour)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"page":1}`))
	}))
	r := httptest.NewRequest(http.MethodGet, "/products?page=1&sort=asc", nil)
	w := &headerWriter{h: http.Header{}}
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.status)
	allocs := testutil.AllocsPerRun(100, func() {
		clear(w.h)
		*w = headerWriter{h: w.h}
		h.ServeHTTP(w, r)
	})
	assert.Zero(t, allocs)
	assert.Equal(t, int64(100+1), c.Stats().Hits, "every request after the first was a hit")
}

// TestCachedTypedHitAllocatesNothing: a hit of a request whose writer
// already has a Content-Type (an outer middleware's), whose key holds its
// type form since 7bb40ac, allocates nothing either: the form is appended
// to the key on the stack.
func TestCachedTypedHitAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	c := caching.Must(nil)
	t.Cleanup(func() { _ = c.Close() })
	h := c.Cached(time.Hour)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"page":1}`))
	}))
	r := httptest.NewRequest(http.MethodGet, "/products?page=1&sort=asc", nil)
	typ := []string{"application/json"}
	w := &headerWriter{h: http.Header{"Content-Type": typ}}
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.status)
	allocs := testutil.AllocsPerRun(100, func() {
		clear(w.h)
		w.h["Content-Type"] = typ
		*w = headerWriter{h: w.h}
		h.ServeHTTP(w, r)
	})
	assert.Zero(t, allocs)
	assert.Equal(t, int64(100+1), c.Stats().Hits, "every request after the first was a hit")
}
