package caching

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/testutil"
)

// TestAgeCountsSuspend: an in-process store keeps a response's StoredAt
// with its monotonic reading, and its Age counted on that clock alone,
// which stops while the machine is suspended: after a suspend of an hour a
// hit said Age 1 (a downstream cache took it for an hour younger than it
// was), and a request with max-age=60 was answered with it. The Age is
// now the larger of the monotonic and the wall clock's progress: the hit's
// Age header, a Range hit's, Peek's Age, and a request's max-age count the
// suspend.
func TestAgeCountsSuspend(t *testing.T) {
	clock := testutil.NewMonotonicClock()
	s := simple.Must(simple.Options{SweepInterval: -1})
	c := Must(&Options{Backend: s, Clock: clock.Now})
	t.Cleanup(func() { _ = c.Close() })
	h := &counter{body: "hello", fn: func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "max-age=86400")
	}}
	for name, opts := range map[string][]ViewOption{
		"private": {CacheStatusHeader("X-Cache"), HonorRequestCacheControl()},
		"shared":  {CacheStatusHeader("X-Cache"), HonorRequestCacheControl(), SharedCache()},
	} {
		t.Run(name, func(t *testing.T) {
			ch := c.Cached(24*time.Hour, opts...)(h)
			target := "/" + name
			get(ch, target)
			clock.Advance(time.Second)
			clock.Suspend(t, time.Hour)

			w := get(ch, target)
			require.Equal(t, "HIT", w.Header().Get("X-Cache"))
			assert.Equal(t, "3601", w.Header().Get("Age"), "a hit's Age left the suspend out")
			if name == "shared" { // a private view answers a Range with the whole response
				w = get(ch, target, "Range", "bytes=0-1")
				require.Equal(t, http.StatusPartialContent, w.Code)
				assert.Equal(t, "3601", w.Header().Get("Age"), "a Range hit's Age left the suspend out")
			}
			resp, _, err := c.Peek(httptest.NewRequest(http.MethodGet, target, nil), opts...)
			require.NoError(t, err)
			require.NotNil(t, resp)
			assert.Equal(t, time.Hour+time.Second, resp.Age, "Peek's Age left the suspend out")

			w = get(ch, target, "Cache-Control", "max-age=60")
			assert.NotEqual(t, "HIT", w.Header().Get("X-Cache"), "a request with max-age=60 was answered with a response an hour old")
		})
	}
}
