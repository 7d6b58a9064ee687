package flight_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/flight"
)

// TestDoAloneRunsAsDoAlone: DoAlone's work runs on a context without its
// caller's cancellation, the caller returns as soon as its context ends,
// a call of the same key neither joins it nor is joined by it, and its
// panic reaches its caller as a *PanicError.
func TestDoAloneRunsAsDoAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		ctx, cancel := context.WithCancel(t.Context())
		release := make(chan struct{})
		workCtx := make(chan context.Context, 1)
		done := make(chan error, 1)
		go func() {
			_, err := g.DoAlone(ctx, func(ctx context.Context) (int, error) {
				workCtx <- ctx
				<-release
				return 1, nil
			})
			done <- err
		}()
		wctx := <-workCtx
		// A Do of the zero key runs its own work.
		v, joined, err := g.Do(t.Context(), "", func(context.Context) (int, error) { return 2, nil })
		require.NoError(t, err)
		assert.False(t, joined)
		assert.Equal(t, 2, v)
		cancel()
		synctest.Wait()
		select {
		case err := <-done:
			assert.ErrorIs(t, err, context.Canceled)
		default:
			t.Fatal("the caller waits for the work past its context")
		}
		assert.NoError(t, wctx.Err(), "the work's context is cancelled with its caller")
		close(release)
		synctest.Wait()

		v, err = g.DoAlone(t.Context(), func(context.Context) (int, error) { return 3, errors.New("e") })
		assert.Equal(t, 3, v)
		assert.EqualError(t, err, "e")
		pe := recoverPanicError(func() {
			_, _ = g.DoAlone(t.Context(), func(context.Context) (int, error) { panic("boom") })
		})
		require.NotNil(t, pe)
		assert.Equal(t, "boom", pe.Value)
	})
}
