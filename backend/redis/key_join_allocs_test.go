package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// Regression: an Add that found its key taken (SET NX not done: a lease
// another caller holds, the common outcome of contended Adds) made the key
// as sent, the prefix and the key, twice: once for SET NX and again for
// the TYPE that tells an entry from a key of another type. Each call makes
// it once: a call on a key 8 KiB longer allocates 8 KiB more, not 16.
func TestKeyAsSentIsMadeOnce(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	b := realStore(t)
	ctx := context.Background()
	calls := map[string]func(k string) error{
		"get": func(k string) error { _, err := b.Get(ctx, k); return err },
		"set": func(k string) error { return b.Set(ctx, k, []byte("v"), time.Minute) },
		"add taken": func(k string) error {
			if added, err := b.Add(ctx, k, []byte("v"), time.Minute); err != nil || added {
				return fmt.Errorf("add over a live entry: added %v, err %v", added, err)
			}
			return nil
		},
		"incr": func(k string) error { _, err := b.Incr(ctx, k, 1); return err },
		"has":  func(k string) error { _, err := b.Has(ctx, k); return err },
	}
	const longer = 8 << 10
	for op, call := range calls {
		c := "k" // an entry's key; a counter's for incr
		if op == "incr" {
			c = "n"
		}
		short, long := c, strings.Repeat(c, 1+longer)
		for _, k := range []string{short, long} {
			if op != "incr" {
				require.NoError(t, b.Set(ctx, k, []byte("v"), time.Minute))
			}
			require.NoError(t, call(k), op)
		}
		more := testutil.BytesPerRun(50, func() { _ = call(long) }) - testutil.BytesPerRun(50, func() { _ = call(short) })
		assert.InDelta(t, 1, more/longer, 0.5, "%s: copies of the key as sent (%.0f bytes more for a key %d longer)", op, more, longer)
	}
}
