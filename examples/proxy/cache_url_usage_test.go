package main

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUsageHidesCacheURL: -cache-url took $CACHE_URL as its flag default,
// and the flag package prints every default with the usage, on -h and on
// any flag error (a typo in a deployment's arguments): the backend's
// password in the URL went to stderr, and so to the logs. The usage
// names $CACHE_URL only; the value is read once the flags are parsed.
func TestUsageHidesCacheURL(t *testing.T) {
	const password = "hunter2-backend-password"
	getenv := func(k string) string {
		return map[string]string{"CACHE_URL": "redis://:" + password + "@127.0.0.1:6379/0"}[k]
	}
	for _, args := range [][]string{{"-h"}, {"-no-such-flag"}, {"-ttl", "x"}} {
		out := stderrOf(t, func() {
			_, err := parseFlags(append([]string{"-origin", "http://o"}, args...), getenv)
			require.Error(t, err)
		})
		assert.Contains(t, out, "-cache-url", "%v: the usage was printed", args)
		assert.NotContains(t, out, password, "%v: $CACHE_URL printed", args)
	}
	cfg, err := parseFlags([]string{"-origin", "http://o"}, getenv)
	require.NoError(t, err)
	assert.Equal(t, getenv("CACHE_URL"), cfg.cacheURL, "$CACHE_URL is still the default")
	cfg, err = parseFlags([]string{"-origin", "http://o", "-cache-url", "simple://"}, getenv)
	require.NoError(t, err)
	assert.Equal(t, "simple://", cfg.cacheURL, "the flag still wins")
	cfg, err = parseFlags([]string{"-origin", "http://o"}, func(string) string { return "" })
	require.NoError(t, err)
	assert.Equal(t, "simple://", cfg.cacheURL)
}

// stderrOf returns what f wrote to os.Stderr.
func stderrOf(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	saved := os.Stderr
	os.Stderr = w
	done := make(chan string)
	go func() {
		var b strings.Builder
		_, _ = io.Copy(&b, r)
		done <- b.String()
	}()
	defer func() { os.Stderr = saved }()
	f()
	os.Stderr = saved
	w.Close()
	return <-done
}
