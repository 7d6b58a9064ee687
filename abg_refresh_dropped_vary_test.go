package caching

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// abgDroppedVaryFields are request fields a background refresh runs
// without (clientOnlyFields, Proxy-Authorization) that a response may
// name in its Vary, with a value a client sends.
var abgDroppedVaryFields = [][2]string{
	{"Cache-Control", "no-transform"},
	{"Pragma", "no-cache"},
	{"Content-Type", "application/json"},
	{"Proxy-Authorization", "Basic cHJveHk6cHc="},
	// A Vary name spelled with '_' keys the field's usual spelling too.
	{"Cache_Control", "no-transform"},
}

// abgSent is the field a client sends for the Vary name field: its
// spelling with '-'.
func abgSent(field string) string { return strings.ReplaceAll(field, "_", "-") }

// abgVaryOnHandler answers with Vary: field and a body naming the field's
// value and the run, counting the runs.
// With shared, the response says its own lifetime (10s) and
// stale-while-revalidate window (60s), as a SharedCache view reads them.
func abgVaryOnHandler(field string, runs *atomic.Int64, shared bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if shared {
			w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=60")
		}
		w.Header().Set("Vary", field)
		fmt.Fprintf(w, "%q #%d", r.Header.Get(abgSent(field)), runs.Add(1))
	})
}

// TestABGStaleVariantOfDroppedFieldRefreshesItself: a response whose Vary
// names a field the background refresh leaves out (the client's
// Cache-Control, Pragma, Content-Type, Proxy-Authorization) was refreshed
// with the field gone: the refresh stored the response to a request
// without it, under that request's variant, and the client's variant
// stayed stale, each stale hit running the handler again for a variant
// nobody asked for. Such a request now runs as a miss (its own variant,
// through its own writers), as a request with a Cookie the refresh would
// not reflect does.
func TestABGStaleVariantOfDroppedFieldRefreshesItself(t *testing.T) {
	for _, shared := range []bool{false, true} {
		for _, f := range abgDroppedVaryFields {
			t.Run(fmt.Sprintf("%s/shared=%v", f[0], shared), func(t *testing.T) {
				abgStaleVariantOfDroppedField(t, f, shared)
			})
		}
	}
}

func abgStaleVariantOfDroppedField(t *testing.T, f [2]string, shared bool) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var runs atomic.Int64
		opts := []ViewOption{StaleWhileRevalidate(time.Minute), CacheStatusHeader("X-Cache")}
		if shared {
			opts = append(opts, SharedCache())
		}
		h := c.Cached(10*time.Second, opts...)(abgVaryOnHandler(f[0], &runs, shared))
		want := fmt.Sprintf("%q", f[1])
		assert.Equal(t, want+" #1", get(h, "/page", abgSent(f[0]), f[1]).Body.String())
		time.Sleep(15 * time.Second)
		for range 3 {
			get(h, "/page", abgSent(f[0]), f[1])
			synctest.Wait()
		}
		w := get(h, "/page", abgSent(f[0]), f[1])
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the client's variant is fresh again")
		assert.Contains(t, w.Body.String(), want, "the client's variant holds its own response")
		assert.LessOrEqual(t, runs.Load(), int64(2), "one run brought the variant up to date, not one per stale hit")
	})
}

// TestABGAheadOfDroppedFieldStartsNoStorm: the same within RefreshAhead:
// every hit of the variant within the window started a refresh that
// stored the field-less variant and left the client's as it was, so the
// next hit started one more, a handler run per hit.
func TestABGAheadOfDroppedFieldStartsNoStorm(t *testing.T) {
	for _, f := range abgDroppedVaryFields {
		t.Run(f[0], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				var runs atomic.Int64
				h := c.Cached(time.Minute, RefreshAhead(20*time.Second))(abgVaryOnHandler(f[0], &runs, false))
				get(h, "/page", abgSent(f[0]), f[1])
				time.Sleep(45 * time.Second) // within the last 20s
				for range 5 {
					get(h, "/page", abgSent(f[0]), f[1])
					synctest.Wait()
				}
				assert.LessOrEqual(t, runs.Load(), int64(2), "at most one refresh for the five hits")
				assert.Contains(t, get(h, "/page", abgSent(f[0]), f[1]).Body.String(), fmt.Sprintf("%q", f[1]))
			})
		})
	}
}
