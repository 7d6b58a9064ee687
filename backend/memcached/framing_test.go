package memcached

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// framedStore returns a Store on the fake server at addr, its generation
// set, MaxItemSize 1 MiB, and a Timeout of 5s that no call here may wait
// out.
func framedStore(t *testing.T, addr string) *Store {
	t.Helper()
	s, err := New(Options{Servers: []string{addr}, Namespace: "fake", GenerationTTL: time.Hour, Timeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	s.setGeneration(1, time.Now())
	return s
}

// valueServer starts a fake server that answers a get (of one key or
// several) with reply(first key) and version with a VERSION line, and
// returns a framedStore on it and its dial count.
func valueServer(t *testing.T, reply func(key string) string) (*Store, func() int64) {
	t.Helper()
	addr := lateServer(t, func(f []string) (string, string) {
		switch {
		case len(f) >= 2 && (f[0] == "get" || f[0] == "gets"):
			return reply(f[1]), ""
		case len(f) == 1 && f[0] == "version":
			return "VERSION 1.6.0-fake\r\n", ""
		}
		return "ERROR\r\n", ""
	})
	s := framedStore(t, addr)
	return s, countDials(s).Load
}

// Regression: gomemcache allocates a get's value as its VALUE line
// declares it, make([]byte, size+2), before reading it: a broken or
// hostile server (or proxy) answering "VALUE k 0 4000000000" made the
// client allocate 4 GB with one line, and then wait Options.Timeout for
// data that never came. The read now fails at that line, at once, with
// errBadReply, allocating nothing of the sort; the connection is closed,
// not reused; the reply counts against the server's health.
func TestHugeValueLineFailsWithoutAllocating(t *testing.T) {
	for name, line := range map[string]string{
		"get":                       "VALUE %s 0 4000000000\r\n",
		"gets, its cas":             "VALUE %s 0 4000000000 17\r\n",
		"over any server's item":    "VALUE %s 0 1073741825 1\r\n",
		"past 2^64":                 "VALUE %s 0 99999999999999999999999 1\r\n",
		"a line without its end":    "VALUE %s 0 4 1" + strings.Repeat(" ", maxReplyLine),
		"a key with a control byte": "VALUE %s\x01 0 4 1\r\nabcd\r\nEND\r\n",
		"over MaxItemSize, two CRs": "VALUE k%.0s 0 0001048577\r\r\nEND\r\n", // a short key
	} {
		for _, many := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/GetMany=%v", name, many), func(t *testing.T) {
				s, dials := valueServer(t, func(key string) string { return fmt.Sprintf(line, key) })
				get := func() error {
					if many {
						_, err := s.GetMany(context.Background(), []string{"k", "k2"})
						return err
					}
					_, err := s.Get(context.Background(), "k")
					return err
				}
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				err := get()
				runtime.ReadMemStats(&after)
				require.Error(t, err)
				assert.ErrorIs(t, err, errBadReply)
				assert.False(t, timeout(err), "failed at the line, not by waiting out Timeout: %v", err)
				assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8<<20), "bytes allocated by the call")
				assert.Contains(t, err.Error(), "memcached: get 127.0.0.1:")
				assert.NotContains(t, err.Error(), ":k", "no key in the error")

				require.Error(t, get())
				assert.Equal(t, int64(2), dials(), "the connection was closed, not reused nor parked")
				s.conns.mu.Lock()
				parked := len(s.conns.spares)
				s.conns.mu.Unlock()
				assert.Zero(t, parked, "connections parked")
			})
		}
	}
}

// A server whose replies break the protocol fails as one that drops its
// connections does: after serverDownAfter in a row it is marked down,
// its keys refused without a dial.
func TestBrokenRepliesMarkTheServerDown(t *testing.T) {
	s, dials := valueServer(t, func(key string) string { return "VALUE " + key + " 0 4000000000\r\n" })
	for i := range serverDownAfter {
		_, err := s.Get(context.Background(), "k")
		require.ErrorIs(t, err, errBadReply, "get %d", i)
	}
	_, err := s.Get(context.Background(), "k")
	var re *refusedError
	require.ErrorAs(t, err, &re, "the server is marked down")
	assert.Contains(t, err.Error(), "breaks the protocol")
	assert.Equal(t, int64(serverDownAfter), dials())
}

