package memcached_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/boottime"
)

// TestGenerationTrustCountsSuspend: a process trusted the generation it
// read for GenerationTTL on the monotonic clock, which stops while the
// machine is suspended: after hours asleep, it went on serving the entries
// of the generation another process's Clear had ended meanwhile, for a
// whole GenerationTTL (and GenerationGrace) of awake time more. The
// suspend now counts: the first call after it reads the generation again.
// (Not parallel: StepWallForTest moves every reading of the wall clock
// that boottime makes.)
func TestGenerationTrustCountsSuspend(t *testing.T) {
	a, b, _, _ := stalePair(t) // a trusts a generation for an hour
	require.NoError(t, a.Set(bg, "k", []byte("before"), 0))
	require.NoError(t, b.Clear(bg))
	v, err := a.Get(bg, "k")
	require.NoError(t, err, "within its GenerationTTL, a trusts the generation it read")
	require.Equal(t, "before", string(v))

	defer boottime.StepWallForTest(2 * time.Hour)()
	_, err = a.Get(bg, "k")
	assert.ErrorIs(t, err, backend.ErrNotFound, "two hours after its read, across a suspend, a served the generation before b's Clear")
}
