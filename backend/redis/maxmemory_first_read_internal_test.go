package redisstore

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// startMaxmemStaller is a TCP proxy in front of Redis that holds every
// chunk naming maxmemory (CONFIG GET maxmemory) until release is closed,
// then forwards it: a server that stalls on that one read, as a hung or
// failing-over master does. stalled receives a value each time it holds
// one.
func startMaxmemStaller(t *testing.T, target string, release <-chan struct{}) (p *testutil.Proxy, stalled <-chan struct{}) {
	held := make(chan struct{}, 16)
	p = testutil.StartProxy(t, target, testutil.ProxyOptions{Request: func(chunk []byte) []byte {
		if strings.Contains(strings.ToLower(string(chunk)), "maxmemory") {
			select {
			case held <- struct{}{}:
			default:
			}
			<-release
		}
		return nil
	}})
	return p, held
}

// A large write whose caller's context has ended, made while another
// caller's first maxmemory read stalls, returns while that read still
// runs: it used to wait for the whole read, bounded only by the read's
// own timeout (maxmemReadFor) and the client's ReadTimeout and retries,
// about 4 s here, whatever its caller's deadline. The read is held by the
// proxy until the test releases it, so "still runs" is the Store's own
// state, not a duration.
func TestMaxmemoryStalledFirstReadHoldsNoWriteBeyondItsDeadline(t *testing.T) {
	addr := testutil.RedisAddr(t)
	release := make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(free)
	p, stalled := startMaxmemStaller(t, addr, release)
	b, err := New(Options{
		URL:         "redis://" + p.Addr() + "/12",
		Prefix:      "zz-maxmem-hold:" + time.Now().Format("150405.000000"),
		ReadTimeout: 2 * time.Second,
	})
	require.NoError(t, err)
	defer b.Close()
	ctx := context.Background()
	require.NoError(t, b.Set(ctx, "warm", []byte("x"), time.Minute)) // the pool is up

	big := bytes.Repeat([]byte("v"), 100<<10)
	first := make(chan error, 1)
	go func() { first <- b.Set(ctx, "first", big, time.Minute) }() // reads maxmemory, stalls
	<-stalled

	ended, cancel := context.WithCancel(ctx)
	cancel()
	err = b.Set(ended, "second", big, time.Minute)
	require.ErrorIs(t, err, context.Canceled)
	b.maxmemMu.Lock()
	running := b.maxmemDone != nil
	b.maxmemMu.Unlock()
	require.True(t, running, "a Set whose context had ended returned only once another caller's maxmemory read had ended")

	free()
	require.NoError(t, <-first, "the first Set, once its read is answered")
}
