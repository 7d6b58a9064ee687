package caching

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// serverErrorAddr returns a loopback address whose listener answers every
// read with "SERVER_ERROR unavailable": a memcached proxy (mcrouter,
// twemproxy, memcached's proxy mode) whose upstreams are all dead.
func serverErrorAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
					if _, err := c.Write([]byte("SERVER_ERROR unavailable\r\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// Regression (review of f03344e): with a memcached proxy whose upstreams
// are all dead beside a live server, the proxy's SERVER_ERROR replies
// counted as answers: it was never marked down, and its errors, which the
// Cache's breaker counts, kept the breaker opening for every key (194 of
// 198 keys on the live server refused). The Store now marks it down after
// a second of error replies and no other: from then on its keys are refused
// with backend.ErrServerDown, which the breaker does not count, and the live
// server's keys are served. (In that first second its errors count, and may
// open the breaker once, for its cool-down.)
func TestMemcachedProxyOfDeadUpstreamsLeavesTheOthersServing(t *testing.T) {
	ctx := context.Background()
	proxy := serverErrorAddr(t)
	servers := []string{testutil.MemcachedAddrs(t)[0], proxy}
	ns := memcachedNamespaceOn(0, 2) // the generation on the live server
	plain := openMemcachedCache(t, servers, ns, BreakerOptions{Threshold: -1})
	live := map[string]bool{}
	for i := range 400 {
		k := fmt.Sprint("k", i)
		live[k] = plain.Set(ctx, k, []byte("v"), time.Minute) == nil
	}
	c := openMemcachedCache(t, servers, ns, BreakerOptions{})
	// The window, and the breaker's cool-down should it have opened in it.
	for start := time.Now(); time.Since(start) < 2500*time.Millisecond; {
		for i := range 20 {
			_, _ = c.Get(ctx, fmt.Sprint("k", i))
		}
		time.Sleep(10 * time.Millisecond)
	}
	onLive, refused := 0, 0
	for i := range 400 {
		k := fmt.Sprint("k", i)
		_, err := c.Get(ctx, k)
		if !live[k] {
			require.Error(t, err, "a key on the proxy")
			continue
		}
		onLive++
		if err != nil {
			require.ErrorIs(t, err, ErrUnavailable, "unexpected error")
			refused++
		}
	}
	require.NotZero(t, onLive)
	require.Less(t, onLive, 400, "some keys must be on the proxy")
	require.Zero(t, refused, "%d of the %d keys on the live server were refused (breaker %s) because the proxy answers SERVER_ERROR",
		refused, onLive, c.Stats().Breaker)
	require.Equal(t, "closed", c.Stats().Breaker)
}
