package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
)

func TestProxy(t *testing.T) {
	var calls atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "%s #%d", r.URL.Path, calls.Add(1))
	}))
	defer origin.Close()
	cfg, err := parseFlags([]string{"-origin", origin.URL, "-tag", "/api/=api"}, func(string) string { return "" })
	require.NoError(t, err)
	assert.Equal(t, "simple://", cfg.cacheURL)
	c := caching.Must(nil)
	defer c.Close()
	proxy, admin, err := newProxy(cfg, c, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	front := httptest.NewServer(proxy)
	defer front.Close()
	get := func(path string) (string, string) {
		res, err := http.Get(front.URL + path)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b), res.Header.Get("X-Cache")
	}
	invalidate := func(query string) {
		w := httptest.NewRecorder()
		admin.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/invalidate?"+query, nil))
		require.Equal(t, 200, w.Code, w.Body.String())
	}

	b, _ := get("/page")
	assert.Equal(t, "/page #1", b)
	b, st := get("/page")
	assert.Equal(t, "/page #1", b)
	assert.Equal(t, "HIT", st)
	invalidate("path=/page")
	b, _ = get("/page")
	assert.Equal(t, "/page #2", b, "the invalidation API drops the path")

	get("/api/a")
	get("/api/b")
	invalidate("tag=api")
	b, _ = get("/api/a")
	assert.Equal(t, "/api/a #5", b, "and a tag")
	b, _ = get("/api/b")
	assert.Equal(t, "/api/b #6", b)

	res, err := http.Post(front.URL+"/page", "text/plain", strings.NewReader("x"))
	require.NoError(t, err)
	res.Body.Close()
	b, _ = get("/page")
	assert.Equal(t, "/page #7", b, "a write through the proxy invalidates its path")

	w := httptest.NewRecorder()
	admin.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/invalidate", nil))
	assert.Equal(t, http.StatusBadRequest, w.Code)
}

func TestParseFlags(t *testing.T) {
	env := func(k string) string { return map[string]string{"CACHE_URL": "null://"}[k] }
	cfg, err := parseFlags([]string{"-origin", "http://o"}, env)
	require.NoError(t, err)
	assert.Equal(t, "null://", cfg.cacheURL, "CACHE_URL")
	for _, args := range [][]string{{}, {"-origin", "http://o", "-tag", "api"}, {"-origin", "http://o", "-tag", "api=x"}} {
		_, err := parseFlags(args, env)
		assert.Error(t, err, "%v", args)
	}
	c := caching.Must(nil)
	defer c.Close()
	_, _, err = newProxy(config{origin: "not a url"}, c, slog.New(slog.DiscardHandler))
	assert.Error(t, err)
}
