package memcached

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// getCounter counts a Store's dials and the get requests written on its
// connections (gomemcache writes each in one write).
type getCounter struct {
	dials, gets atomic.Int64
}

// countGets makes s's client count its dials and get requests.
func countGets(s *Store) *getCounter {
	gc := &getCounter{}
	s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		gc.dials.Add(1)
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &getCountingConn{Conn: c, gets: &gc.gets}, nil
	}
	return gc
}

type getCountingConn struct {
	net.Conn
	gets *atomic.Int64
}

func (c *getCountingConn) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, []byte("get")) {
		c.gets.Add(1)
	}
	return c.Conn.Write(p)
}

// bigValueServer starts a fake server that answers a get of keys with
// their values, each key's its own name, but for the keys ending in ":big",
// whose VALUE line declares size bytes: data follows it, and, when data
// is whole, end ("\r\n" as memcached writes it) and, after "\r\n", the rest
// of the reply; otherwise nothing more (the client's Timeout ends the
// read). The data is written from the one slice: the allocations of a call
// are the client's.
func bigValueServer(t *testing.T, size int, data []byte, end string) string {
	return fakeServer(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		var b []byte
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			f := strings.Fields(line)
			if len(f) < 2 || f[0] != "get" && f[0] != "gets" {
				if _, err := c.Write([]byte("ERROR\r\n")); err != nil {
					return
				}
				continue
			}
			b = b[:0]
			for _, key := range f[1:] {
				if !strings.HasSuffix(key, ":big") {
					b = fmt.Appendf(b, "VALUE %s 0 %d 1\r\n%s\r\n", key, len(key), key)
					continue
				}
				b = fmt.Appendf(b, "VALUE %s 0 %d 1\r\n", key, size)
				if _, err := c.Write(b); err != nil {
					return
				}
				if _, err := c.Write(data); err != nil || len(data) < size || end != "\r\n" {
					if len(data) == size {
						_, _ = c.Write([]byte(end))
					}
					b = nil
					break
				}
				b = append(b[:0], end...)
			}
			if b == nil {
				continue
			}
			if _, err := c.Write(append(b, "END\r\n"...)); err != nil {
				return
			}
		}
	})
}

// Regression: a value over this Store's MaxItemSize (stored by a process
// told a larger one) was refused by closing its connection: every read of
// it dialed anew, and a GetMany holding it failed its multi-get whole,
// after which the server's other keys were read with one get each (up to
// a round trip per key of a batch). The value is skipped now, unread and
// unallocated: its key is refused, the connection reused, and a GetMany
// reads every other key of the same reply, the ones after it included.
func TestValueOverMaxItemSizeIsSkipped(t *testing.T) {
	const big = DefaultMaxItemSize + 1000
	data := strings.Repeat("\r\nEND\r\nVALUE x 0 3 1\r\n", big/20+1)[:big] // reply lines, not looked at
	addr := bigValueServer(t, big, []byte(data), "\r\n")
	s := framedStore(t, addr)
	gc := countGets(s)
	ctx := context.Background()
	for i := range 2 * serverDownAfter {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := s.Get(ctx, "big")
		runtime.ReadMemStats(&after)
		require.ErrorIs(t, err, backend.ErrKeyRefused, "get %d", i)
		assert.NotErrorIs(t, err, backend.ErrNotFound, "get %d: not a miss", i)
		assert.Contains(t, err.Error(), "over Options.MaxItemSize", "get %d", i)
		assert.Contains(t, err.Error(), fmt.Sprintf(": %d bytes, over %d", big, DefaultMaxItemSize), "get %d: the size refused", i)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(256<<10), "get %d: bytes allocated", i)
	}
	v, err := s.Get(ctx, "small")
	require.NoError(t, err)
	assert.Equal(t, "fake:1:small", string(v))
	assert.Equal(t, int64(1), gc.dials.Load(), "dials: the connection is reused after each refusal")

	keys := []string{"a", "big", "b", "c"}
	gets := gc.gets.Load()
	vs, err := s.GetMany(ctx, keys)
	var gm *backend.GetManyError
	require.ErrorAs(t, err, &gm, "the values read, and the key refused")
	assert.ErrorIs(t, err, backend.ErrKeyRefused)
	assert.Equal(t, []int{1}, gm.Unread, "the big key's index")
	for i, k := range keys {
		if k != "big" {
			assert.Equal(t, "fake:1:"+k, string(vs[i]), "key %s", k)
		}
	}
	assert.Nil(t, vs[1])
	assert.Equal(t, int64(1), gc.gets.Load()-gets, "get requests of the GetMany: one round trip")
	assert.Equal(t, int64(1), gc.dials.Load(), "dials")
}

