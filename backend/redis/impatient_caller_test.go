package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: a context deadline that ended a call counted as a connection
// failure of the key's master, whoever set it: three callers in a row with
// a deadline too short for any server (already passed, or a millisecond)
// marked a healthy master down, and its keys were refused to every caller
// for a second. A deadline now counts against the master only when it left
// the call time enough to blame the master (a Cache's Options.Timeout).
func TestClusterImpatientCallersDoNotMarkMasterDown(t *testing.T) {
	t.Parallel()
	_, b, keys := ownClusterStore(t, "impatient")
	for n := 1; n <= 2*masterDownAfter; n++ {
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
		_, err := b.Get(ctx, keys[0])
		cancel()
		require.Error(t, err, "call %d: its deadline had passed", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := b.Get(ctx, keys[0])
	require.NoError(t, err, "a healthy master, after impatient callers")
	assert.Equal(t, "v-"+keys[0], string(v))
	got, err := b.GetMany(ctx, keys)
	require.NoError(t, err)
	assert.Len(t, got, len(keys))
}
