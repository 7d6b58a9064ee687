package memcached_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// Regression: a Set or Delete whose connection was dropped, which marked
// its server down, was tried once more and refused as marked down, and its
// error repeated the package's prefix: "memcached: set <addr>: EOF;
// retried: memcached: server <addr> marked down after ...: backend: server
// marked down". It now says each thing once: what the try that may have
// landed failed with, and that the server is marked down since. It still
// wraps no backend.ErrServerDown (a refusal says nothing was sent; the
// first try's write may have been made).
func TestRetryRefusedAsServerDownSaysSoOnce(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	ops := map[string]func(s *memcached.Store, k string) error{
		"Set":    func(s *memcached.Store, k string) error { return s.Set(bg, k, []byte("v"), time.Minute) },
		"Delete": func(s *memcached.Store, k string) error { return s.Delete(bg, k) },
	}
	for name, call := range ops {
		t.Run(name, func(t *testing.T) {
			addr, _ := listenServing(t, func(c net.Conn) { c.Close() })
			ns := namespaceOn(0) // the generation on the live server
			s := open(t, memcached.Options{Servers: []string{live, addr}, Namespace: ns})
			require.NoError(t, s.Clear(bg)) // a generation, on the live server
			retried := 0
			for _, k := range keysOn(t, live, ns, 1, 6) {
				err := call(s, k)
				require.Error(t, err)
				assert.Equal(t, 1, strings.Count(err.Error(), "memcached: "), "the error says where it comes from once: %v", err)
				if !errors.Is(err, backend.ErrServerDown) && strings.Contains(err.Error(), "marked down") {
					retried++
					t.Log(err)
					assert.NotContains(t, err.Error(), backend.ErrServerDown.Error(), "the text of a sentinel the error does not wrap: %v", err)
				}
			}
			assert.Equal(t, 1, retried, "calls whose retry was refused as the server was marked down")
		})
	}
}

// Regression: with one server, whose dropped write marked it down, the
// retry's refusal is that of every server marked down, which tells the
// failure that marked it down in parentheses: "memcached: set <addr>: EOF;
// retried: every server marked down (this one after 3 failures in a row,
// the last: EOF)". The first try's failure was told twice. It is now told
// once, as with a server of several, and still wrapped. (A Delete of one
// server reads the generation from it first: its answer keeps the server
// up.)
func TestRetryRefusedAsEveryServerDownSaysFailureOnce(t *testing.T) {
	ns := namespaceOn(0)
	addr, _ := listenServing(t, answerGenerationOnly(ns))
	s := open(t, memcached.Options{Servers: []string{addr}, Namespace: ns, GenerationTTL: time.Hour})
	var err error
	for range 5 {
		// A Set fails once but on a pooled connection (which a restart
		// drops: not counted), and is tried again; an Add is sent once.
		// The third failure in a row, which marks the server down, is
		// then a Set's first try.
		if err = s.Set(bg, "k", []byte("v"), time.Minute); err != nil && strings.Contains(err.Error(), "; retried: ") {
			break
		}
		_, _ = s.Add(bg, "k", []byte("v"), time.Minute)
	}
	require.Error(t, err)
	t.Log(err)
	first, retry, ok := strings.Cut(err.Error(), "; retried: ")
	require.True(t, ok, "a Set whose retry was refused: %v", err)
	assert.Contains(t, retry, "every server marked down")
	cause := strings.TrimPrefix(first, "memcached: set "+addr+": ")
	require.NotEqual(t, first, cause, "the first try's error names the command and server: %v", err)
	assert.Equal(t, 1, strings.Count(err.Error(), cause), "the first try's failure is told once: %v", err)
	assert.True(t, errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET), "the first try's failure is wrapped: %v", err)
	assert.NotErrorIs(t, err, backend.ErrServerDown)
}

// answerGenerationOnly serves a memcached server that answers the read of
// namespace ns's generation and closes the connection on any other command.
func answerGenerationOnly(ns string) func(net.Conn) {
	gen := "gets " + ns + ":gen\r\n"
	return func(c net.Conn) {
		defer c.Close()
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil || line != gen {
				return
			}
			if _, err := io.WriteString(c, "VALUE "+ns+":gen 0 1 1\r\n7\r\nEND\r\n"); err != nil {
				return
			}
		}
	}
}
