package memcached

import (
	"bufio"
	"context"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// twiceProxy forwards TCP connections to the memcached server target and
// sends each line of its replies twice, in one write: a proxy out of step
// with its clients. Every reply line is doubled, so that it serves only
// requests whose replies are one line (incr, set).
func twiceProxy(t *testing.T, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, up)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(up, c) })
			wg.Go(func() {
				r := bufio.NewReader(up)
				for {
					line, err := r.ReadBytes('\n')
					if err != nil {
						c.Close()
						return
					}
					if _, err := c.Write(append(line, line...)); err != nil {
						return
					}
				}
			})
		}
	})
	return ln.Addr().String()
}

// Regression: Clear set a namespace's first generation (none on the
// server yet) with gomemcache's Set alone, where every other set goes on
// another connection after one that writes nothing (out of step with its
// replies, or closed by the server: see unwritten). Behind a proxy that
// answered every request twice, the connection the incr's miss left in the
// pool was out of step, the set on it failed unwritten, and Clear, trying
// its incr and set three times, each on a new connection put out of step
// the same way, failed with "Clear did not complete", while Set worked.
// Its set now goes on another connection, as Set's does.
func TestClearFirstGenerationOnConnectionOutOfStep(t *testing.T) {
	bg := context.Background()
	addr := testutil.MemcachedAddrs(t)[0]
	ns := namespaceFor("clearstep")
	s, err := New(Options{Servers: []string{twiceProxy(t, addr)}, Namespace: ns, Timeout: testutil.SlowTimeout, GenerationTTL: time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	s.setGeneration(1, time.Now()) // Set reads none: a get's reply, doubled, breaks the protocol
	require.NoError(t, s.Set(bg, "k", []byte("v"), 0), "a Set through the proxy")
	require.NoError(t, s.Set(bg, "k", []byte("v"), 0), "a Set through the proxy, its connection out of step")

	require.NoError(t, s.Clear(bg), "a Clear with no generation on the server")
	it, err := memcache.New(addr).Get(ns + ":gen")
	require.NoError(t, err, "the generation Clear set")
	n, err := strconv.ParseUint(string(it.Value), 10, 64)
	require.NoError(t, err, "the generation Clear set")
	v, err := s.prefix(context.Background())
	require.NoError(t, err)
	assert.Equal(t, ns+":"+strconv.FormatUint(n, 10)+":", v, "the generation the Store uses")
}
