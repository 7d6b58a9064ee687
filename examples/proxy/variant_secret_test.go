package main

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// redisURL returns a cache URL on the real Redis (testutil.RedisAddr:
// $CACHING_REDIS_ADDR, else 127.0.0.1:6379) with a key prefix of this
// test's own. Where that Redis does not answer the test is skipped, but not
// under CI, where it fails.
func redisURL(t *testing.T) string {
	return "redis://" + testutil.RedisAddr(t) + "/0?key_prefix=proxy-" + rand.Text() + ":"
}

// TestVariantKeySecret: the proxy gave the cache no VariantKeySecret, so
// the Vary variants of a credential field (Cookie, Authorization, an API
// key's field, any field but content negotiation's) were named in the
// backend by a SHA-256 of its value, which whoever reads the backend can
// test guesses against offline. -variant-key-secret-file (or
// $PROXY_VARIANT_KEY_SECRET) gives one: proxies sharing a backend and the
// secret share those variants, one with another secret or none does not.
func TestVariantKeySecret(t *testing.T) {
	secret, other := rand.Text()+rand.Text(), rand.Text()+rand.Text()
	file := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(file, []byte(secret+"\n"), 0o600))
	cacheURL := redisURL(t)
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("Vary", "X-Team")
		fmt.Fprint(w, "page of "+r.Header.Get("X-Team"))
	})
	read := func(front string) string {
		res, body := send(t, http.MethodGet, front+"/team", "X-Team", "red", "Host", "shop.example")
		require.Equal(t, "page of red", body)
		return res.Header.Get(statusHeader)
	}
	get := func(env map[string]string, args ...string) string {
		return read(startProxyEnv(t, origin, env, append([]string{"-cache-url", cacheURL}, args...)...).URL)
	}
	first := startProxyEnv(t, origin, nil, "-cache-url", cacheURL, "-variant-key-secret-file", file).URL
	require.Equal(t, "MISS", read(first))
	// Stored in Redis once the first proxy's own next read hits.
	require.Eventually(t, func() bool { return read(first) == "HIT" }, 30*time.Second, 10*time.Millisecond)
	assert.Equal(t, "HIT", get(map[string]string{variantKeySecretEnv: secret}), "a proxy with the same secret")
	assert.NotEqual(t, "HIT", get(map[string]string{variantKeySecretEnv: other}), "a proxy with another secret")
	assert.NotEqual(t, "HIT", get(nil), "a proxy without a secret")

	for _, tc := range []struct {
		args []string
		env  string
	}{
		{[]string{"-variant-key-secret-file", file}, secret}, // both
		{nil, "short"}, // under 32 bytes
		{[]string{"-variant-key-secret-file", file + ".missing"}, ""}, // no such file
	} {
		_, err := parseFlags(append([]string{"-origin", "http://o"}, tc.args...), func(k string) string {
			return map[string]string{variantKeySecretEnv: tc.env}[k]
		})
		assert.Error(t, err, "%v $%s=%q", tc.args, variantKeySecretEnv, tc.env)
	}
}
