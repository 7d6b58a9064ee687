package memcached

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// fakeServer starts a memcached stand-in on a loopback port, which serves
// each connection with serve (and closes it after), and returns its
// address.
func fakeServer(t *testing.T, serve func(c net.Conn)) string {
	addr, _ := testutil.Serve(t, func(c net.Conn) {
		defer c.Close()
		serve(c)
	})
	return addr
}

// fakeStore returns a Store whose one server is addr, its namespace
// generation set (no call reads it), its Timeout long enough for a loaded
// machine (no call here waits it out), and its dial count.
func fakeStore(t *testing.T, addr string) (*Store, func() int64) {
	t.Helper()
	s, err := New(Options{Servers: []string{addr}, Namespace: "fake", GenerationTTL: time.Hour, Timeout: 10 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	s.setGeneration(1, time.Now())
	return s, countDials(s).Load
}

// valueLine is the reply to a get of key whose value is the key itself.
func valueLine(key string) string {
	return fmt.Sprintf("VALUE %s 0 %d 1\r\n%s\r\nEND\r\n", key, len(key), key)
}

// closeLate is lateServer's late for a connection closed after its reply.
const closeLate = "\x00close"

// lateServer starts a fake server (see fakeServer) that answers each
// request line, split into its fields, with answer's reply, and writes
// answer's late, the rest of that reply come late, before it reads the
// next request's line: as mcrouter writes a get's per-key error, then END.
// A late of closeLate closes the connection after the reply instead.
func lateServer(t *testing.T, answer func(f []string) (reply, late string)) string {
	return fakeServer(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		late := ""
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if late != "" {
				if _, err := c.Write([]byte(late)); err != nil {
					return
				}
			}
			var reply string
			reply, late = answer(strings.Fields(line))
			if _, err := c.Write([]byte(reply)); err != nil || late == closeLate {
				return
			}
		}
	})
}

// Regression: a get refused with a lone "SERVER_ERROR ...\r\n" line kept
// its connection once a read that did not wait found nothing after it; but
// a proxy may send the rest of that reply later, in a write of its own
// (mcrouter's ascii server writes a get's per-key error, then the
// multi-op "END"), after that check. The next get then read the stray END
// (a miss) and left its own reply for the get after it, which read it, a
// value of another key, as its own: gomemcache does not check the key. A
// parked connection is now taken again only once a version command, sent
// on it, has its reply read, with nothing but END lines before it.
func TestParkedConnectionServesNoOtherKeysValue(t *testing.T) {
	addr := lateServer(t, func(f []string) (reply, late string) {
		switch {
		case len(f) == 2 && f[0] == "gets" && strings.HasSuffix(f[1], ":broken"):
			return "SERVER_ERROR x\r\n", "END\r\n"
		case len(f) == 2 && f[0] == "gets":
			return valueLine(f[1]), ""
		case len(f) == 1 && f[0] == "version":
			return "VERSION 1.6.0-fake\r\n", ""
		}
		return "ERROR\r\n", ""
	})
	s, dials := fakeStore(t, addr)
	ctx := context.Background()
	const rounds = 10
	for i := range rounds {
		v, err := s.Get(ctx, "broken")
		assert.ErrorContains(t, err, "SERVER_ERROR x", "round %d: the refused get read %q", i, v)
		for j := range 3 {
			key := fmt.Sprintf("k%d-%d", i, j)
			v, err := s.Get(ctx, key)
			if errors.Is(err, backend.ErrNotFound) {
				continue
			}
			if assert.NoError(t, err, "round %d, get %s", i, key) {
				assert.Equal(t, s.mustKey(t, key), string(v), "round %d, get %s: another key's value", i, key)
			}
		}
	}
	assert.LessOrEqual(t, dials(), int64(1), "dials for %d refused gets", rounds)
}

// resync takes a parked connection back only when the reply to its version
// command came, with nothing but END lines before it and nothing after.
// Each of the server's writes reaches one read (net.Pipe): a line split
// over reads is put together.
func TestResync(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes []string
		ok     bool
	}{
		{"version", []string{"VERSION 1.6.18\r\n"}, true},
		{"the late END before it", []string{"END\r\nVERSION 1.6.18\r\n"}, true},
		{"split lines", []string{"EN", "D\r\nVERS", "ION mcrouter 41.0.0\r\n"}, true},
		{"a value before it", []string{"VALUE k 0 1\r\nx\r\nEND\r\nVERSION 1.6.18\r\n"}, false},
		{"an error before it", []string{"SERVER_ERROR x\r\nVERSION 1.6.18\r\n"}, false},
		{"an unknown command", []string{"ERROR\r\n"}, false},
		{"bytes after it", []string{"VERSION 1.6.18\r\nEND\r\n"}, false},
		{"too many END lines", []string{strings.Repeat("END\r\n", resyncLines) + "VERSION 1.6.18\r\n"}, false},
		{"too many bytes", []string{"VERSION " + strings.Repeat("1", resyncMax)}, false},
		{"closed", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := net.Pipe()
			defer client.Close()
			go func() {
				defer server.Close()
				buf := make([]byte, 64)
				if n, err := server.Read(buf); err != nil || string(buf[:n]) != "version\r\n" {
					return
				}
				for _, w := range tc.writes {
					if _, err := server.Write([]byte(w)); err != nil {
						return
					}
				}
			}()
			err := resync(client, time.Now().Add(time.Hour))
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
	t.Run("no reply before the deadline", func(t *testing.T) {
		client, server := net.Pipe()
		defer server.Close()
		defer client.Close()
		go func() { _, _ = io.Copy(io.Discard, server) }()
		err := resync(client, time.Now().Add(-time.Second))
		assert.True(t, timeout(err), "%v", err)
	})
}
