package memcached

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// scriptConn is a connection to a scripted server: each request written
// (gomemcache writes each in one write) queues answer's reply, cut into
// chunks by split; each read returns the next chunk, and a read with none
// queued times out at once.
type scriptConn struct {
	chunkConn
	answer func(req string) string
	split  func(reply []byte) [][]byte
}

func (c *scriptConn) Write(p []byte) (int, error) {
	c.chunks = append(c.chunks, c.split([]byte(c.answer(string(p))))...)
	return len(p), nil
}

func (c *scriptConn) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, os.ErrDeadlineExceeded
	}
	return c.chunkConn.Read(p)
}

func (c *scriptConn) Close() error                     { return nil }
func (c *scriptConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *scriptConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// scriptStore returns a Store as framedStore does, but for its MaxItemSize
// of 1 KiB, whose connections are scriptConns of answer, the split of
// their replies, which a test may change between calls, and its dial
// count.
func scriptStore(t *testing.T, answer func(req string) string) (*Store, *func([]byte) [][]byte, *int) {
	t.Helper()
	return scriptStoreMax(t, 1024, answer)
}

// scriptStoreMax is scriptStore with a MaxItemSize of max.
func scriptStoreMax(t *testing.T, max int, answer func(req string) string) (*Store, *func([]byte) [][]byte, *int) {
	t.Helper()
	s, err := New(Options{Servers: []string{"127.0.0.1:1"}, Namespace: "fake", GenerationTTL: time.Hour, Timeout: 5 * time.Second, MaxItemSize: max})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	s.setGeneration(1, time.Now())
	split := func(b []byte) [][]byte { return [][]byte{b} }
	dials := 0
	s.dial = func(context.Context, string, string) (net.Conn, error) {
		dials++
		return &scriptConn{answer: answer, split: func(b []byte) [][]byte { return split(b) }}, nil
	}
	return s, &split, &dials
}

// chunksOf returns b cut into chunks of size bytes, the last shorter.
func chunksOf(b []byte, size int) [][]byte {
	var c [][]byte
	for p := b; len(p) > 0; p = p[min(size, len(p)):] {
		c = append(c, p[:min(size, len(p))])
	}
	return c
}

// splits returns every split of a reply of n bytes to try: chunks of each
// size, and two chunks cut at each byte.
func splits(n int) map[string]func([]byte) [][]byte {
	m := make(map[string]func([]byte) [][]byte)
	for size := 1; size <= n; size++ {
		m[fmt.Sprint("chunks of ", size)] = func(b []byte) [][]byte { return chunksOf(b, size) }
	}
	for i := 1; i < n; i++ {
		m[fmt.Sprint("cut at ", i)] = func(b []byte) [][]byte {
			return [][]byte{b[:min(i, len(b))], b[min(i, len(b)):]}
		}
	}
	return m
}

// A Get of a value over MaxItemSize, its VALUE line in each shape a server
// may write, the reply split over reads at every byte of its line and
// data's start, read through gomemcache's own reader (whose reads into its
// 4 KiB buffer are shorter than it while it holds a line's start): the
// key is refused, never read as the token, a miss or another value (its
// data is full of reply lines), and the next Get on the same connection
// reads its own value.
func TestSkippedValueThroughGomemcacheAtEverySplit(t *testing.T) {
	const big = 2000
	evil := "\r\nEND\r\nVALUE fake:1:k 0 5 1\r\nevil!\r\nEND\r\n"
	data := strings.Repeat(evil, big/len(evil)+1)[:big]
	for name, line := range map[string]string{
		"cas":           "VALUE fake:1:k 0 %d 77\r\n",
		"no cas":        "VALUE fake:1:k 0 %d\r\n",
		"leading zeros": "VALUE fake:1:k 0 000%d 77\r\n",
		"flags 2^32-1":  "VALUE fake:1:k 4294967295 %d 18446744073709551615\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			reply := fmt.Sprintf(line, big) + data + "\r\nEND\r\n"
			s, split, dials := scriptStore(t, func(req string) string {
				if strings.Contains(req, "fake:1:k2") {
					return "VALUE fake:1:k2 0 2 1\r\nok\r\nEND\r\n"
				}
				return reply
			})
			head := len(reply) - len(data) - len("\r\nEND\r\n")
			for how, sp := range splits(head + 40) {
				*split = sp
				_, err := s.Get(context.Background(), "k")
				require.ErrorIs(t, err, backend.ErrKeyRefused, how)
				require.ErrorIs(t, err, errOverItemSize, how)
				*split = func(b []byte) [][]byte { return [][]byte{b} }
				v, err := s.Get(context.Background(), "k2")
				require.NoError(t, err, how)
				require.Equal(t, "ok", string(v), how)
			}
			assert.Equal(t, 1, *dials)
		})
	}
}

