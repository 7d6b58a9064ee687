package caching

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/pool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWarmIsNotALocalCaller: Warm's requests came from 127.0.0.1, so a
// cached page that shows more to local callers (here through
// pool.LoopbackOnly) was warmed with what only they may see, and served to
// every remote client. They come from a TEST-NET-1 address now.
func TestWarmIsNotALocalCaller(t *testing.T) {
	c, _ := memCache(t, simple.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		if pool.LoopbackOnly(r) {
			fmt.Fprint(w, "status ok; debug: db=postgres://admin:s3cret@db/prod")
			return
		}
		fmt.Fprint(w, "status ok")
	})
	h := c.CachedMux(mux, time.Minute, CacheStatusHeader("X-Cache"))
	rep := c.Warm(t.Context(), h, WarmTarget{URL: "https://shop.example/status"})
	require.Equal(t, 1, rep.Stored, "%+v", rep.Results)

	w := get(h, "https://shop.example/status")
	assert.Equal(t, "status ok", w.Body.String())
	assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
}

type warmUserKey struct{}

// TestWarmDropsCallerContextValues: Warm's requests carried the values of
// the caller's context, so Warm called from an admin's request rendered the
// pages as that admin and stored them for everyone. They carry its
// cancellation and deadline, not its values.
func TestWarmDropsCallerContextValues(t *testing.T) {
	c, _ := memCache(t, simple.Options{})
	mux := http.NewServeMux()
	var deadline bool
	mux.HandleFunc("GET /home", func(w http.ResponseWriter, r *http.Request) {
		_, deadline = r.Context().Deadline()
		if u, ok := r.Context().Value(warmUserKey{}).(string); ok {
			fmt.Fprintf(w, "hello %s [admin menu]", u)
			return
		}
		fmt.Fprint(w, "hello guest")
	})
	h := c.CachedMux(mux, time.Minute)
	adminCtx, cancel := context.WithTimeout(context.WithValue(t.Context(), warmUserKey{}, "alice"), time.Hour)
	defer cancel()
	rep := c.Warm(adminCtx, h, WarmTarget{URL: "https://shop.example/home"})
	require.Equal(t, 1, rep.Stored, "%+v", rep.Results)
	assert.True(t, deadline, "the caller's deadline reaches the handler")
	w := get(h, "https://shop.example/home")
	assert.Equal(t, "hello guest", w.Body.String())

	ended, end := context.WithCancel(context.WithValue(t.Context(), warmUserKey{}, "alice"))
	end()
	rep = c.Warm(ended, h, WarmTarget{URL: "https://shop.example/home"})
	require.Equal(t, 1, rep.Failed, "a caller's context that ended ends the targets")
	assert.ErrorIs(t, rep.Results[0].Err, context.Canceled)
}