// The framing does not look inside a value's data: a value holding reply
// lines (a VALUE line of 4 GB, END, bare newlines) reads back whole, from a
// fake server too (see TestValuesUpToMaxItemSizeReadBackWhole for
// memcached), and so does one of MaxItemSize exactly.
func TestValueDataHoldingReplyLinesReadsBack(t *testing.T) {
	for name, value := range map[string]string{
		"reply lines":      "\r\nVALUE k 0 4000000000\r\nEND\r\n\n\r\n",
		"MaxItemSize":      strings.Repeat("\r\nVALUE x 0 4000000000 1\r\n", DefaultMaxItemSize/26) + strings.Repeat("v", DefaultMaxItemSize%26),
		"empty":            "",
		"a bare newline":   "\n",
		"a carriage break": "\r",
	} {
		t.Run(name, func(t *testing.T) {
			s, _ := valueServer(t, func(key string) string {
				return fmt.Sprintf("VALUE %s 0 %d 1\r\n%s\r\nEND\r\n", key, len(value), value)
			})
			for i := range 3 { // on the same connection: the framing is back in step
				v, err := s.Get(context.Background(), "k")
				require.NoError(t, err, "get %d", i)
				assert.Equal(t, len(value), len(v), "get %d", i)
				assert.True(t, bytes.Equal([]byte(value), v), "get %d", i)
			}
		})
	}
}

