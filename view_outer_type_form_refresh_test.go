package caching

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestRefreshOfOtherTypeFormNotStarted: a hit that starts a refresh
// (stale-while-revalidate, RefreshAhead) from a request whose writer has
// the outer type, of an entry a request without it stored, ran the
// handler twice (the refresh, then its own run) and the refresh stored the
// other form: the requests of the entry's own form then ran the handler
// too. It runs the handler once, for an entry of its own (the type form
// is keyed), and the entry stays.
func TestRefreshOfOtherTypeFormNotStarted(t *testing.T) {
	for _, mode := range []struct {
		name  string
		extra string        // the handler's Cache-Control
		wait  time.Duration // until a hit starts a refresh
		opts  []ViewOption
	}{
		{"stale-while-revalidate", "", 15 * time.Second, []ViewOption{StaleWhileRevalidate(time.Minute)}},
		{"RefreshAhead", "", 7 * time.Second, []ViewOption{RefreshAhead(5 * time.Second)}},
		{"SharedCache stale-while-revalidate", "max-age=10, stale-while-revalidate=60", 15 * time.Second, []ViewOption{SharedCache(), StaleWhileRevalidate(time.Minute)}},
		{"SharedCache RefreshAhead", "max-age=10", 7 * time.Second, []ViewOption{SharedCache(), RefreshAhead(5 * time.Second)}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				var runs atomic.Int32
				page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					runs.Add(1)
					if mode.extra != "" {
						w.Header().Set("Cache-Control", mode.extra)
					}
					http.ServeContent(w, r, "paste", time.Time{}, strings.NewReader(pasteBody))
				})
				opts := append([]ViewOption{CacheStatusHeader("X-Cache"), QueryString(QueryKeyOptions{Ignore: []string{"preview"}})}, mode.opts...)
				h := pasteOuter(false, c.Cached(10*time.Second, opts...)(page))
				html, plain := "text/html; charset=utf-8", "text/plain; charset=utf-8"

				assert.Equal(t, html, get(h, "/paste?id=1&preview=1").Header().Get("Content-Type"))
				time.Sleep(mode.wait)
				w := get(h, "/paste?id=1")
				assert.Equal(t, plain, w.Header().Get("Content-Type"))
				assert.Equal(t, "MISS", w.Header().Get("X-Cache"), "an entry of its own")
				synctest.Wait()
				assert.Equal(t, int32(2), runs.Load(), "the paste's own run, no refresh")
				w = get(h, "/paste?id=1")
				assert.Equal(t, plain, w.Header().Get("Content-Type"))
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the paste's own entry")
				w = get(h, "/paste?id=1&preview=1")
				assert.Equal(t, html, w.Header().Get("Content-Type"))
				assert.NotEqual(t, "BYPASS", w.Header().Get("X-Cache"), "the preview's entry is still there")
			})
		})
	}
}
