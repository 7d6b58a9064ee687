package caching

import (
	"net"
	"testing"
	"time"
)

// serverErrorAddr returns a loopback address whose listener answers every
// read with "SERVER_ERROR unavailable": a memcached proxy (mcrouter,
// twemproxy, memcached's proxy mode) whose upstreams are all dead.
func serverErrorAddr(t *testing.T) string {
	return servingAddr(t, func(c net.Conn) {
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
	})
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
	// Past the proxy's window (1s) and the breaker's cool-down (1s).
	requireLiveMemcachedKeysServedAfter(t, serverErrorAddr(t), 2500*time.Millisecond)
}