// chunkConn is a connection whose reads return its chunks, one a read,
// then io.EOF.
type chunkConn struct {
	net.Conn
	chunks [][]byte
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	if c.chunks[0] = c.chunks[0][n:]; len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

// testToken is the token of the frames of TestReplyFrameSplits.
var testToken = [overItemLen]byte([]byte("<token over max>"))

// skippedAs is what the reader gets for the data of a value of size bytes
// that a frame of testToken skips: the token, and the size.
func skippedAs(size int) string { return fmt.Sprintf("%s%0*d", testToken[:], maxSizeDigits, size) }

// frameAll reads chunks through f, into a reader's buffer of size bytes
// (at least maxReplyLine, as gomemcache's), and returns what the reader
// got, and the first error other than io.EOF.
func frameAll(f *replyFrame, chunks [][]byte, size int) (string, error) {
	c := &chunkConn{chunks: chunks}
	var out []byte
	buf := make([]byte, size)
	for {
		n, _, err := f.read(c, buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return string(out), nil
		}
		if err != nil {
			return string(out), err
		}
	}
}

// replyFrame follows replies however the reads split them: each reply
// here is read in chunks of every size, and in two at every point, and
// the reader gets it as it came, but for the values over max, skipped:
// read as the token, and their keys refused.
func TestReplyFrameSplits(t *testing.T) {
	const max = 64
	data := strings.Repeat("d", max)
	over := strings.Repeat("\r\nEND\r\n", 20) // 140 bytes
	for name, c := range map[string]struct {
		reply   string
		out     string // what the reader gets, when not reply
		token   bool   // the frame skips values over max
		bad     bool
		refused bool // over max, no more than maxServerItem, not skipped: errOverItemSize
	}{
		"a miss":             {reply: "END\r\n"},
		"a value":            {reply: "VALUE k 0 5\r\nab\r\nd\r\nEND\r\n"},
		"a value with cas":   {reply: "VALUE k 7 64 123\r\n" + data + "\r\nEND\r\n"},
		"values":             {reply: "VALUE a 0 1 1\r\n\n\r\nVALUE b 0 0 2\r\n\r\nEND\r\nSTORED\r\n"},
		"a counter":          {reply: "12\r\nDELETED\r\nVERSION 1.6\r\n"},
		"an error":           {reply: "SERVER_ERROR out of memory\r\nEND\r\n"},
		"VALUE as no value":  {reply: "VALUED\r\nVALUE\r\n"},
		"over max":           {reply: "VALUE k 0 65\r\n", refused: true},
		"over max, with cas": {reply: "VALUE k 0 65 1\r\n", refused: true},
		"over max, two CRs": {
			reply: "VALUE k 0 65\r\r\n", out: "VALUE k 0 26\r\r\n", token: true, bad: true,
		},
		"over max, a CR then a space": {
			reply: "VALUE k 0 65\r 1\r\n", out: "VALUE k 0 26\r 1\r\n", token: true, bad: true,
		},
		"over max in 10 digits, two CRs": {
			reply: "VALUE k 0 0000000065\r\r\n", out: "VALUE k 0 26\r\r\n", token: true, bad: true,
		},
		"over any server's item":  {reply: "VALUE k 0 1073741825 1\r\n", bad: true},
		"a bare newline":          {reply: "END\r\n\n", bad: true},
		"a short line":            {reply: "CLIENT_ERROR \n", bad: true},
		"data without its CRLF":   {reply: "VALUE k 0 2\r\nabc\r\n", bad: true},
		"a size not a number":     {reply: "VALUE k 0 1x 1\r\n", bad: true},
		"a size of 11 digits":     {reply: "VALUE k 0 00000000001 1\r\nx\r\nEND\r\n", bad: true},
		"two spaces":              {reply: "VALUE k  0 1\r\n", bad: true},
		"no size":                 {reply: "VALUE k 0\r\n", bad: true},
		"a fifth number":          {reply: "VALUE k 0 1 1 1\r\n", bad: true},
		"a long line":             {reply: "SERVER_ERROR " + strings.Repeat("e", maxReplyLine) + "\r\n", bad: true},
		"a long line, no newline": {reply: "END" + strings.Repeat("e", maxReplyLine), bad: true},
		"a long VALUE line":       {reply: "VALUE " + strings.Repeat("k", maxReplyLine) + " 0 1\r\n", bad: true},
		"a key without end":       {reply: "VALUE " + strings.Repeat("k", maxReplyLine), bad: true},
		"a VALUE line of maxReplyLine, skipped": {
			reply: "VALUE " + strings.Repeat("k", maxReplyLine-14) + " 0 140\r\n" + over + "\r\nEND\r\n",
			out:   "VALUE " + strings.Repeat("k", maxReplyLine-14) + " 0 26\r\n" + skippedAs(140) + "\r\nEND\r\n", token: true,
		},
		"a VALUE line over maxReplyLine, its size last": {
			reply: "VALUE " + strings.Repeat("k", maxReplyLine-13) + " 0 140\r\n" + over + "\r\nEND\r\n",
			out:   "VALUE " + strings.Repeat("k", maxReplyLine-13) + " 0 26\r\n", token: true, bad: true,
		},

		"a value skipped": {
			reply: "VALUE k 3 140 9\r\n" + over + "\r\nEND\r\n",
			out:   "VALUE k 3 26 9\r\n" + skippedAs(140) + "\r\nEND\r\n", token: true,
		},
		"a value skipped, no cas": {
			reply: "VALUE k 3 1000\r\n" + strings.Repeat("x", 1000) + "\r\nEND\r\n",
			out:   "VALUE k 3 26\r\n" + skippedAs(1000) + "\r\nEND\r\n", token: true,
		},
		"values, one skipped": {
			reply: "VALUE a 0 1 1\r\nx\r\nVALUE big 0 140 2\r\n" + over + "\r\nVALUE b 0 64 3\r\n" + data + "\r\nEND\r\n",
			out:   "VALUE a 0 1 1\r\nx\r\nVALUE big 0 26 2\r\n" + skippedAs(140) + "\r\nVALUE b 0 64 3\r\n" + data + "\r\nEND\r\n", token: true,
		},
		"two skipped, then a miss": {
			reply: "VALUE a 0 65 1\r\n" + data + "a\r\nVALUE b 0 99999 2\r\n" + strings.Repeat("b", 99999) + "\r\nEND\r\nEND\r\n",
			out:   "VALUE a 0 26 1\r\n" + skippedAs(65) + "\r\nVALUE b 0 26 2\r\n" + skippedAs(99999) + "\r\nEND\r\nEND\r\n", token: true,
		},
		"a value of max, not skipped": {reply: "VALUE k 7 64 123\r\n" + data + "\r\nEND\r\n", token: true},
		"a skipped value's data without its CRLF": {
			reply: "VALUE k 0 140 1\r\n" + over + "x\r\nEND\r\n",
			out:   "VALUE k 0 26 1\r\n" + skippedAs(140), token: true, bad: true,
		},
		"a skipped value's data cut short": {reply: "VALUE k 0 140 1\r\n" + over[:100], token: true},
	} {
		t.Run(name, func(t *testing.T) {
			want := c.reply
			if c.out != "" {
				want = c.out
			}
			if name == "a skipped value's data cut short" {
				want = "VALUE k 0 26 1\r\n" + skippedAs(140)
			}
			check := func(chunks [][]byte, how string) {
				f := replyFrame{max: max}
				if c.token {
					f.token = &testToken
				}
				out, err := frameAll(&f, chunks, maxReplyLine)
				_, again := f.scan([]byte("END\r\n"))
				switch {
				case c.refused:
					require.ErrorIs(t, err, errOverItemSize, how)
					assert.NotErrorIs(t, err, errBadReply, how)
					assert.ErrorIs(t, again, errOverItemSize, "%s: a read after the error", how)
				case c.bad:
					require.ErrorIs(t, err, errBadReply, how)
					assert.ErrorIs(t, again, errBadReply, "%s: a read after the error", how)
				default:
					require.NoError(t, err, how)
					require.Equal(t, want, out, how)
					if name != "a skipped value's data cut short" {
						assert.NoError(t, again, how)
					}
				}
				if c.bad || c.refused {
					assert.True(t, strings.HasPrefix(want, out), "%s: what the reader got before the error: %.100q", how, out)
				}
			}
			r := []byte(c.reply)
			for size := 1; size <= len(r); size++ {
				if len(r) > 10000 && size > 2 && size != 4096 && size != len(r) {
					continue
				}
				var chunks [][]byte
				for p := r; len(p) > 0; p = p[min(size, len(p)):] {
					chunks = append(chunks, p[:min(size, len(p))])
				}
				check(chunks, fmt.Sprintf("chunks of %d", size))
			}
			for i := 1; i < len(r) && len(r) < 1000; i++ {
				check([][]byte{r[:i], r[i:]}, fmt.Sprintf("split at %d", i))
			}
		})
	}
}

// The values skipped in a reply are bounded by maxSkipped: a value over
// max past it fails the read, as one not skipped does, and a line that
// is not a VALUE line starts the count again.
func TestReplyFrameSkipsUpToMaxSkipped(t *testing.T) {
	half := maxSkipped / 2
	value := fmt.Sprintf("VALUE k 0 %d 1\r\n%s\r\n", half, strings.Repeat("v", half))
	chunks := func(s string) [][]byte {
		var c [][]byte
		for p := []byte(s); len(p) > 0; p = p[min(4096, len(p)):] {
			c = append(c, p[:min(4096, len(p))])
		}
		return c
	}
	f := replyFrame{max: DefaultMaxItemSize, token: &testToken}
	out, err := frameAll(&f, chunks(value+value+"END\r\n"+value+"END\r\n"), maxReplyLine)
	require.NoError(t, err)
	read := "VALUE k 0 26 1\r\n" + skippedAs(half) + "\r\n"
	assert.Equal(t, read+read+"END\r\n"+read+"END\r\n", out)

	f = replyFrame{max: DefaultMaxItemSize, token: &testToken}
	out, err = frameAll(&f, chunks(value+value+"VALUE k 0 1048577 1\r\n"), maxReplyLine)
	require.ErrorIs(t, err, errOverItemSize)
	assert.NotErrorIs(t, err, errBadReply)
	assert.Equal(t, strings.TrimSuffix(read+read, "\r\n"), strings.TrimSuffix(out, "\r\n"), "the values skipped before")
}

// Values up to Options.MaxItemSize (with the key and item overhead) read
// back whole from memcached, alone and together in multi-gets over both
// servers, their data full of reply lines ("\r\nVALUE ... 4000000000\r\n",
// "\r\nEND\r\n") that the framing must not look at, and of sizes around
// gomemcache's 4 KiB read buffer.
func TestValuesUpToMaxItemSizeReadBackWhole(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	s, err := New(Options{Servers: addrs, Namespace: namespaceFor("frame"), MaxItemSize: 2 << 20, Timeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	pattern := []byte("\r\nVALUE k 0 4000000000 1\r\nEND\r\n\n")
	fill := func(n int) []byte {
		v := make([]byte, n)
		for i := range v {
			v[i] = pattern[i%len(pattern)]
		}
		return v
	}
	mk, err := s.key(context.Background(), "big")
	require.NoError(t, err)
	largest := s.opts.MaxItemSize - len(mk) - itemOverhead
	sizes := map[string]int{"empty": 0, "1": 1, "2": 2, "4094": 4094, "4095": 4095, "4096": 4096, "4097": 4097, "65539": 65539, "big": largest}
	keys := make([]string, 0, len(sizes))
	for k, n := range sizes {
		require.NoError(t, s.Set(ctx, k, fill(n), time.Minute), "set %s", k)
		keys = append(keys, k)
	}
	t.Cleanup(func() { _, _ = s.DeleteCount(context.Background(), keys...) })
	for k, n := range sizes {
		v, err := s.Get(ctx, k)
		require.NoError(t, err, "get %s", k)
		assert.True(t, bytes.Equal(fill(n), v), "get %s: %d bytes read back", k, len(v))
	}
	for round := range 3 {
		vs, err := s.GetMany(ctx, append(keys, "missing"))
		require.NoError(t, err, "round %d", round)
		for i, k := range keys {
			assert.True(t, bytes.Equal(fill(sizes[k]), vs[i]), "round %d: %s: %d bytes read back", round, k, len(vs[i]))
		}
		assert.Nil(t, vs[len(keys)], "the missing key")
	}
	_, err = s.Get(ctx, "big")
	require.NoError(t, err)
	err = s.Set(ctx, "over", fill(largest+1), time.Minute)
	require.ErrorIs(t, err, backend.ErrValueTooLarge, "one byte more is refused by Set")
}

// BenchmarkReplyFrame measures what the framing adds to a request and its
// reply: the get written (its keys noted), and a hit's reply of one value
// (BenchmarkGet's), of ten (BenchmarkGetMany10's), and a miss, each in one
// read, as gomemcache's 4 KiB reader gets them.
func BenchmarkReplyFrame(b *testing.B) {
	const prefix = "caching:1764950000000000000:"
	value := func(key string, n int) string {
		return fmt.Sprintf("VALUE %s%s 0 %d 1234567\r\n%s\r\n", prefix, key, n, strings.Repeat("v", n))
	}
	many, manyGet := "", "gets"
	for i := range 10 {
		many += value(fmt.Sprint("k", i), 256)
		manyGet += fmt.Sprint(" ", prefix, "k", i)
	}
	for name, tc := range map[string]struct{ get, reply string }{
		"reply=get-1KiB":       {"gets " + prefix + "k\r\n", value("k", 1024) + "END\r\n"},
		"reply=getmany-10x256": {manyGet + "\r\n", many + "END\r\n"},
		"reply=miss":           {"gets " + prefix + "k\r\n", "END\r\n"},
	} {
		b.Run(name, func(b *testing.B) {
			get, p := []byte(tc.get), []byte(tc.reply)
			f := replyFrame{max: DefaultMaxItemSize}
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			for b.Loop() {
				f.ask(get)
				if _, err := f.scan(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Regression: gomemcache keeps every value of a multi-get's reply, those
// of keys never asked for too, and extends its read deadline before each:
// a server sending values without end grew a GetMany's memory without
// bound (and held a Get). A reply of more values than a request of the
// Store asks for (maxReplyValues) now fails at the value past it.
func TestReplyOfEndlessValuesFails(t *testing.T) {
	var reply bytes.Buffer
	for i := range 200_000 {
		fmt.Fprintf(&reply, "VALUE x%d 0 10 1\r\n0123456789\r\n", i)
	}
	reply.WriteString("VALUE fake:1:k 0 1 1\r\nv\r\nEND\r\n")
	addr := fakeServer(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			if _, err := c.Write(reply.Bytes()); err != nil {
				return
			}
		}
	})
	s := framedStore(t, addr)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := s.GetMany(context.Background(), []string{"k", "k2"})
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, errBadReply)
	assert.Contains(t, err.Error(), "a reply of more values than the 2 keys its get asked for")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8<<20), "bytes allocated by the call")
}

// Regression: a get's reply was bounded to maxReplyValues values, however
// few keys it asked for: a server answering a get of one key with values
// of keys never asked for, up to 1000 of them, each up to MaxItemSize,
// made gomemcache allocate them all (a GetMany kept them: up to 1 GiB at
// the defaults). A reply now holds no more values than its get asked for
// keys: the read fails at the first value past them.
func TestReplyOfValuesNotAskedForFails(t *testing.T) {
	value := strings.Repeat("v", 64<<10)
	var reply strings.Builder
	for i := range 200 {
		fmt.Fprintf(&reply, "VALUE x%d 0 %d 1\r\n%s\r\n", i, len(value), value)
	}
	reply.WriteString("VALUE fake:1:k 0 1 1\r\nv\r\nEND\r\n")
	b := []byte(reply.String()) // written as it is: the calls' allocations are the client's
	s := framedStore(t, fakeServer(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			if _, err := c.Write(b); err != nil {
				return
			}
		}
	}))
	for name, call := range map[string]func() error{
		"Get":     func() error { _, err := s.Get(context.Background(), "k"); return err },
		"GetMany": func() error { _, err := s.GetMany(context.Background(), []string{"k"}); return err },
	} {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := call()
			runtime.ReadMemStats(&after)
			require.ErrorIs(t, err, errBadReply)
			assert.Contains(t, err.Error(), "a reply of more values than the 1 keys its get asked for")
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated by the call")
		})
	}
}

