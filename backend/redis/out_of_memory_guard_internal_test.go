package redisstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The Store refuses a value as large as one the server refused with OOM
// for oomGuardFor only, and never a value smaller than oomGuardMin (under
// noeviction a full server refuses small values too, and takes them again
// as soon as keys expire).
func TestOutOfMemoryGuardExpires(t *testing.T) {
	var b Store
	require.False(t, b.oomGuarded(64<<20))
	b.oomRefused(2 << 20)
	require.True(t, b.oomGuarded(2<<20))
	require.True(t, b.oomGuarded(3<<20))
	require.False(t, b.oomGuarded(2<<20-1))
	b.oomUntil.Store(time.Now().Add(-time.Nanosecond).UnixNano())
	require.False(t, b.oomGuarded(3<<20), "still refused after oomGuardFor")

	b.oomRefused(oomGuardMin - 1)
	require.False(t, b.oomGuarded(oomGuardMin-1))
	require.False(t, b.oomGuarded(64<<20))
}
