package near_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/near"
)

// TestNearGetManyReadsOnlyWhatMemoryLacks: Cache.GetMany looks each key up
// in memory first, as Cache.Get does: keys all held near read nothing
// remote, and otherwise only the keys memory lacks are read, in one round
// trip. The answer, and what Stats counts, are those of a read without a
// near cache.
func TestNearGetManyReadsOnlyWhatMemoryLacks(t *testing.T) {
	ctx := context.Background()
	p := newProcess(t, newBus(t), near.Options{MaxStale: time.Hour}, caching.Options{})
	require.NoError(t, p.c.Set(ctx, "a", []byte("A"), time.Minute, caching.Tags("t")))
	require.NoError(t, p.c.Set(ctx, "b", []byte("B"), time.Minute))
	require.NoError(t, p.c.Set(ctx, "c", []byte("C"), time.Minute, caching.Tags("t")))
	for _, k := range []string{"a", "b"} { // kept near
		_, err := p.c.Get(ctx, k)
		require.NoError(t, err)
	}
	reads := p.view.readCount()
	m, err := p.c.GetMany(ctx, "a", "b")
	require.NoError(t, err)
	assert.Equal(t, map[string][]byte{"a": []byte("A"), "b": []byte("B")}, m)
	assert.Equal(t, reads, p.view.readCount(), "GetMany of keys all held near read the remote store")

	var (
		mu     sync.Mutex
		remote [][]string
	)
	p.view.onRead = func(keys []string) {
		mu.Lock()
		remote = append(remote, keys)
		mu.Unlock()
	}
	before := p.c.Stats()
	m, err = p.c.GetMany(ctx, "a", "missing", "c", "b")
	require.NoError(t, err)
	assert.Equal(t, map[string][]byte{"a": []byte("A"), "b": []byte("B"), "c": []byte("C")}, m)
	after := p.c.Stats()
	assert.Equal(t, before.Hits+3, after.Hits)
	assert.Equal(t, before.Misses+1, after.Misses)
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, remote)
	assert.ElementsMatch(t, []string{"missing", "c"}, userKeys(remote[0]), "the keys read remote, in one round trip")
}

// userKeys strips the Cache's prefix from the backend keys of direct-API
// keys: what follows their last slash.
func userKeys(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k[strings.LastIndexByte(k, '/')+1:]
	}
	return out
}

// TestNearGetManyNeverKeepsAValueInvalidatedDuringItsRead: as for Get, a
// value GetMany reads remote while another process changes it, and whose
// news arrives before the read returns, is not kept near.
func TestNearGetManyNeverKeepsAValueInvalidatedDuringItsRead(t *testing.T) {
	ctx := context.Background()
	b := newBus(t)
	a := newProcess(t, b, near.Options{}, caching.Options{})
	reader := newProcess(t, b, near.Options{MaxStale: time.Hour}, caching.Options{})
	require.NoError(t, a.c.Set(ctx, "held", []byte("H"), time.Minute))
	require.NoError(t, a.c.Set(ctx, "k", []byte("V1"), time.Minute, caching.Tags("t")))
	_, err := reader.c.Get(ctx, "held") // kept near: GetMany reads only k
	require.NoError(t, err)

	var once sync.Once
	reader.view.onRead = func([]string) {
		once.Do(func() { require.NoError(t, a.c.Set(ctx, "k", []byte("V2"), time.Minute, caching.Tags("t"))) })
	}
	m, err := reader.c.GetMany(ctx, "held", "k")
	require.NoError(t, err)
	require.Equal(t, "V1", string(m["k"]), "the read returns what it read before the write")
	m, err = reader.c.GetMany(ctx, "held", "k")
	require.NoError(t, err)
	assert.Equal(t, "V2", string(m["k"]), "the value read before the write was kept and served after the news of it")
}