// A GetMany whose reply holds, between two keys asked, a value over
// MaxItemSize of a key not asked whose VALUE line is maxReplyLine bytes
// long (the reader's buffer all but full when the size's digits come),
// split at each of the 30 bytes before its end: the reply is read whole,
// and fails for that value (see getMulti); a line one byte longer fails
// the read, and no key reads another value.
func TestSkippedValueOfAFullLineThroughGomemcache(t *testing.T) {
	const big = 2000
	data := strings.Repeat("x", big)
	for _, extra := range []int{0, 1} {
		longKey := strings.Repeat("L", maxReplyLine-len("VALUE  0 2000 1\r\n")+extra)
		long := fmt.Sprintf("VALUE %s 0 %d 1\r\n", longKey, big)
		reply := "VALUE fake:1:a 0 1 1\r\nA\r\n" + long + data + "\r\nVALUE fake:1:b 0 1 1\r\nB\r\nEND\r\n"
		s, split, _ := scriptStore(t, func(string) string { return reply })
		at := strings.Index(reply, long) + len(long) - 30
		for i := at; i < at+30; i++ {
			for _, first := range []int{1, 7, 4096, i} {
				*split = func(b []byte) [][]byte {
					if len(b) < i {
						return [][]byte{b}
					}
					return [][]byte{b[:min(first, i)], b[min(first, i):i], b[i:]}
				}
				how := fmt.Sprintf("line of %d: first %d, cut at %d", len(long), first, i)
				vs, err := s.GetMany(context.Background(), []string{"a", "b", "c"}) // as many keys as values
				if extra > 0 {
					require.Error(t, err, how)
					for _, v := range vs {
						if v != nil {
							require.Contains(t, []string{"A", "B"}, string(v), how)
						}
					}
					continue
				}
				// Read whole (a break in its framing fails otherwise), the
				// reply fails for its value of a key not asked.
				require.ErrorIs(t, err, errOtherKey, how)
				require.Nil(t, vs, how)
			}
		}
	}
}

// GetManys of random replies (values of the keys asked and others, a third
// over MaxItemSize, sizes with leading zeros, cas or not, data full of
// reply lines) in random splits, on one connection through gomemcache's
// reader: each key asked reads the last value the reply holds for it, or
// is refused when that is over MaxItemSize.
func TestSkippedValuesInRandomGetManys(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("VALUE END\r\n0123456789x")
	var reply string
	s, split, dials := scriptStore(t, func(string) string { return reply })
	keys := []string{"k0", "k1", "k2", "k3", "k4", "k5"}
	wantDials, closed := 1, false // a reply naming a key not asked closes the connection
	for round := range 3000 {
		var b strings.Builder
		want := map[string]string{}
		for range 1 + rng.IntN(len(keys)) { // no more values than keys asked
			key := fmt.Sprint("k", rng.IntN(8)) // k6, k7 not asked
			size := rng.IntN(1100)
			if rng.IntN(3) == 0 {
				size = 1025 + rng.IntN(5000)
			}
			data := make([]byte, size)
			for i := range data {
				data[i] = alphabet[rng.IntN(len(alphabet))]
			}
			sz := fmt.Sprint(size)
			if rng.IntN(4) == 0 {
				sz = strings.Repeat("0", 10-len(sz)) + sz
			}
			cas := ""
			if rng.IntN(2) == 0 {
				cas = fmt.Sprint(" ", rng.Uint64())
			}
			fmt.Fprintf(&b, "VALUE fake:1:%s %d %s%s\r\n%s\r\n", key, rng.Uint32(), sz, cas, data)
			if size > 1024 {
				want[key] = "refused"
			} else {
				want[key] = string(data)
			}
		}
		b.WriteString("END\r\n")
		reply = b.String()
		*split = func(r []byte) [][]byte {
			var c [][]byte
			for len(r) > 0 {
				n := min(len(r), 1+rng.IntN(1+rng.IntN(64)))
				c = append(c, r[:n])
				r = r[n:]
			}
			return c
		}
		vs, err := s.GetMany(context.Background(), keys)
		if closed { // the last round's reply named a key not asked
			wantDials++
			closed = false
		}
		_, k6 := want["k6"]
		if _, k7 := want["k7"]; k6 || k7 {
			require.ErrorIs(t, err, errOtherKey, "round %d", round)
			require.Nil(t, vs, "round %d", round)
			closed = true
			continue
		}
		var unread []int
		if err != nil {
			var gm *backend.GetManyError
			require.ErrorAs(t, err, &gm, "round %d", round)
			require.ErrorIs(t, err, backend.ErrKeyRefused, "round %d", round)
			unread = gm.Unread
		}
		var wantUnread []int
		for i, k := range keys {
			w, ok := want[k]
			switch {
			case !ok:
				require.Nil(t, vs[i], "round %d key %s", round, k)
			case w == "refused":
				require.Nil(t, vs[i], "round %d key %s", round, k)
				wantUnread = append(wantUnread, i)
			default:
				require.Equal(t, w, string(vs[i]), "round %d key %s", round, k)
			}
		}
		require.Equal(t, wantUnread, unread, "round %d", round)
	}
	assert.Equal(t, wantDials, *dials)
}
