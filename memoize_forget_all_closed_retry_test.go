package caching

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeForgetAllRefusedClosedIsRetried: a ForgetAll whose delete of
// the generation failed with backend.ErrClosed while the Cache is open (a
// wrapper's, or the backend closed by its user and opened again behind
// it) was never retried (retryInvalidation dropped it): the generation was
// never deleted while the Cache lived, and another process sharing the
// backend was served the entries of before it until their TTL, though the
// backend answered again. It is retried as any failed delete (the
// breaker and the retry set's bounds apply); past the Cache's Close it is
// dropped, as before.
func TestMemoizeForgetAllRefusedClosedIsRetried(t *testing.T) {
	ctx := context.Background()
	env, _, _, m2 := newFailedForgetAllEnv(t)
	forgetAllRetryLandsAfter(t, env, closedDeleteRefusals[1])
	v, err := m2.Get(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, "computed by the other process", v, "the ForgetAll's delete was never made: the entry of before it is served")
}
