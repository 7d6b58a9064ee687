package redisstore

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readOne(s string) (respValue, error) {
	return readResp(bufio.NewReaderSize(strings.NewReader(s), 64))
}

func TestReadResp(t *testing.T) {
	t.Parallel()
	v, err := readOne(">2\r\n$10\r\ninvalidate\r\n*2\r\n$3\r\np:a\r\n$0\r\n\r\n")
	require.NoError(t, err)
	assert.Equal(t, byte('>'), v.kind)
	require.Len(t, v.elems, 2)
	assert.Equal(t, "invalidate", v.elems[0].str)
	assert.Equal(t, []string{"p:a", ""}, []string{v.elems[1].elems[0].str, v.elems[1].elems[1].str})

	v, err = readOne(">2\r\n$10\r\ninvalidate\r\n_\r\n")
	require.NoError(t, err)
	assert.True(t, v.elems[1].null, "a flush is a null list")

	v, err = readOne("%2\r\n+server\r\n+redis\r\n$4\r\nrole\r\n$6\r\nmaster\r\n")
	require.NoError(t, err)
	require.NotNil(t, v.field("role"))
	assert.Equal(t, "master", v.field("role").str)
	assert.Nil(t, v.field("mode"))

	v, err = readOne("|1\r\n+ttl\r\n:3\r\n+OK\r\n")
	require.NoError(t, err)
	assert.Equal(t, respValue{kind: '+', str: "OK"}, v, "an attribute is dropped")

	for _, in := range []string{"-ERR no\r\n", ":12\r\n", "#t\r\n", ",1.5\r\n", "(123\r\n", "=7\r\ntxt:abc\r\n", "~1\r\n+x\r\n", "$-1\r\n", "*-1\r\n"} {
		_, err := readOne(in)
		assert.NoError(t, err, "%q", in)
	}
}

func TestReadRespRefusesMalformedInput(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"unknown type":     "?x\r\n",
		"no CR":            "+OK\n",
		"bad length":       "$x\r\n",
		"negative length":  "*-2\r\n",
		"bulk over limit":  "$99999999999\r\n",
		"bulk not ended":   "$2\r\nabcd\r\n",
		"array over limit": "*99999999\r\n",
		"too deep":         strings.Repeat("*1\r\n", maxRespDepth+2) + "+x\r\n",
		"line too long":    "+" + strings.Repeat("x", 100) + "\r\n",
		"truncated":        "*2\r\n+a\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := readOne(in)
			require.Error(t, err)
		})
	}
}

func TestAppendCommand(t *testing.T) {
	t.Parallel()
	v, err := readOne(string(appendCommand(nil, "CLIENT", "TRACKING", "a\r\nb")))
	require.NoError(t, err)
	require.Len(t, v.elems, 3)
	assert.Equal(t, "a\r\nb", v.elems[2].str)
}

func FuzzReadResp(f *testing.F) {
	f.Add([]byte(">2\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\np:a\r\n"))
	f.Add([]byte("%1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"))
	f.Add([]byte("|1\r\n+a\r\n:1\r\n*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReaderSize(strings.NewReader(string(b)), 64)
		for range 4 {
			if _, err := readResp(r); err != nil {
				return
			}
		}
	})
}

// allocatedBy returns the fewest bytes one call of f allocated in a few
// tries: the fewest, so that another goroutine's allocations during one try
// do not count.
func allocatedBy(f func()) uint64 {
	least := uint64(math.MaxUint64)
	for range 5 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	return least
}

// Regression: the reader allocated every element an array header declared
// (up to 2^20 of them, 56 MiB) before it read any, so that a server, or a
// man in the middle, that declared a large array and sent a few elements
// cost that much memory per message. Memory now follows the bytes received,
// and a stream that ends inside a value is an unexpected EOF.
func TestReadRespAllocatesWhatArrives(t *testing.T) {
	for name, in := range map[string]string{
		"array":  fmt.Sprintf("*%d\r\n+a\r\n+b\r\n", maxRespElements),
		"push":   fmt.Sprintf(">%d\r\n+a\r\n+b\r\n", maxRespElements),
		"map":    fmt.Sprintf("%%%d\r\n+a\r\n+b\r\n", maxRespElements),
		"nested": strings.Repeat(fmt.Sprintf("*%d\r\n", maxRespElements), maxRespDepth) + "+a\r\n",
		"bulk":   fmt.Sprintf("$%d\r\nab", maxRespBulk),
	} {
		t.Run(name, func(t *testing.T) {
			var err error
			n := allocatedBy(func() { _, err = readOne(in) })
			assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
			assert.Less(t, n, uint64(128<<10), "bytes allocated reading %d bytes", len(in))
		})
	}
}