// A GetMany batch of maxReplyValues keys, every one a hit, reads whole.
func TestReplyOfAFullBatchReads(t *testing.T) {
	s := framedStore(t, lateServer(t, func(f []string) (string, string) {
		var b strings.Builder
		for _, k := range f[1:] {
			fmt.Fprintf(&b, "VALUE %s 0 %d 1\r\n%s\r\n", k, len(k), k)
		}
		return b.String() + "END\r\n", ""
	}))
	keys := make([]string, maxReplyValues)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
	}
	vs, err := s.GetMany(context.Background(), keys)
	require.NoError(t, err)
	for i, v := range vs {
		require.Equal(t, "fake:1:"+keys[i], string(v), "key %d", i)
	}
}

// A value over this Store's MaxItemSize that a server may hold (stored by
// a process told a larger MaxItemSize) failed its read as a broken reply,
// a failure of the server: three such reads in a row marked a server that
// answers every other key down, every key of it refused for a cool-down.
// It is a refusal of its key now (backend.ErrKeyRefused), read without
// allocating its size; the server stays up, its other keys read, and a
// GetMany returns them.
func TestValueOverMaxItemSizeRefusesItsKeyOnly(t *testing.T) {
	// The data of the big value never comes: its line alone must fail
	// the read (gomemcache allocated the 500 MB it declares, and waited
	// for them); 500 MB is over maxSkipped, not skipped.
	addr := lateServer(t, func(f []string) (string, string) {
		if len(f) < 2 || f[0] != "get" && f[0] != "gets" {
			return "ERROR\r\n", ""
		}
		var b strings.Builder
		for _, key := range f[1:] {
			if strings.HasSuffix(key, ":big") {
				fmt.Fprintf(&b, "VALUE %s 0 500000000 1\r\n", key)
				return b.String(), ""
			}
			fmt.Fprintf(&b, "VALUE %s 0 2 1\r\nok\r\n", key)
		}
		return b.String() + "END\r\n", ""
	})
	s := framedStore(t, addr)
	dials := countDials(s).Load
	ctx := context.Background()
	for i := range 2 * serverDownAfter {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := s.Get(ctx, "big")
		runtime.ReadMemStats(&after)
		require.Error(t, err, "get %d", i)
		assert.ErrorIs(t, err, backend.ErrKeyRefused, "get %d", i)
		assert.NotErrorIs(t, err, errBadReply, "get %d", i)
		var re *refusedError
		assert.False(t, errors.As(err, &re), "get %d: the server marked down: %v", i, err)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(512<<10), "get %d: bytes allocated", i)
	}
	v, err := s.Get(ctx, "small")
	require.NoError(t, err, "the server's other keys")
	assert.Equal(t, "ok", string(v))
	n := dials()
	vs, err := s.GetMany(ctx, []string{"small", "big", "other"})
	var gm *backend.GetManyError
	require.ErrorAs(t, err, &gm, "the values read, and the key refused")
	assert.ErrorIs(t, err, backend.ErrKeyRefused)
	assert.Equal(t, []int{1}, gm.Unread, "the big key's index")
	assert.Equal(t, "ok", string(vs[0]))
	assert.Nil(t, vs[1])
	assert.Equal(t, "ok", string(vs[2]))
	assert.LessOrEqual(t, dials()-n, int64(3), "dials of the GetMany")
}

