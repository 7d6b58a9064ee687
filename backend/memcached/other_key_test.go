package memcached

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// A get whose reply is the value of another key (a connection out of step
// with its replies, or a proxy that mixes them up) fails: gomemcache's Get
// returns the item it read, whatever its key. The generation's read, a
// get too, fails so rather than taking another key's number for its own.
func TestGetOfAnotherKeysValueFails(t *testing.T) {
	// wrongFirst answers the first get it is sent, on any connection, with
	// another key's value, and the others honestly.
	wrongFirst := func() func(net.Conn) {
		var wrong atomic.Bool
		return func(c net.Conn) {
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				reply := "ERROR\r\n"
				if f := strings.Fields(line); len(f) == 2 && f[0] == "gets" {
					reply = valueLine(f[1])
					if wrong.CompareAndSwap(false, true) {
						reply = "VALUE fake:1:other 0 1 1\r\n7\r\nEND\r\n"
					}
				}
				if _, err := c.Write([]byte(reply)); err != nil {
					return
				}
			}
		}
	}
	ctx := context.Background()
	t.Run("get", func(t *testing.T) {
		s, dials := fakeStore(t, fakeServer(t, wrongFirst()))
		v, err := s.Get(ctx, "a")
		require.Error(t, err, "Get read %q, another key's value", v)
		assert.NotErrorIs(t, err, backend.ErrNotFound)
		assert.ErrorContains(t, err, "another key")
		assert.NotContains(t, err.Error(), "fake:1:", "error text names a key")
		v, err = s.Get(ctx, "a")
		require.NoError(t, err, "the Get after")
		assert.Equal(t, s.mustKey(t, "a"), string(v), "the Get after")
		assert.Equal(t, int64(2), dials(), "dials: the connection that read another key's value was kept")
	})
	t.Run("generation", func(t *testing.T) {
		s, err := New(Options{Servers: []string{fakeServer(t, wrongFirst())}, Namespace: "fake"})
		require.NoError(t, err)
		defer s.Close()
		v, err := s.Get(ctx, "a")
		require.Error(t, err, "Get read %q under a generation read from another key", v)
		assert.ErrorContains(t, err, "another key")
	})
}
