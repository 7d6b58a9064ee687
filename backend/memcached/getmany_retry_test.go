//go:build unix

package memcached

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// cmdGets returns memcached's cmd_get of the server addr: the keys its
// gets asked for, since it started.
func cmdGets(t *testing.T, addr string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, testutil.SlowTimeout)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(testutil.SlowTimeout)))
	_, err = c.Write([]byte("stats\r\n"))
	require.NoError(t, err)
	r := bufio.NewReader(c)
	n := -1
	for {
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		if line == "END\r\n" {
			require.GreaterOrEqual(t, n, 0, "cmd_get in stats")
			return n
		}
		if v, ok := strings.CutPrefix(line, "STAT cmd_get "); ok {
			n, err = strconv.Atoi(strings.TrimSpace(v))
			require.NoError(t, err)
		}
	}
}

// Regression: a GetMany over several servers, one of whose pooled
// connections the server had closed (memcached's idle_timeout here), was
// tried again as a whole: the servers that had answered were asked for
// every key again; then for their misses again. Only the keys the first
// multi-get got no value for of the server that failed it are asked again
// now: here the closed connection's server's, none of the other's, its
// misses included.
func TestGetManyRetryAsksOnlyKeysWithoutValue(t *testing.T) {
	start := func(args ...string) string {
		return testutil.StartProcess(t, "memcached", func(port int) []string {
			return append([]string{"-u", "root", "-l", "127.0.0.1", "-p", strconv.Itoa(port), "-m", "16"}, args...)
		}).Addr
	}
	steady, idle := start(), start("-o", "idle_timeout=1")
	s, err := New(Options{Servers: []string{steady, idle}, Namespace: "getmanyretry", GenerationTTL: time.Hour, Timeout: testutil.SlowTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	s.setGeneration(1, time.Now())
	ctx := context.Background()
	keys := make([]string, 30)
	onSteady := 0
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
		if i < 20 { // the last 10 are misses
			require.NoError(t, s.Set(ctx, keys[i], []byte(keys[i]), time.Hour))
		}
		if s.servers.of(storeKey("getmanyretry:1:", keys[i])).addr == steady {
			onSteady++
		}
	}
	require.NotZero(t, onSteady, "keys on the steady server")
	require.NotEqual(t, len(keys), onSteady, "keys on the idle one")
	require.Eventually(t, func() bool {
		closed, open := peerClosed(t, s)
		return open == 2 && closed == 1
	}, 60*time.Second, 50*time.Millisecond, "the idle server closing its pooled connection, the steady one keeping its own")

	before := cmdGets(t, steady)
	vals, err := s.GetMany(ctx, keys)
	require.NoError(t, err)
	for i, k := range keys[:20] {
		assert.Equal(t, k, string(vals[i]), "value of %s", k)
	}
	for i, k := range keys[20:] {
		assert.Nil(t, vals[20+i], "miss %s", k)
	}
	assert.Equal(t, onSteady, cmdGets(t, steady)-before, "keys the steady server was asked for")
}
