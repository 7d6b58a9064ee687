package caching

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// rabgFailingVaryHandler answers with Vary: field and a body naming the
// field's value and the run; once fail is set it answers 500. With shared,
// the response says its lifetime (10s), stale-while-revalidate (60s) and,
// with sie, stale-if-error (60s).
func rabgFailingVaryHandler(field string, runs *atomic.Int64, fail *atomic.Bool, shared, sie bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := runs.Add(1)
		if fail.Load() {
			http.Error(w, "origin down", http.StatusInternalServerError)
			return
		}
		if shared {
			cc := "max-age=10, stale-while-revalidate=60"
			if sie {
				cc += ", stale-if-error=60"
			}
			w.Header().Set("Cache-Control", cc)
		}
		w.Header().Set("Vary", field)
		fmt.Fprintf(w, "%q #%d", r.Header.Get(abgSent(field)), n)
	})
}

// TestRABGDroppedVaryStaleIfError: a stale variant of a field a refresh
// drops runs as a miss (refreshable); when that run fails, StaleIfError
// (the option, or the response's stale-if-error in a SharedCache view)
// serves the stale entry, in both modes and for each dropped field.
func TestRABGDroppedVaryStaleIfError(t *testing.T) {
	rabgEachDroppedField(t, func(t *testing.T, f [2]string, shared bool) {
		rabgOriginDown(t, f, shared, true)
	})
}

// TestRABGDroppedVarySWROriginDown: within StaleWhileRevalidate, without
// StaleIfError, a stale entry is served whatever the origin answers (the
// refresh runs behind it). A variant of a field a refresh drops runs as a
// miss instead (refreshable): when that run fails, the entry
// StaleWhileRevalidate would have served is served, not the origin's error.
func TestRABGDroppedVarySWROriginDown(t *testing.T) {
	rabgEachDroppedField(t, func(t *testing.T, f [2]string, shared bool) {
		rabgOriginDown(t, f, shared, false)
	})
}

// rabgEachDroppedField runs test in synctest for each of
// abgDroppedVaryFields, in the default mode and in a SharedCache view.
func rabgEachDroppedField(t *testing.T, test func(t *testing.T, f [2]string, shared bool)) {
	for _, shared := range []bool{false, true} {
		for _, f := range abgDroppedVaryFields {
			t.Run(fmt.Sprintf("%s/shared=%v", f[0], shared), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) { test(t, f, shared) })
			})
		}
	}
}

// rabgView is a view of c with StaleWhileRevalidate (and, with sie,
// StaleIfError) of a minute, in a SharedCache view with shared, over
// rabgFailingVaryHandler for the field f.
func rabgView(c *Cache, f string, runs *atomic.Int64, fail *atomic.Bool, shared, sie bool) http.Handler {
	opts := []ViewOption{StaleWhileRevalidate(time.Minute), CacheStatusHeader("X-Cache")}
	if sie {
		opts = append(opts, StaleIfError(time.Minute))
	}
	if shared {
		opts = append(opts, SharedCache())
	}
	return c.Cached(10*time.Second, opts...)(rabgFailingVaryHandler(f, runs, fail, shared, sie))
}

// rabgOriginDown stores the variant of a client that sends f, lets it go
// stale (within both windows), fails the origin and asks again: the stale
// entry answers.
func rabgOriginDown(t *testing.T, f [2]string, shared, sie bool) {
	c := Must(nil)
	defer c.Close()
	var runs atomic.Int64
	var fail atomic.Bool
	h := rabgView(c, f[0], &runs, &fail, shared, sie)
	first := get(h, "/page", abgSent(f[0]), f[1]).Body.String()
	time.Sleep(15 * time.Second)
	fail.Store(true)
	w := get(h, "/page", abgSent(f[0]), f[1])
	synctest.Wait()
	assert.Equal(t, http.StatusOK, w.Code, "the stale entry, not the origin's error")
	assert.Equal(t, first, w.Body.String())
}

// TestRABGDroppedVaryOnlySenderAffected: a client that sends a dropped
// field the Vary names changes nothing for the clients that do not: their
// stale hits are still served stale with one background refresh.
func TestRABGDroppedVaryOnlySenderAffected(t *testing.T) {
	rabgEachDroppedField(t, func(t *testing.T, f [2]string, shared bool) {
		c := Must(nil)
		defer c.Close()
		var runs atomic.Int64
		var fail atomic.Bool
		h := rabgView(c, f[0], &runs, &fail, shared, false)
		get(h, "/page")
		get(h, "/page", abgSent(f[0]), f[1])
		time.Sleep(15 * time.Second)
		for range 3 {
			get(h, "/page", abgSent(f[0]), f[1]) // the sender's own run
			synctest.Wait()
		}
		before := runs.Load()
		w := get(h, "/page")
		synctest.Wait()
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"), "others are served stale")
		assert.Equal(t, `"" #1`, w.Body.String())
		assert.Equal(t, before+1, runs.Load(), "one background refresh")
		assert.Equal(t, "HIT", get(h, "/page").Header().Get("X-Cache"))
	})
}