// A declared length is still bounded, and a value cut short anywhere but
// at its start is an unexpected EOF; a stream that ends between values is
// a plain EOF.
func TestReadRespEOF(t *testing.T) {
	t.Parallel()
	_, err := readOne(fmt.Sprintf("*%d\r\n", maxRespElements+1))
	require.ErrorIs(t, err, errRespSyntax)
	_, err = readOne("")
	require.ErrorIs(t, err, io.EOF)
	require.NotErrorIs(t, err, io.ErrUnexpectedEOF)
	for _, in := range []string{"+OK", "*2\r\n+a\r\n", "$3\r\n", "$3\r\nab", "$3\r\nabc", "|1\r\n+a\r\n+b\r\n"} {
		_, err := readOne(in)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "%q", in)
	}
}

// Values larger than the first buffer the reader allocates arrive whole.
func TestReadRespLargeValues(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("0123456789", 100_001)
	v, err := readOne(string(appendCommand(nil, "x", big, "y")))
	require.NoError(t, err)
	require.Len(t, v.elems, 3)
	assert.Equal(t, big, v.elems[1].str)
	assert.Equal(t, "y", v.elems[2].str)

	var in strings.Builder
	fmt.Fprintf(&in, "*%d\r\n", 10_000)
	for i := range 10_000 {
		fmt.Fprintf(&in, ":%d\r\n", i)
	}
	v, err = readOne(in.String())
	require.NoError(t, err)
	require.Len(t, v.elems, 10_000)
	assert.Equal(t, "9999", v.elems[9999].str)

	v, err = readOne("*0\r\n")
	require.NoError(t, err)
	assert.Empty(t, v.elems)
	assert.False(t, v.null)
}

// A stream of attributes before one value costs no stack per attribute: an
// attribute is followed by its value at the same depth, so the depth limit
// does not bound it, and a recursion on each one let 4 MiB of "|0\r\n"
// overflow the stack, a fatal error no recover catches.
func TestReadRespAttributesDoNotGrowTheStack(t *testing.T) {
	in := strings.Repeat("|0\r\n", 200_000) + ":7\r\n"
	var (
		v      respValue
		err    error
		before runtime.MemStats
		after  runtime.MemStats
	)
	done := make(chan struct{})
	go func() { // a fresh goroutine: its stack is what the read grew
		defer close(done)
		runtime.ReadMemStats(&before)
		v, err = readOne(in)
		runtime.ReadMemStats(&after)
	}()
	<-done
	require.NoError(t, err)
	assert.Equal(t, respValue{kind: ':', str: "7"}, v)
	assert.Less(t, int64(after.StackInuse)-int64(before.StackInuse), int64(1<<20), "stack grown reading %d attributes", 200_000)
}

// One reply holds at most maxRespElements values, attributes and nested
// values included, and maxRespBulk bytes of strings: a server that never
// ends a reply cannot make the watch hold more.
func TestReadRespBoundsOneReply(t *testing.T) {
	values := fmt.Sprintf("*%d\r\n", maxRespElements) + strings.Repeat(":1\r\n", maxRespElements)
	_, err := readOne(values)
	require.ErrorIs(t, err, errRespSyntax, "an array of %d values is %d values with itself", maxRespElements, maxRespElements+1)
	require.ErrorContains(t, err, "values in one reply")

	half := maxRespBulk/2 + 1
	bulk := fmt.Sprintf("$%d\r\n%s\r\n", half, strings.Repeat("x", half))
	_, err = readOne("*2\r\n" + bulk + bulk)
	require.ErrorIs(t, err, errRespSyntax)
	require.ErrorContains(t, err, "bytes of strings in one reply")

	// Simple strings and the other one-line values count too.
	line := "+" + strings.Repeat("x", 30_000) + "\r\n"
	lines := maxRespBulk/30_000 + 1
	_, err = readResp(bufio.NewReaderSize(strings.NewReader(fmt.Sprintf("*%d\r\n", lines)+strings.Repeat(line, lines)), 32<<10))
	require.ErrorContains(t, err, "bytes of strings in one reply", "%d lines of 30,000 bytes", lines)

	v, err := readOne("*2\r\n" + bulk + ":1\r\n")
	require.NoError(t, err, "one string of half the bound")
	assert.Len(t, v.elems, 2)
}
