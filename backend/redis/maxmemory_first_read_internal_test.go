package redisstore_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// startMaxmemStaller is a TCP proxy in front of Redis that never forwards a
// chunk naming maxmemory (CONFIG GET maxmemory): a server that stalls on
// that one read, as a hung or failing-over master does.
func startMaxmemStaller(t *testing.T, target string) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			go func() { _, _ = io.Copy(c, s); _ = c.Close() }()
			go func() {
				buf := make([]byte, 256<<10)
				for {
					n, err := c.Read(buf)
					if err != nil {
						_ = s.Close()
						return
					}
					if strings.Contains(strings.ToLower(string(buf[:n])), "maxmemory") {
						continue // swallowed: no reply ever comes
					}
					if _, err := s.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln
}

// A large write whose caller has a 50ms deadline, made while another
// caller's first maxmemory read stalls, waits for that read no longer than
// its own deadline (it used to wait for the whole read, bounded only by the
// client's ReadTimeout and retries: about 4 s here).
func TestMaxmemoryStalledFirstReadHoldsNoWriteBeyondItsDeadline(t *testing.T) {
	addr := testutil.RedisAddr(t)
	ln := startMaxmemStaller(t, addr)
	b, err := redisstore.New(redisstore.Options{
		URL:         "redis://" + ln.Addr().String() + "/12",
		Prefix:      "zz-maxmem-hold:" + time.Now().Format("150405.000000"),
		ReadTimeout: 2 * time.Second,
	})
	require.NoError(t, err)
	defer b.Close()
	ctx := context.Background()
	require.NoError(t, b.Set(ctx, "warm", []byte("x"), time.Minute)) // the pool is up

	big := bytes.Repeat([]byte("v"), 100<<10)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the first large write: reads maxmemory, stalls
		defer wg.Done()
		_ = b.Set(ctx, "first", big, time.Minute)
	}()
	time.Sleep(100 * time.Millisecond)

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_ = b.Set(short, "second", big, time.Minute)
	took := time.Since(start)
	wg.Wait()
	require.Less(t, took, 500*time.Millisecond,
		"a Set with a 50ms deadline took %v: held by another caller's maxmemory read", took)
}
