package memcached_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// Behind a proxy whose upstream holding the namespace generation
// (<namespace>:gen) is dead, no key can be read or written once no
// generation read within GenerationGrace is at hand (here: none read yet):
// every call fails, and counts as a failure (no backend.ErrKeyRefused, no
// backend.ErrServerDown, which the caching package's breaker would not
// count), and its error says that the generation is what cannot be read.
func TestGenerationOnADeadUpstreamFailsEveryCallSayingWhy(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	proxy := proxyFailingKey(t, live, "gen", "SERVER_ERROR Connection refused\r\n")
	s := open(t, memcached.Options{Servers: []string{proxy}, Namespace: "mcgen-" + namespace()})
	for i := range 3 {
		_, err := s.Get(bg, "k")
		require.Error(t, err, "Get %d", i)
		require.NotErrorIs(t, err, backend.ErrNotFound)
		require.False(t, backend.Neutral(err), "Get %d: the breaker must count it: %v", i, err)
		require.ErrorContains(t, err, "namespace generation", "Get %d", i)
		_, err = s.GetMany(bg, []string{"a", "b"})
		require.False(t, backend.Neutral(err), "GetMany %d: %v", i, err)
		require.ErrorContains(t, err, "namespace generation", "GetMany %d", i)
		require.ErrorContains(t, s.Set(bg, "k", []byte("v"), 0), "namespace generation", "Set %d", i)
	}
}
