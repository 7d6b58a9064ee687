package memcached

import (
	"bufio"
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// getsServer starts a fake server (see fakeServer) that serves as
// serveGets(answer) does.
func getsServer(t *testing.T, answer func(conn int64, keys []string) string) string {
	return fakeServer(t, serveGets(answer))
}

// serveGets returns a fake server's serve that answers each get its nth
// connection (from 1) is sent with answer(n, its keys), and any other
// request with ERROR.
func serveGets(answer func(conn int64, keys []string) string) func(net.Conn) {
	var conns atomic.Int64
	return func(c net.Conn) {
		n := conns.Add(1)
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			out := "ERROR\r\n"
			if f := strings.Fields(line); len(f) >= 2 && (f[0] == "get" || f[0] == "gets") {
				out = answer(n, f[1:])
			}
			if _, err := c.Write([]byte(out)); err != nil {
				return
			}
		}
	}
}

// valuesOf is the reply to a get that holds the values of keys, each
// key's value the key itself.
func valuesOf(keys []string) string {
	out := ""
	for _, k := range keys {
		out += strings.TrimSuffix(valueLine(k), "END\r\n")
	}
	return out + "END\r\n"
}

// behindServer starts a fake server whose first connection is out of step
// with its replies: it answers its first get with the value of a key not
// asked (the reply to an earlier get), and every get after it with the
// values its keys had then ("stale"). Other connections answer honestly,
// each key's value the key itself. behindGets counts the gets the first
// connection is sent.
func behindServer(t *testing.T) (addr string, behindGets *atomic.Int64) {
	behindGets = new(atomic.Int64)
	addr = getsServer(t, func(conn int64, keys []string) string {
		if conn == 1 && behindGets.Add(1) == 1 {
			return "VALUE fake:1:other 0 1 1\r\n7\r\nEND\r\n"
		}
		out := ""
		for _, k := range keys {
			v := k
			if conn == 1 {
				v = "stale"
			}
			out += "VALUE " + k + " 0 " + strconv.Itoa(len(v)) + " 1\r\n" + v + "\r\n"
		}
		return out + "END\r\n"
	})
	return addr, behindGets
}

// Regression: a get whose reply named a key not asked (a connection out
// of step with its replies) left that connection in gomemcache's pool
// until the Store closed the idle connections, after gomemcache had put it
// back: a call that took it in between (here, the next one: the Store's
// own check and close skipped) read the reply to an earlier get, and a
// Get or GetMany returned those stale values as the keys' own. The
// connection now writes no request again, and the call goes on another.
func TestOutOfStepConnectionIsNotUsedAgain(t *testing.T) {
	ctx := context.Background()
	t.Run("get", func(t *testing.T) {
		addr, behindGets := behindServer(t)
		s, dials := fakeStore(t, addr)
		it, err := s.client.Get(s.mustKey(t, "a")) // the window: back in the pool
		require.NoError(t, err)
		require.Equal(t, "fake:1:other", it.Key, "set-up: the reply of a key not asked")
		v, err := s.Get(ctx, "b")
		require.NoError(t, err)
		assert.Equal(t, s.mustKey(t, "b"), string(v), "Get's value, read on the connection out of step")
		assert.Equal(t, int64(1), behindGets.Load(), "gets sent on the connection out of step")
		assert.Equal(t, int64(2), dials(), "dials")
	})
	t.Run("getmany", func(t *testing.T) {
		addr, behindGets := behindServer(t)
		s, dials := fakeStore(t, addr)
		m, err := s.client.GetMulti([]string{s.mustKey(t, "a"), s.mustKey(t, "b")})
		require.NoError(t, err)
		require.Contains(t, m, "fake:1:other", "set-up: the reply of a key not asked")
		vals, err := s.GetMany(ctx, []string{"c", "d"})
		require.NoError(t, err)
		require.Len(t, vals, 2)
		assert.Equal(t, []string{s.mustKey(t, "c"), s.mustKey(t, "d")}, []string{string(vals[0]), string(vals[1])},
			"GetMany's values, read on the connection out of step")
		assert.Equal(t, int64(1), behindGets.Load(), "gets sent on the connection out of step")
		assert.Equal(t, int64(2), dials(), "dials")
	})
}

