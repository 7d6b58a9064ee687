package memcached

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/boottime"
)

// waitingCtx is a context that tells when a call first asks for its Done
// channel (waiting is closed then): a call waiting for the generation's
// shared read asks for it as it starts to wait (see genRead.wait).
type waitingCtx struct {
	context.Context
	once    sync.Once
	waiting chan struct{}
}

func (c *waitingCtx) Done() <-chan struct{} {
	c.once.Do(func() { close(c.waiting) })
	return c.Context.Done()
}

// Regression: with GenerationGrace -1, a generation read that started
// before this process's Clear and was still in flight GenerationTTL after
// it handed the generation of before the Clear to the calls that waited
// for it: setGeneration did not record it, the Clear's being newer, but
// returned it, and a call made after the Clear read that generation's
// entries, which the Clear had dropped. A call waiting for such a read now
// gets the generation recorded, the Clear's.
func TestReadOlderThanClearGivesWaitersTheClearsGeneration(t *testing.T) {
	var gen atomic.Uint64
	gen.Store(7)
	got, released := make(chan struct{}), make(chan struct{})
	var gotOnce, releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(released) }) }
	t.Cleanup(release)
	addr := lateServer(t, func(f []string) (reply, late string) {
		switch strings.Join(f, " ") {
		case "gets fake:gen":
			n := gen.Load() // read as the request comes
			first := false
			gotOnce.Do(func() { first = true; close(got) })
			if first {
				<-released // the first read hangs until released
			}
			return fmt.Sprintf("VALUE fake:gen 0 %d 1\r\n%d\r\nEND\r\n", len(fmt.Sprint(n)), n), ""
		case "incr fake:gen 1":
			return fmt.Sprintf("%d\r\n", gen.Add(1)), ""
		case "gets fake:7:b": // an entry of the generation cleared
			return "VALUE fake:7:b 0 7 1\r\ncleared\r\nEND\r\n", ""
		}
		return "END\r\n", ""
	})
	s, err := New(Options{Servers: []string{addr}, Namespace: "fake", Timeout: time.Minute, GenerationTTL: time.Millisecond, GenerationGrace: -1})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })

	leader := make(chan error, 1)
	go func() { _, err := s.Get(context.Background(), "a"); leader <- err }()
	<-got // the shared read in flight, made before the Clear
	require.NoError(t, s.Clear(context.Background()))
	require.Equal(t, "fake:8:", s.gen.Load().prefix)
	for boottime.Since(s.gen.Load().readAt) < s.opts.GenerationTTL {
		time.Sleep(time.Millisecond) // past GenerationTTL: the next call waits for the read
	}

	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx := &waitingCtx{Context: parent, waiting: make(chan struct{})}
	waiter := make(chan []byte, 1)
	var werr error
	go func() { v, err := s.Get(ctx, "b"); werr = err; waiter <- v }()
	select {
	case <-ctx.waiting:
	case <-time.After(10 * time.Second): // a bound on a hang, far above the few steps it takes
		t.Fatal("the call made after the Clear does not wait for the read in flight")
	}
	release()
	v := <-waiter
	assert.ErrorIs(t, werr, backend.ErrNotFound, "a call made after the Clear reads %q, an entry it cleared", v)
	assert.ErrorIs(t, <-leader, backend.ErrNotFound)
	assert.Equal(t, "fake:8:", s.gen.Load().prefix, "the generation recorded")
}
