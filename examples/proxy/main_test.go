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
		return string(b), res.Header.Get(statusHeader)
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

// TestTagPrefixRefused: -tag prefixes went to ServeMux.Handle unchecked, and
// some made the proxy panic at start instead of saying what was wrong: a
// space (read as a method), '{' or '}' (read as a wildcard, or a bad one),
// the same prefix twice ("/api" and "/api/" are one). Each is now refused
// with an error naming it.
func TestTagPrefixRefused(t *testing.T) {
	for _, tc := range []struct{ tag, says string }{
		{"/a b=x", `"/a b"`},
		{"/a\tb=x", `"/a\tb"`},
		{"/{x=y", `"/{x"`},
		{"/{id}/=y", `"/{id}/"`},
		{"/x}=y", `"/x}"`},
		{"/a%20b=x", `"/a%20b"`},
		{"/a?b=x", `"/a?b"`},
		{"//a=x", `"//a"`},
		{"/a/../b/=x", `"/a/../b/"`},
		{"/api=a,/api/=b", `"/api/" is tagged twice`},
		{"/api/=a,/api=b", `"/api" is tagged twice`},
		{"/=a,/=b", `"/" is tagged twice`},
	} {
		t.Run(tc.tag, func(t *testing.T) {
			_, err := parseFlags([]string{"-origin", "http://127.0.0.1:1", "-tag", tc.tag}, func(string) string { return "" })
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.says)
		})
	}
}

// TestTagRoot: the prefix "/" tags the responses that no longer prefix
// tags (it made newProxy panic: "/" is the untagged route's pattern).
func TestTagRoot(t *testing.T) {
	var calls atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "%s #%d", r.URL.Path, calls.Add(1))
	}))
	defer origin.Close()
	cfg, err := parseFlags([]string{"-origin", origin.URL, "-tag", "/=all,/api=api"}, func(string) string { return "" })
	require.NoError(t, err)
	c := caching.Must(nil)
	defer c.Close()
	var proxy, admin http.Handler
	require.NotPanics(t, func() { proxy, admin, err = newProxy(cfg, c, slog.New(slog.DiscardHandler)) })
	require.NoError(t, err)
	get := func(path string) string {
		w := httptest.NewRecorder()
		proxy.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w.Body.String()
	}

	assert.Equal(t, "/page #1", get("/page"))
	assert.Equal(t, "/api/a #2", get("/api/a"))
	assert.Equal(t, "/page #1", get("/page"))
	w := httptest.NewRecorder()
	admin.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/invalidate?tag=all", nil))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "/page #3", get("/page"), "the tag of / drops the untagged routes")
	assert.Equal(t, "/api/a #2", get("/api/a"), "not those of a longer prefix")
}

// TestNegativeFlagsRefused: a negative -ttl, -max-body or -max-stale-* made
// newProxy panic (the options of caching.Cached); parseFlags now refuses it.
func TestNegativeFlagsRefused(t *testing.T) {
	for _, flag := range []string{"-ttl", "-max-stale-while-revalidate", "-max-stale-if-error", "-max-body"} {
		t.Run(flag, func(t *testing.T) {
			value := "-1s"
			if flag == "-max-body" {
				value = "-1"
			}
			_, err := parseFlags([]string{"-origin", "http://127.0.0.1:1", flag, value}, func(string) string { return "" })
			require.Error(t, err)
			assert.Contains(t, err.Error(), flag)
		})
	}
}

// TestZeroFlagsRefused: -max-body 0 stored bodies up to the library's 1 MiB
// default, and -ttl 0 kept responses for the Cache's DefaultTTL (5 minutes), not
// what the flags say; both are refused now.
func TestZeroFlagsRefused(t *testing.T) {
	for _, flag := range []string{"-ttl", "-max-body"} {
		t.Run(flag, func(t *testing.T) {
			_, err := parseFlags([]string{"-origin", "http://127.0.0.1:1", flag, "0"}, func(string) string { return "" })
			require.Error(t, err)
			assert.Contains(t, err.Error(), flag+" 0: must be positive")
		})
	}
}