// On memcached: a value another process stored with a larger
// MaxItemSize (the servers' -I) is refused for its key by a Store told a
// smaller one, which goes on reading the server's other keys: the value
// is skipped, on the same connection each time, and a GetMany reads the
// other keys in one round trip.
func TestValueOverMaxItemSizeFromAnotherProcess(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	ns := namespaceFor("overitem")
	writer, err := New(Options{Servers: addrs[:1], Namespace: ns, MaxItemSize: 2 << 20, Timeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { writer.Close() })
	reader, err := New(Options{Servers: addrs[:1], Namespace: ns, Timeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { reader.Close() })
	gc := countGets(reader)
	ctx := context.Background()
	keys := []string{"k0", "small", "big", "k2", "k3"}
	for _, k := range keys {
		v := []byte("value of " + k)
		if k == "big" {
			v = bytes.Repeat([]byte("b"), 3<<19)
		}
		require.NoError(t, writer.Set(ctx, k, v, time.Minute), "set %s (memcached run with -I 2m or more)", k)
	}
	t.Cleanup(func() { _, _ = writer.DeleteCount(context.Background(), keys...) })
	v, err := reader.Get(ctx, "small") // reads the generation, on the one connection
	require.NoError(t, err, "the server is up for the reader")
	assert.Equal(t, "value of small", string(v))
	dials := gc.dials.Load()
	for i := range 2 * serverDownAfter {
		_, err := reader.Get(ctx, "big")
		require.ErrorIs(t, err, backend.ErrKeyRefused, "get %d", i)
		assert.Contains(t, err.Error(), fmt.Sprintf(": %d bytes, over %d", 3<<19, DefaultMaxItemSize), "get %d: the size refused", i)
	}
	assert.Equal(t, dials, gc.dials.Load(), "dials of the gets of the big key")
	gets := gc.gets.Load()
	vs, err := reader.GetMany(ctx, keys)
	var gm *backend.GetManyError
	require.ErrorAs(t, err, &gm)
	assert.ErrorIs(t, err, backend.ErrKeyRefused)
	assert.Equal(t, []int{2}, gm.Unread)
	for i, k := range keys {
		if k != "big" {
			assert.Equal(t, "value of "+k, string(vs[i]), "key %s", k)
		}
	}
	assert.Equal(t, int64(1), gc.gets.Load()-gets, "get requests of the GetMany")
	assert.Equal(t, dials, gc.dials.Load(), "dials of the GetMany")
	v, err = writer.Get(ctx, "big")
	require.NoError(t, err, "the writer reads it")
	assert.Len(t, v, 3<<19)
}

// A reply line longer than gomemcache's 4 KiB read buffer failed there
// ("bufio: buffer full"), an error that did not count against the
// server, whatever the framing's own bound (then 8 KiB): the framing's
// bound is that buffer now, and such a line is a broken reply.
func TestReplyLineOverReadBufferIsABrokenReply(t *testing.T) {
	s, _ := valueServer(t, func(string) string { return "SERVER_ERROR " + strings.Repeat("e", 5000) + "\r\n" })
	_, err := s.Get(context.Background(), "k")
	require.ErrorIs(t, err, errBadReply)
	assert.Contains(t, err.Error(), "a reply line of over 4096 bytes")
}

// Random replies of values (some over max, skipped), data full of reply
// lines, and other lines, read in random chunks: the reader gets each as
// it came, but for the skipped values, read as the token.
func TestReplyFrameRandomSplits(t *testing.T) {
	const max = 64
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("VALUE END\r\n0123456789x")
	for round := range 2000 {
		var reply, want strings.Builder
		for range 1 + rng.IntN(6) {
			switch rng.IntN(4) {
			case 0:
				line := []string{"END\r\n", "STORED\r\n", "SERVER_ERROR busy\r\n", "VALUED\r\n"}[rng.IntN(4)]
				reply.WriteString(line)
				want.WriteString(line)
				continue
			}
			size := rng.IntN(2 * max)
			if rng.IntN(3) == 0 {
				size = max + 1 + rng.IntN(3*max)
			}
			data := make([]byte, size)
			for i := range data {
				data[i] = alphabet[rng.IntN(len(alphabet))]
			}
			key, flags, cas := fmt.Sprint("k", rng.IntN(1000)), fmt.Sprint(rng.IntN(70000)), ""
			if rng.IntN(2) == 0 {
				cas = fmt.Sprint(" ", rng.Uint64())
			}
			fmt.Fprintf(&reply, "VALUE %s %s %d%s\r\n%s\r\n", key, flags, size, cas, data)
			if size > max {
				fmt.Fprintf(&want, "VALUE %s %s %d%s\r\n%s\r\n", key, flags, overItemRead, cas, skippedAs(size))
			} else {
				fmt.Fprintf(&want, "VALUE %s %s %d%s\r\n%s\r\n", key, flags, size, cas, data)
			}
		}
		r := []byte(reply.String())
		var chunks [][]byte
		for len(r) > 0 {
			n := min(len(r), 1+rng.IntN(1+rng.IntN(40)))
			chunks = append(chunks, r[:n])
			r = r[n:]
		}
		f := replyFrame{max: max, token: &testToken}
		out, err := frameAll(&f, chunks, maxReplyLine)
		require.NoError(t, err, "round %d", round)
		require.Equal(t, want.String(), out, "round %d", round)
		require.Equal(t, frameLine, f.state, "round %d", round)
		require.Zero(t, f.held, "round %d", round)
	}
}

// A skipped value's data, and the "\r\n" after it, are within the skip
// (healthConn.Read refuses the key of a value whose skip did not end
// within Timeout); a value not skipped after it is not.
func TestReplyFrameSkippingEndsAfterTheCRLF(t *testing.T) {
	skipped := "VALUE a 0 65 1\r\n" + strings.Repeat("a", 65)
	for reply, want := range map[string]bool{
		"VALUE a 0 65 1\r\n":                      true, // its line read, no data yet
		"VALUE a 0 65 1\r\naaa":                   true,
		skipped:                                   true,
		skipped + "\r":                            true,
		skipped + "\r\n":                          false,
		skipped + "\r\nVALUE b 0 2 1\r\n":         false,
		skipped + "\r\nVALUE b 0 2 1\r\nab":       false,
		skipped + "\r\nVALUE b 0 2 1\r\nab\r":     false,
		skipped + "\r\nVALUE c 0 65 1\r\n" + "cc": true,
	} {
		f := replyFrame{max: 64, token: &testToken}
		_, err := frameAll(&f, [][]byte{[]byte(reply)}, maxReplyLine)
		require.NoError(t, err, "%q", reply)
		assert.Equal(t, want, f.skipping(), "after %q", reply)
	}
}
