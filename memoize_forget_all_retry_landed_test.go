package caching

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeSetAfterForgetAllRetryLanded: a ForgetAll made after a Set's
// supersede, before the Set reads its tag versions, fails its delete of the
// generation; the retry deletes it before the Set reads them. The Set then
// read a generation made after the ForgetAll's delete landed, and stored r
// under it: served, in every process, as if no ForgetAll had come after the
// Set, whereas had the ForgetAll's own delete landed the Set would have
// stored nothing (mayReplace). A delete of the generation that a retry
// landed is one that landed.
func TestMemoizeSetAfterForgetAllRetryLanded(t *testing.T) {
	ctx := context.Background()
	env, _, _, m2 := newFailedForgetAllEnv(t)
	release := env.holdTags()
	t.Cleanup(release)
	done := make(chan error, 1)
	go func() { done <- env.m.Set(ctx, 1, "set") }()
	<-env.inTags // past Set's supersede, before its versions read

	refused := errors.New("remote: connection reset")
	env.h.onDelete(env.m.genKey, func(func() error) error { return refused })
	require.ErrorIs(t, env.m.ForgetAll(ctx), refused)
	env.h.offDelete()
	require.Eventually(t, func() bool { return env.m.c.Stats().PendingInvalidations == 0 },
		10*time.Second, time.Millisecond, "the retry of the generation's delete did not land")

	release()
	require.NoError(t, <-done)
	v, err := m2.Get(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, "computed by the other process", v, "the ForgetAll after the Set landed (retried): the Set's result is served")
	v, err = env.m.Get(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, "computed by the other process", v, "this process is served the Set's result")
}
