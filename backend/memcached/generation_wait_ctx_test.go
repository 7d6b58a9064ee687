package memcached

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// leavingCtx is the context of a caller that leaves as soon as the call
// has looked at it once (Store.start): cancelled by that look, which
// finds it not done yet.
type leavingCtx struct {
	context.Context
	cancel context.CancelFunc
	looked atomic.Bool
}

func (c *leavingCtx) Err() error {
	if !c.looked.Swap(true) {
		c.cancel()
		return nil
	}
	return c.Context.Err()
}

// Regression: a call that found the namespace generation's read in flight,
// with no generation within GenerationGrace to go on with, waited for that
// read whatever its context: up to three round trips, each bounded by
// Options.Timeout, for a caller gone. It now stops waiting once its
// context is done, with the context's error, and the read, shared, goes on
// for the others: the call that makes it still gets its answer.
func TestCallWaitingForGenerationReadLeavesWithItsContext(t *testing.T) {
	got, release := make(chan struct{}), make(chan struct{})
	var gotOnce, releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	addr := fakeServer(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			reply := "END\r\n"
			if line == "gets fake:gen\r\n" {
				gotOnce.Do(func() { close(got) })
				<-release // the read hangs until released
				reply = "VALUE fake:gen 0 1 1\r\n7\r\nEND\r\n"
			}
			if _, err := c.Write([]byte(reply)); err != nil {
				return
			}
		}
	})
	// A Timeout above the test's bound on a hang: the read waits for release.
	s, err := New(Options{Servers: []string{addr}, Namespace: "fake", Timeout: time.Minute})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })

	reader := make(chan error, 1)
	go func() { _, err := s.Get(context.Background(), "a"); reader <- err }()
	<-got // the generation's read in flight, made by the first Get

	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx := &leavingCtx{Context: parent, cancel: cancel}
	waiter := make(chan error, 1)
	go func() { _, err := s.Get(ctx, "b"); waiter <- err }()
	select {
	case err := <-waiter:
		t.Log(err)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 1, strings.Count(err.Error(), "memcached: "), "the error says where it comes from once: %v", err)
	case <-time.After(10 * time.Second): // a bound on a hang, far above the few steps it takes
		t.Error("a call waiting for the generation's read did not leave once its context ended")
		releaseOnce.Do(func() { close(release) })
		<-waiter
	}
	releaseOnce.Do(func() { close(release) })
	assert.ErrorIs(t, <-reader, backend.ErrNotFound, "the Get that reads the generation, once the read is answered")
	assert.NotNil(t, s.gen.Load(), "the generation read")
}
