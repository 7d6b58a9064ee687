package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStatsSetsCountsEveryWrite: Stats.Sets counts the entries the Cache
// writes, a view's stored response and a memoized result as well as the
// writes of the direct API, as its doc says.
func TestStatsSetsCountsEveryWrite(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		c, _ := k.open(t, nil, nil, Options{})
		ctx := context.Background()
		h := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("page"))
		}))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/p", nil))
		assert.EqualValues(t, 1, c.Stats().Sets, "a view's stored response")
		m := Memoize(c, "sq", func(_ context.Context, x int) (int, error) { return x * x, nil })
		_, err := m.Get(ctx, 3)
		require.NoError(t, err)
		assert.EqualValues(t, 2, c.Stats().Sets, "a memoized result")
		require.NoError(t, c.Set(ctx, "k", []byte("v"), time.Minute))
		assert.EqualValues(t, 3, c.Stats().Sets, "a Set")
	})
}

// TestStatsDirectReadWithBackendErrorIsBypass: each read of the direct API
// counts once, a read whose backend lookup fails as a bypass (Stats'
// doc), whether it is Get, Has, GetAs, GetMany or GetOrSet.
func TestStatsDirectReadWithBackendErrorIsBypass(t *testing.T) {
	r := &remote{Backend: newSimple(t, nil)}
	c, err := New(&Options{Backend: nopClose{r}})
	require.NoError(t, err)
	defer c.Close()
	r.fail.Store(true)
	ctx := context.Background()
	_, err = c.Get(ctx, "k")
	require.Error(t, err)
	_, err = c.Has(ctx, "k")
	require.Error(t, err)
	_, err = GetAs[int](ctx, c, "k")
	require.Error(t, err)
	_, err = c.GetMany(ctx, "a", "b")
	require.Error(t, err)
	_, err = GetOrSet(ctx, c, "k", time.Minute, func(context.Context) (int, error) { return 1, nil })
	require.Error(t, err)
	s := c.Stats()
	assert.EqualValues(t, 6, s.Bypasses, "each read counted as a bypass: %+v", s)
	assert.Zero(t, s.Hits+s.StaleHits+s.Misses, "%+v", s)
}
