package caching

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestForeverVariantsFloodHealsOnRedis: on the real Redis, a flood of
// made-up Accept-Language values under Forever left the page's Vary record
// full for 28 days (its keys' TTL), and a language no one had asked for
// before was never stored. The flood's keys stay bounded (MaxVariants
// variants and the record) and end within maxVariantLife; once they have,
// by the view's clock, new languages are stored again.
func TestForeverVariantsFloodHealsOnRedis(t *testing.T) {
	ctx := context.Background()
	prefix := "caching-test-vary:" + time.Now().Format("150405.000000") + ":"
	b, err := redisstore.New(redisstore.Options{URL: testutil.SlowRedisURL(t, 0), Prefix: prefix})
	require.NoError(t, err)
	clock := testutil.NewClock()
	c := Must(&Options{Backend: b, Clock: clock.Now})
	t.Cleanup(func() {
		_ = c.Clear(ctx)
		if keys, _ := b.Client().Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
			b.Client().Del(ctx, keys...)
		}
		_ = c.Close()
	})
	ch := c.Cached(Forever, CacheStatusHeader("X-Cache"), MaxVariants(4))(&counter{body: "page",
		fn: func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Vary", "Accept-Language") }})
	status := func(lang string) string { return get(ch, "/page", "Accept-Language", lang).Header().Get("X-Cache") }

	floodVariants(ch, "/page", 100)
	keys, err := b.Client().Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	assert.LessOrEqual(t, len(keys), 4+2, "MaxVariants variants, the record and the path's version")
	for _, k := range keys {
		if !strings.Contains(k, "#view/") {
			continue // the path's version key: one per path, bounded by maxPathLife
		}
		ttl, err := b.Client().PTTL(ctx, k).Result()
		require.NoError(t, err)
		assert.True(t, ttl > 0 && ttl <= maxVariantLife, "%s: TTL %v", k[len(prefix):], ttl)
	}
	status("fr")
	assert.Equal(t, "MISS", status("fr"), "the record is full: a new language is not stored")

	clock.Advance(maxVariantLife + time.Second)
	status("fr")
	assert.Equal(t, "HIT", status("fr"), "the flood's variants have ended: a new language is stored again")
}
