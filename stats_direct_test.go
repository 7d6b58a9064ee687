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
