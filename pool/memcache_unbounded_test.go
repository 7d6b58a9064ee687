package pool_test

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/pool"
)

// TestMemcacheMaxOpenIsUnbounded pins what the stats endpoint and
// caching_pool_max_open say of a gomemcache client: MaxOpen -1, unbounded.
// gomemcache dials a connection for every call that finds none idle and
// counts none of them, so even with ApplyMemcache's smallest pool (Size 1,
// NoOverflow) three calls at once hold three connections. Should a
// gomemcache upgrade bound them, this test fails and MaxOpen must report the
// bound instead.
func TestMemcacheMaxOpenIsUnbounded(t *testing.T) {
	const calls = 3
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	arrived := make(chan struct{}, calls) // one per request read, each on its own connection
	release := make(chan struct{})        // closed once all calls are in flight
	var served sync.WaitGroup             // the accept loop and each connection's server
	defer served.Wait()                   // after the listener and the client are closed
	defer ln.Close()
	served.Add(1)
	go func() {
		defer served.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			served.Add(1)
			go func() {
				defer served.Done()
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if !strings.HasPrefix(line, "get ") && !strings.HasPrefix(line, "gets ") {
						return
					}
					arrived <- struct{}{}
					<-release
					if _, err := c.Write([]byte("END\r\n")); err != nil {
						return
					}
				}
			}()
		}
	}()

	mc := memcache.New(ln.Addr().String())
	defer mc.Close() // its idle connection, so that the server's goroutines end
	require.NoError(t, pool.ApplyMemcache(mc, pool.Config{Size: 1, MaxOverflow: pool.NoOverflow, Timeout: 10 * time.Second}))
	require.Equal(t, 1, mc.MaxIdleConns)

	errs := make(chan error, calls)
	for range calls {
		go func() {
			_, err := mc.Get("k")
			errs <- err
		}()
	}
	// Each connection serves one request at a time and holds its answer
	// until release: three requests arrive only on three connections open
	// at once. The deadline turns a bounded client into a failure, not a
	// hang.
	deadline := time.After(5 * time.Second)
	for i := range calls {
		select {
		case <-arrived:
		case <-deadline:
			close(release)
			t.Fatalf("only %d of %d calls reached the server at once: gomemcache now bounds its connections; report the bound as MaxOpen", i, calls)
		}
	}
	close(release)
	for range calls {
		assert.True(t, errors.Is(<-errs, memcache.ErrCacheMiss))
	}

	var reg pool.Registry
	require.NoError(t, reg.RegisterMemcache("memcache", mc))
	s, ok := reg.Snapshot()["memcache"].(pool.Stats)
	require.True(t, ok)
	assert.Equal(t, -1, s.MaxOpen, "gomemcache has no bound on open connections")
	assert.Equal(t, 1, s.Size)
}