// The check of a reply's keys (replyFrame.askedFor) takes a multi-get's
// values in any order, misses left out, a key asked twice answered twice:
// the connection stays in step, and is used again.
func TestReplyKeysInAnyOrderKeepTheConnection(t *testing.T) {
	for _, tc := range []struct {
		name  string
		keys  []string
		order func(keys []string) []string // the keys the reply has values of
	}{
		{"in order, misses left out", []string{"a", "b", "c", "d", "e"}, func(k []string) []string {
			return []string{k[0], k[2], k[4]}
		}},
		{"reversed", []string{"a", "b", "c", "d", "e"}, func(k []string) []string {
			r := slices.Clone(k)
			slices.Reverse(r)
			return r
		}},
		{"shuffled, misses left out", []string{"a", "b", "c", "d", "e"}, func(k []string) []string {
			return []string{k[3], k[1], k[4], k[0]}
		}},
		{"a key asked twice", []string{"a", "b", "a"}, func(k []string) []string { return k }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := getsServer(t, func(_ int64, keys []string) string { return valuesOf(tc.order(keys)) })
			s, dials := fakeStore(t, addr)
			mkeys := make([]string, len(tc.keys))
			for i, k := range tc.keys {
				mkeys[i] = s.mustKey(t, k)
			}
			hit := tc.order(mkeys)
			for range 2 {
				vals, err := s.GetMany(context.Background(), tc.keys)
				require.NoError(t, err)
				require.Len(t, vals, len(tc.keys))
				for i, k := range mkeys {
					if slices.Contains(hit, k) {
						assert.Equal(t, k, string(vals[i]), "key %s", k)
					} else {
						assert.Nil(t, vals[i], "key %s, a miss", k)
					}
				}
			}
			assert.Equal(t, int64(1), dials(), "dials: a connection was taken for out of step")
		})
	}
}

// A VALUE line's key is checked against the keys of the get it answers
// whatever the reads it comes in (one byte each here): replyFrame.stray
// is set by a key not asked only, one longer than any key included.
func TestReplyFrameStrayKeySplitOverReads(t *testing.T) {
	long := strings.Repeat("k", maxKeyLen)
	for _, tc := range []struct {
		name, get, reply string
		stray            bool
	}{
		{"asked", "gets ka kb kc\r\n", "VALUE kc 0 1\r\nv\r\nVALUE ka 0 1\r\nv\r\nEND\r\n", false},
		{"a key asked's start", "gets kab\r\n", "VALUE ka 0 1\r\nv\r\nEND\r\n", true},
		{"a key asked and more", "gets ka\r\n", "VALUE kab 0 1\r\nv\r\nEND\r\n", true},
		{"not asked, after an asked", "get ka kb\r\n", "VALUE ka 0 1\r\nv\r\nVALUE kc 0 1\r\nv\r\nEND\r\n", true},
		{"the longest key", "gets " + long + "\r\n", "VALUE " + long + " 0 1\r\nv\r\nEND\r\n", false},
		{"longer than any key", "gets " + long + "\r\n", "VALUE " + long + "k 0 1\r\nv\r\nEND\r\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := replyFrame{max: DefaultMaxItemSize}
			f.ask([]byte(tc.get))
			for i := range len(tc.reply) {
				// As read gives them: the size's digits held first.
				p := append(slices.Clone(f.hold[:f.held]), tc.reply[i])
				f.held = 0
				_, err := f.scan(p)
				require.NoError(t, err, "byte %d", i)
			}
			assert.Equal(t, tc.stray, f.stray, "stray")
		})
	}
}
