package caching

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sidebarHandler is a handler's use of Fragment as examples/catalog's
// sidebar makes it: the render reads with the request's context (a
// database read bounded by ctx, here a second's wait), since render takes
// none. renders counts the renders; fail, if set, is what a render returns
// instead of reading.
type sidebarHandler struct {
	c       *Cache
	key     string
	renders atomic.Int64
	fail    error
}

func (h *sidebarHandler) serve(ctx context.Context) (string, error) {
	html, err := h.c.Fragment(ctx, h.key, time.Minute, func(w io.Writer) error {
		h.renders.Add(1)
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
		if h.fail != nil {
			return h.fail
		}
		_, err := io.WriteString(w, "<nav>categories</nav>")
		return err
	})
	return string(html), err
}

func newSidebarHandler(t *testing.T) *sidebarHandler {
	c := Must(nil)
	t.Cleanup(func() { _ = c.Close() })
	key, err := FragmentKey("sidebar", int64(3))
	require.NoError(t, err)
	return &sidebarHandler{c: c, key: key}
}

// TestFragmentJoinerOutlivesLeaderContext: concurrent requests share one
// render. When the client whose request started it goes away, its render
// fails with context.Canceled; the requests that joined it are alive and
// must not get that error (without the cache, only the request that left
// would fail): they share one render anew, which is stored, and each gets
// the fragment.
func TestFragmentJoinerOutlivesLeaderContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSidebarHandler(t)
		first, leave := context.WithCancel(context.Background())
		defer leave()
		var wg sync.WaitGroup
		var firstErr error
		wg.Go(func() { _, firstErr = h.serve(first) })
		synctest.Wait() // the first request renders
		var got [2]string
		var errs [2]error
		for i := range got {
			wg.Go(func() { got[i], errs[i] = h.serve(context.Background()) })
		}
		synctest.Wait() // the others wait for that render
		leave()         // the first client goes away
		wg.Wait()
		assert.ErrorIs(t, firstErr, context.Canceled, "the request that left")
		for i := range got {
			assert.NoError(t, errs[i], "request %d is alive", i)
			assert.Equal(t, "<nav>categories</nav>", got[i])
		}
		assert.Equal(t, int64(2), h.renders.Load(), "the one that failed, and one shared by the requests left")
		again, err := h.serve(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "<nav>categories</nav>", again)
		assert.Equal(t, int64(2), h.renders.Load(), "stored: a hit")
	})
}

// TestFragmentJoinerErrors: a caller that joined a render still gets its
// error when it is not the error of a context that ended (the render's own
// failure), or when its own context ended; neither renders again.
func TestFragmentJoinerErrors(t *testing.T) {
	t.Run("render error", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newSidebarHandler(t)
			h.fail = errors.New("database down")
			var wg sync.WaitGroup
			var errs [2]error
			for i := range errs {
				wg.Go(func() { _, errs[i] = h.serve(context.Background()) })
			}
			wg.Wait()
			for _, err := range errs {
				assert.ErrorIs(t, err, h.fail)
			}
			assert.Equal(t, int64(1), h.renders.Load(), "shared")
		})
	})
	t.Run("own context", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newSidebarHandler(t)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			var firstErr, joinerErr error
			wg.Go(func() { _, firstErr = h.serve(ctx) })
			synctest.Wait()
			wg.Go(func() { _, joinerErr = h.serve(ctx) })
			synctest.Wait()
			cancel() // both requests end
			wg.Wait()
			assert.ErrorIs(t, firstErr, context.Canceled)
			assert.ErrorIs(t, joinerErr, context.Canceled)
			assert.Equal(t, int64(1), h.renders.Load())
		})
	})
}
