package caching

import (
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/backend/simple"
)

// TestFloodHeapBounded: under floods of distinct query strings, paths and
// header variants the process held 4.4x MaxBytes (per-entry bookkeeping,
// values and versions were not counted). The live heap must stay within
// 1.5x MaxBytes plus a fixed overhead (floodSlack: the store's tables, the
// views, the test's own garbage).
func TestFloodHeapBounded(t *testing.T) {
	const maxBytes = 8 << 20
	const floodSlack = 4 << 20
	n := 40_000
	if testing.Short() {
		n = 10_000
	}
	body := make([]byte, 300)
	floods := map[string]func(i int) *http.Request{
		"queries": func(i int) *http.Request {
			return httptestRequest(fmt.Sprintf("/products?page=%d", i))
		},
		"paths": func(i int) *http.Request {
			return httptestRequest(fmt.Sprintf("/products/%d", i))
		},
		"variants": func(i int) *http.Request {
			r := httptestRequest(fmt.Sprintf("/p/%d", i/8))
			r.Header.Set("User-Agent", fmt.Sprint("bot/", i))
			return r
		},
	}
	for name, req := range floods {
		t.Run(name, func(t *testing.T) {
			s := simple.Must(simple.Options{MaxBytes: maxBytes, SweepInterval: -1})
			c := Must(&Options{Backend: s})
			defer c.Close()
			ch := c.Cached(time.Hour)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Vary", "User-Agent")
				_, _ = w.Write(body)
			}))
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for i := range n {
				ch.ServeHTTP(discard{h: http.Header{}}, req(i))
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			t.Logf("%d requests: live heap grew %.1f MiB (%.2fx MaxBytes); the store counts %.1f MiB in %d entries",
				n, float64(grown)/(1<<20), float64(grown)/maxBytes, float64(s.Stats().Bytes)/(1<<20), s.Stats().Entries)
			assert.LessOrEqual(t, s.Stats().Bytes, int64(maxBytes))
			assert.Less(t, grown, int64(maxBytes)*3/2+floodSlack)
			runtime.KeepAlive(c)
		})
	}
}

func httptestRequest(target string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://example.com"+target, nil)
	r.RemoteAddr = "192.0.2.1:1234"
	return r
}

// discard is a ResponseWriter that keeps nothing.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(p []byte) (int, error) { return len(p), nil }
func (d discard) WriteHeader(int)             {}
