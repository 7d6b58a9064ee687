package memcached_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// TestHugeGenerationGrace: GenerationGrace accepts any positive duration
// (cacheurl's generation_grace too, e.g. 2562047h, the largest), and a
// user asking for "as long as possible" gets math.MaxInt64. gracePrefix compares
// with GenerationTTL+GenerationGrace, which overflowed to a negative
// duration: the grace was then none at all, and with the generation's
// server down every call failed, as before c290d28.
func TestHugeGenerationGrace(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	ns := namespaceOn(1)
	fake := newFakeServer(t, live, ns)
	s := open(t, memcached.Options{Servers: []string{live, fake.addr}, Namespace: ns,
		GenerationTTL: 10 * time.Millisecond, GenerationGrace: math.MaxInt64})
	require.NoError(t, s.Set(bg, "first", []byte("v"), 0))
	k := keysOn(t, live, ns, 0, 1)[0]
	fake.down()
	time.Sleep(20 * time.Millisecond) // past GenerationTTL
	require.NoError(t, s.Set(bg, k, []byte("v"), 0), "a key on the live server, well within a grace of MaxInt64")
}
