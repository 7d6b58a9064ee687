package cacheurl_test

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/cacheurl"
)

// TestOpenDialsOnlyForMinIdleConnsAndNear: Open's doc said "Open dials
// nothing", but min_idle_conns makes go-redis dial as Open builds a client
// for one server or a Sentinel-managed master, and near=1 on a Redis URL
// starts the near cache's invalidation watch, which connects at once (on a
// Cluster, to list its masters), both of which the doc now says. The server
// sees a connection from Open with min_idle_conns=1 or near=1 (with no call
// made), none without them, and none for a cluster with min_idle_conns,
// whose node clients are built on the first call.
func TestOpenDialsOnlyForMinIdleConnsAndNear(t *testing.T) {
	for _, tc := range []struct {
		name, network string
		url           func(addr string) string
		dials         bool
	}{
		{"redis", "tcp", func(a string) string { return "redis://" + a + "?min_idle_conns=1" }, true},
		{"unix", "unix", func(a string) string { return "unix://" + a + "?min_idle_conns=1" }, true},
		{"sentinel", "tcp", func(a string) string { return "redis+sentinel://" + a + "/mymaster?min_idle_conns=1" }, true},
		{"cluster", "tcp", func(a string) string { return "redis+cluster://" + a + "?min_idle_conns=1" }, false},
		{"redis near=1", "tcp", func(a string) string { return "redis://" + a + "?near=1" }, true},
		{"unix near=1", "unix", func(a string) string { return "unix://" + a + "?near=1" }, true},
		{"cluster near=1", "tcp", func(a string) string { return "redis+cluster://" + a + "?near=1" }, true},
		{"redis without", "tcp", func(a string) string { return "redis://" + a + "?pool_size=4" }, false},
		{"sentinel without", "tcp", func(a string) string { return "redis+sentinel://" + a + "/mymaster?pool_size=4" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := "127.0.0.1:0"
			if tc.network == "unix" {
				dir, err := os.MkdirTemp("", "cacheurl") // t.TempDir can be too long for a socket's path
				require.NoError(t, err)
				defer os.RemoveAll(dir)
				addr = filepath.Join(dir, "redis.sock")
			}
			ln, err := net.Listen(tc.network, addr)
			require.NoError(t, err)
			defer ln.Close()
			b, err := cacheurl.Open(tc.url(ln.Addr().String()))
			require.NoError(t, err)
			defer b.Close()
			wait := 10 * time.Second // bounds a dial that is on its way
			if !tc.dials {
				wait = 200 * time.Millisecond // none is on its way: one from Open would come at once
			}
			require.NoError(t, ln.(interface{ SetDeadline(time.Time) error }).SetDeadline(time.Now().Add(wait)))
			c, err := ln.Accept()
			if err == nil {
				c.Close()
			}
			assert.Equal(t, tc.dials, err == nil, "a connection from Open: %v", err)
		})
	}
}
