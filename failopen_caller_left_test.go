package caching

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCallerLeftIsNoBackendError: a caller whose context was cancelled (a
// client that disconnected) makes the lookup fail with context.Canceled on
// a remote store. That says nothing of the backend (the breaker ignores it:
// store.callerEnded), yet Memoized.Get, a view and Fragment failed open on
// it as on a backend failure: counted in Stats.Errors and the function's
// or view's Counts.Errors, and logged "backend error, serving uncached". A
// burst of disconnecting clients looked like a Redis outage on every
// dashboard and alert built on Errors. The caller still gets its context's
// error (Memoize, Fragment), and a view still answers the request from the
// handler, storing nothing.
func TestCallerLeftIsNoBackendError(t *testing.T) {
	stores := []struct {
		name string
		open func(t *testing.T) backend.Backend
	}{
		// Answers a call whose context ended with its error, as network
		// clients do.
		{"remote", func(t *testing.T) backend.Backend { return &ctxRemote{remote{Backend: newSimple(t, nil)}} }},
		{"redis", func(t *testing.T) backend.Backend {
			b, err := redisstore.New(redisstore.Options{URL: "redis://" + testutil.RedisAddr(t) + "/13?" + testutil.SlowRedisQuery,
				Prefix: "caller-left:" + time.Now().Format("150405.000000") + ":"})
			require.NoError(t, err)
			return b
		}},
	}
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			var logs bytes.Buffer
			c, err := New(&Options{Backend: s.open(t), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Clear(context.Background()); _ = c.Close() })
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // the client left

			m := Memoize(c, "report", func(_ context.Context, n int) (int, error) { return n * 2, nil })
			_, err = m.Get(ctx, 1)
			require.ErrorIs(t, err, context.Canceled)

			page := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "page") })
			for _, h := range []http.Handler{
				c.Cached(time.Minute, Name("page"), KeyFunc(func(r *http.Request) string { return r.URL.Path }))(page),
				c.Cached(time.Minute, Name("page"), HonorRequestCacheControl())(page),
				c.Cached(time.Minute, Name("page"), SharedCache())(page),
			} {
				for _, method := range []string{http.MethodGet, http.MethodPost} {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, httptest.NewRequestWithContext(ctx, method, "/", strings.NewReader("")))
					assert.Equal(t, "page", w.Body.String(), "%s: the handler still answers", method)
				}
			}

			_, err = c.Fragment(ctx, "nav", time.Minute, func(w io.Writer) error { _, err := fmt.Fprint(w, "nav"); return err })
			require.ErrorIs(t, err, context.Canceled)

			assert.EqualValues(t, 0, c.Stats().Errors, "a caller's cancellation is not a backend error")
			assert.EqualValues(t, 0, c.MemoStats()["report"].Errors)
			assert.EqualValues(t, 0, c.ViewStats()["page"].Errors)
			assert.NotContains(t, logs.String(), "backend error", "nor logged as one")

			// A live caller is served, and cached, as before.
			v, err := m.Get(context.Background(), 1)
			require.NoError(t, err)
			assert.Equal(t, 2, v)
		})
	}
}

// leavingRemote is ctxRemote whose client leaves (leave) as the first
// GetMany returns.
type leavingRemote struct {
	ctxRemote
	leave func()
}

func (r *leavingRemote) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	vs, err := r.ctxRemote.GetMany(ctx, keys)
	if r.leave != nil {
		r.leave()
		r.leave = nil
	}
	return vs, err
}

// TestClientLeftDuringLookupIsNoBackendError: a client that leaves while
// a view looks its entry up (a miss) makes the read of the versions its
// run stores the entry under fail with context.Canceled: not a backend
// error either, neither counted nor logged. The handler still answers.
func TestClientLeftDuringLookupIsNoBackendError(t *testing.T) {
	var logs bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := &leavingRemote{ctxRemote: ctxRemote{remote{Backend: newSimple(t, nil)}}, leave: cancel}
	c, err := New(&Options{Backend: b, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	h := c.Cached(time.Minute, Name("page"))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "page") }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil))
	assert.Equal(t, "page", w.Body.String(), "the handler still answers")
	require.Error(t, ctx.Err(), "the client left during the lookup")
	assert.EqualValues(t, 0, c.Stats().Errors, "a client's cancellation is not a backend error")
	assert.EqualValues(t, 0, c.ViewStats()["page"].Errors)
	assert.NotContains(t, logs.String(), "backend error", "nor logged as one")
}