// A skipped value whose data does not all come within Options.Timeout
// refuses its key, as one too large to skip does: the server answered,
// and is not marked down for it (its other keys read); the connection,
// out of step, is closed. So does one whose data came whole but not the
// "\r\n" after it (which counted against the server: three such reads in
// a row marked it down).
func TestSkippedValueCutShortIsARefusal(t *testing.T) {
	const big = 2 << 20
	h := bytes.Repeat([]byte("h"), big)
	for name, server := range map[string]func() string{
		"data cut short":       func() string { return bigValueServer(t, big, h[:big/2], "\r\n") },
		"data without its end": func() string { return bigValueServer(t, big, h, "") },
		"data and its CR only": func() string { return bigValueServer(t, big, h, "\r") },
	} {
		t.Run(name, func(t *testing.T) { testSkippedValueCutShort(t, server()) })
	}
}

func testSkippedValueCutShort(t *testing.T, addr string) {
	s, err := New(Options{Servers: []string{addr}, Namespace: "fake", GenerationTTL: time.Hour, Timeout: 200 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	s.setGeneration(1, time.Now())
	gc := countGets(s)
	ctx := context.Background()
	for i := range serverDownAfter + 1 {
		_, err := s.Get(ctx, "big")
		require.ErrorIs(t, err, backend.ErrKeyRefused, "get %d", i)
		assert.Contains(t, err.Error(), "did not come within Options.Timeout", "get %d", i)
		var re *refusedError
		assert.False(t, errors.As(err, &re), "get %d: the server marked down: %v", i, err)
	}
	assert.Equal(t, int64(serverDownAfter+1), gc.dials.Load(), "dials: each connection closed")
	v, err := s.Get(ctx, "small")
	require.NoError(t, err, "the server's other keys")
	assert.Equal(t, "fake:1:small", string(v))
}

// Over two servers, a GetMany with a value over MaxItemSize on one reads
// every other key with one multi-get per server, the big key refused.
func TestValueOverMaxItemSizeIsSkippedTwoServers(t *testing.T) {
	const big = DefaultMaxItemSize + 1
	data := bytes.Repeat([]byte("b"), big)
	s, err := New(Options{
		Servers:   []string{bigValueServer(t, big, data, "\r\n"), bigValueServer(t, big, data, "\r\n")},
		Namespace: "fake", GenerationTTL: time.Hour, Timeout: 5 * time.Second,
	})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	s.setGeneration(1, time.Now())
	gc := countGets(s)
	keys := []string{"big"}
	for i := range 20 {
		keys = append(keys, fmt.Sprint("k", i))
	}
	for round := range 3 {
		vs, err := s.GetMany(context.Background(), keys)
		var gm *backend.GetManyError
		require.ErrorAs(t, err, &gm, "round %d", round)
		assert.ErrorIs(t, err, backend.ErrKeyRefused, "round %d", round)
		assert.Equal(t, []int{0}, gm.Unread, "round %d", round)
		for i, k := range keys[1:] {
			assert.Equal(t, "fake:1:"+k, string(vs[i+1]), "round %d: key %s", round, k)
		}
	}
	assert.Equal(t, int64(2*3), gc.gets.Load(), "get requests: one a server a GetMany")
	assert.Equal(t, int64(2), gc.dials.Load(), "dials: one a server")
}
