package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTokenMarkSharedWithSecret: the key of tokenReads' marks was random
// in each process, so that proxies sharing a backend and a variant key
// secret named a token user's Authorization variant differently, and
// never shared one: each asked the origin for the page the other had
// stored. With a secret, the mark key comes from it: they share those
// variants, each user's own still; one with another secret does not.
func TestTokenMarkSharedWithSecret(t *testing.T) {
	secret, other := rand.Text()+rand.Text(), rand.Text()+rand.Text()
	cacheURL := redisURL(t)
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("Vary", "Authorization")
		fmt.Fprint(w, "data of "+r.Header.Get("X-Api-Key"))
	})
	o := httptest.NewServer(origin)
	t.Cleanup(o.Close)
	start := func(secret string) string {
		return proxyProcess(t, []string{variantKeySecretEnv + "=" + secret}, "-origin", o.URL, "-cache-url", cacheURL)
	}
	read := func(front, key string) string {
		res, body := send(t, http.MethodGet, front+"/api/me", "X-Api-Key", key, "Host", "api.example")
		require.Equal(t, "data of "+key, body)
		return res.Header.Get(statusHeader)
	}
	first := start(secret)
	require.Equal(t, "MISS", read(first, "alice"))
	// Stored in Redis once the first proxy's own next read hits.
	require.Eventually(t, func() bool { return read(first, "alice") == "HIT" }, 30*time.Second, 10*time.Millisecond)
	second := start(secret)
	assert.Equal(t, "HIT", read(second, "alice"), "a proxy with the same secret shares alice's variant")
	assert.NotEqual(t, "HIT", read(second, "bob"), "bob gets no variant of alice's")
	assert.NotEqual(t, "HIT", read(start(other), "alice"), "a proxy with another secret")

	// Without a secret a proxy marks as the tests that forge marks
	// (tokenMarkOf with credentials{}) do: their forgeries are the real ones.
	cfg, err := parseFlags([]string{"-origin", "http://o"}, func(string) string { return "" })
	require.NoError(t, err)
	h := http.Header{"X-Api-Key": {"alice"}}
	assert.Equal(t, tokenMarkOf(h, credentials{}), tokenMarkOf(h, cfg.creds))
}

// proxyProcessArgs is the environment variable under which
// TestProxyProcess finds the flags of the proxy it runs, "\n"-separated.
const proxyProcessArgs = "PROXY_TEST_PROCESS_ARGS"

// proxyProcess runs the proxy with args in a process of its own (this
// test binary, running TestProxyProcess), with env beside this process's
// environment, and returns its URL. The process is killed at cleanup (and
// ends itself in 5 minutes, should this one die first).
func proxyProcess(t *testing.T, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestProxyProcess$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(append(os.Environ(), env...), proxyProcessArgs+"="+strings.Join(args, "\n"))
	out, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	return "http://" + listenAddr(t, out)
}

// TestProxyProcess runs the proxy of proxyProcess's process, until killed;
// in any other run it returns at once.
func TestProxyProcess(t *testing.T) {
	args := os.Getenv(proxyProcessArgs)
	if args == "" {
		return
	}
	err := run(context.Background(), append(strings.Split(args, "\n"), "-listen", "127.0.0.1:0", "-admin", ""), os.Getenv, os.Stderr)
	t.Fatal(err)
}
