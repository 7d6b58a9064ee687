//go:build unix

package memcached

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// armedCtx is a context cancelled by the second look at its error once
// armed: a caller that leaves between two tries of a call.
type armedCtx struct {
	context.Context
	cancel context.CancelFunc
	armed  atomic.Bool
	looks  atomic.Int32
}

func (c *armedCtx) Err() error {
	if c.armed.Load() && c.looks.Add(1) == 2 {
		c.cancel()
	}
	return c.Context.Err()
}

// Regression: a Set or Delete whose connection was dropped once its
// request was written (the write may have landed) was tried again, on a
// pooled connection the server had closed (nothing sent), and its caller
// left meanwhile: the call stopped, as it should, but its error wrapped
// only the first try's failure, not the context's, though its text said
// "not tried again: context canceled". The caching package took the call
// of a caller gone for a failure of the backend (its breaker counts it).
// It now wraps the context's error, and still no refusal.
func TestRetryStoppedAfterADroppedWriteWrapsTheContext(t *testing.T) {
	ops := map[string]func(ctx context.Context, s *Store) error{
		"Set":    func(ctx context.Context, s *Store) error { return s.Set(ctx, "k", []byte("v"), time.Hour) },
		"Delete": func(ctx context.Context, s *Store) error { return s.Delete(ctx, "k") },
	}
	for name, call := range ops {
		t.Run(name, func(t *testing.T) {
			var conns atomic.Int32
			got1, release1, closeB := make(chan struct{}), make(chan struct{}), make(chan struct{})
			parent, cancel := context.WithCancel(context.Background())
			defer cancel()
			ctx := &armedCtx{Context: parent, cancel: cancel}
			addr := fakeServer(t, func(c net.Conn) {
				n := conns.Add(1)
				r := bufio.NewReader(c)
				for reqs := 1; ; reqs++ {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					f := strings.Fields(line)
					reply := "END\r\n"
					switch {
					case len(f) > 1 && f[1] == "fake:gen": // Delete's fresh read
						reply = "VALUE fake:gen 0 1 1\r\n1\r\nEND\r\n"
					case strings.HasPrefix(f[0], "get") && n == 1 && reqs == 1:
						close(got1)
						<-release1
					case strings.HasPrefix(f[0], "get") && n == 2:
						if _, err := c.Write([]byte("END\r\n")); err != nil {
							return
						}
						<-closeB
						return // closed while idle in the pool
					case f[0] == "set":
						_, _ = r.ReadString('\n') // the value
						fallthrough
					default:
						ctx.armed.Store(true)
						return // dropped once the request was read
					}
					if _, err := c.Write([]byte(reply)); err != nil {
						return
					}
				}
			})
			s, dials := fakeStore(t, addr)
			// Two pooled connections: the second opened's idle first, the
			// first's on top (taken first).
			first := make(chan error, 1)
			go func() { _, err := s.Get(context.Background(), "a"); first <- err }()
			select {
			case <-got1:
			case err := <-first:
				t.Fatalf("first get: %v", err)
			}
			_, err := s.Get(context.Background(), "b")
			require.ErrorIs(t, err, backend.ErrNotFound)
			close(release1)
			require.ErrorIs(t, <-first, backend.ErrNotFound)
			close(closeB)
			require.Eventually(t, func() bool {
				closed, open := peerClosed(t, s)
				return open == 2 && closed == 1
			}, 10*time.Second, 10*time.Millisecond, "the second connection closed by the server")

			err = call(ctx, s)
			require.Error(t, err)
			t.Log(err)
			assert.Equal(t, int64(2), dials(), "dials: not tried on a new connection once the caller left")
			assert.ErrorIs(t, err, context.Canceled, "the error of a call stopped as its caller left")
			assert.False(t, errors.Is(err, backend.ErrServerDown), "a write that may have landed is no refusal: %v", err)
			assert.Equal(t, 1, strings.Count(err.Error(), "memcached: "), "the error says where it comes from once: %v", err)
			assert.Equal(t, 1, strings.Count(err.Error(), context.Canceled.Error()), "the context's error told once: %v", err)
		})
	}
}
