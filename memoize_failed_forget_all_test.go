package caching

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// TestMemoizeRefreshSupersededByFailedForgetAll: a Refresh (R1) computes
// after an update; a ForgetAll made while its fn runs fails (its delete of
// the generation refused, retried in the background). R1, superseded by a
// ForgetAll, stores nothing (mayReplace) and returns its new result with
// no error, while the entry of before it ("old") is still under the
// generation that was not deleted: another process sharing the backend is
// served it until the retry lands (this process's lookups miss meanwhile).
// Refresh promises that a Get after it returned nil is never served that
// entry, and returns an error where it could neither replace nor remove
// it; ForgetAll returned its error, so it made no promise of its own.
func TestMemoizeRefreshSupersededByFailedForgetAll(t *testing.T) {
	t.Skip("finding (review of 5289fe6; since 5eb1851): a Refresh superseded by a ForgetAll whose delete failed returns nil, unstored, and other processes serve the entry of before it until the retry lands")
	ctx := context.Background()
	s := newSimple(t, nil)
	env, next, r1 := newSupersededEnv(t, func(_ *testing.T, h *setHook) backend.Backend {
		return remoteSetHooked{&remote{Backend: s}, h}
	}, "new")
	// Another process sharing the backend, memoizing the same function.
	c2, err := New(&Options{Backend: nopClose{&remote{Backend: s}}, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c2.Close() })
	m2 := Memoize(c2, "set-order", func(context.Context, int) (string, error) { return "computed by the other process", nil },
		TTL(time.Hour), ArgTags(func(int) []string { return []string{"t"} }))
	v, err := m2.Get(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, "old", v, "the other process reads the entry stored")

	done, got := startRefresh(env, next, r1)
	refused := errors.New("remote: connection reset")
	env.h.onDelete(env.m.genKey, func(func() error) error { return refused })
	t.Cleanup(env.h.offDelete)
	require.ErrorIs(t, env.m.ForgetAll(ctx), refused)
	close(r1.release)
	require.NoError(t, <-done)
	require.Equal(t, "new", got.Load())

	v, err = m2.Get(ctx, 1)
	require.NoError(t, err)
	assert.NotEqual(t, "old", v, "R1 returned its new result with no error, and another process is served the entry of before it")
}
