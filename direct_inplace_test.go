package caching

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// TestSetKeepsItsOwnCopy: the Cache keeps its own copy of what Set, Add
// and SetMany are given, on every store: a caller that reuses its slice
// after the write (a buffer filled again for the next value) does not
// change what Get returns. On an in-process store the entry is kept as it
// is, so the write copies the value; on a remote one, the envelope it is
// encoded into is that copy.
func TestSetKeepsItsOwnCopy(t *testing.T) {
	everyBackend(t, Options{}, func(t *testing.T, c *Cache) {
		ctx := t.Context()
		buf := []byte("first value, not an integer")
		want := string(buf)
		scribble := func() {
			for i := range buf {
				buf[i] = 'X'
			}
		}

		require.NoError(t, c.Set(ctx, "set", buf, time.Minute))
		scribble()
		copy(buf, want)
		require.NoError(t, c.Set(ctx, "set/tagged", buf, time.Minute, Tags("t")))
		scribble()
		copy(buf, want)
		added, err := c.Add(ctx, "add", buf, time.Minute)
		require.NoError(t, err)
		require.True(t, added)
		scribble()
		copy(buf, want)
		require.NoError(t, c.SetMany(ctx, map[string][]byte{"many/a": buf, "many/b": buf[:5]}, time.Minute))
		scribble()

		for key, v := range map[string]string{"set": want, "set/tagged": want, "add": want, "many/a": want, "many/b": want[:5]} {
			got, err := c.Get(ctx, key)
			require.NoError(t, err, key)
			assert.Equal(t, v, string(got), "%s: the caller changed its slice after the write", key)
		}
	})
}

// TestSetCopiesValueOnce: on a remote store, Set, Add and SetMany copied
// the caller's value into the entry's payload, and encodeEntry copied that
// payload again into the envelope: two copies of every value written, one
// of them garbage at once. The value is now copied once, straight into the
// envelope. An in-process store still makes the one copy it keeps.
func TestSetCopiesValueOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		c, _ := k.open(t, nil, nil, Options{})
		ctx := context.Background()
		value := bytes.Repeat([]byte("v"), 64<<10)
		// The Cache's one copy, the value's own (in process) or the
		// envelope's (remote), and less than half a copy more: what the
		// write costs besides, and the rounding of a large allocation to
		// whole pages (an envelope of 64 KiB and 32 bytes takes 72 KiB).
		// The test's remote store copies what it is given: one copy more.
		want := uint64(len(value)) + uint64(len(value))/2
		if k.name == "remote" {
			want += uint64(len(value))
		}
		i := 0
		for name, write := range map[string]func(){
			"Set": func() { require.NoError(t, c.Set(ctx, "k", value, time.Minute)) },
			"Add": func() {
				i++
				added, err := c.Add(ctx, fmt.Sprint("add/", i), value, time.Minute)
				require.NoError(t, err)
				require.True(t, added)
			},
			"SetMany": func() { require.NoError(t, c.SetMany(ctx, map[string][]byte{"many": value}, time.Minute)) },
		} {
			write() // the first write of a key allocates what the store keeps it in
			assert.LessOrEqual(t, allocPer(write), want, "bytes a %s of 64 KiB allocates", name)
		}
	})
}

// allocPer returns the bytes f allocates per call, over 20 calls.
func allocPer(f func()) uint64 {
	const n = 20
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	for range n {
		f()
	}
	runtime.ReadMemStats(&m1)
	return (m1.TotalAlloc - m0.TotalAlloc) / n
}

// directGolden holds the length and SHA-256 of the entries the release
// before one-copy writes stored on a remote store, at the test clock's
// time: other processes read these bytes, so they must not change.
var directGolden = map[string]struct {
	n   int
	sum string
}{
	"Set":       {42, "e166695d3bffcb6a9710711123108226aecba8c0c083220ff6e651df2ab49ac3"},
	"Set/64KiB": {65568, "2ba3e4f7d122a95100f7de0b0fcfefe618a04eba56dcdb239f10c22757616aba"},
	"Set/empty": {30, "4735e41e5527b63ce1399199600fe593be1694cca0066bf24d0c93b5fee6ff3d"},
	"Set/nil":   {30, "4735e41e5527b63ce1399199600fe593be1694cca0066bf24d0c93b5fee6ff3d"},
	"Add":       {35, "37769576b987dc1bd013eb079579cbe944faa4569d4c0c6d024823a161ab6602"},
	"SetMany":   {34, "fb81869484148e6d75c49cab7cdbe3f54e4a8fe95d47c2969de422c0f42aaa53"},
	"Fragment":  {65568, "531d67ae2726b0a23e193eeff592c3a545bbf2ebe84028eb6a0820d47a03e9fe"},
}

// TestDirectWriteBytesUnchanged: the entries Set, Add, SetMany and
// Fragment write to a remote store are the bytes the release before wrote,
// which copied the value into the entry's payload before encoding it; with
// tags (whose versions are random), the entry encoded from a payload of
// its own.
func TestDirectWriteBytesUnchanged(t *testing.T) {
	k := storeKinds[1]
	require.Equal(t, "remote", k.name)
	clock := testutil.NewClock()
	c, shared := k.open(t, nil, clock, Options{})
	ctx := context.Background()
	big := make([]byte, 64<<10)
	for i := range big {
		big[i] = byte(i * 31 % 251)
	}
	writes := map[string]func(key string){
		"Set":       func(key string) { require.NoError(t, c.Set(ctx, key, []byte("hello, world"), time.Minute)) },
		"Set/64KiB": func(key string) { require.NoError(t, c.Set(ctx, key, big, Forever)) },
		"Set/empty": func(key string) { require.NoError(t, c.Set(ctx, key, []byte{}, time.Hour)) },
		"Set/nil":   func(key string) { require.NoError(t, c.Set(ctx, key, nil, time.Hour)) },
		"Add": func(key string) {
			added, err := c.Add(ctx, key, []byte("added"), 90*time.Second)
			require.NoError(t, err)
			require.True(t, added)
		},
		"SetMany": func(key string) {
			require.NoError(t, c.SetMany(ctx, map[string][]byte{key: []byte("many")}, time.Minute))
		},
		"Fragment": func(key string) {
			_, err := c.Fragment(ctx, key, time.Minute, func(w io.Writer) error {
				_, err := w.Write(big)
				return err
			})
			require.NoError(t, err)
		},
	}
	for name, write := range writes {
		t.Run(name, func(t *testing.T) {
			write(name)
			got, err := shared.Get(ctx, c.userKey(name))
			require.NoError(t, err)
			want := directGolden[name]
			assert.Equal(t, want.n, len(got), "length")
			assert.Equal(t, want.sum, fmt.Sprintf("%x", sha256.Sum256(got)), "the bytes the release before wrote")
		})
	}

	value := []byte("tagged value")
	require.NoError(t, c.Set(ctx, "tagged", value, time.Minute, Tags("a", "b")))
	got, err := shared.Get(ctx, c.userKey("tagged"))
	require.NoError(t, err)
	back, err := decodeEntry(got)
	require.NoError(t, err)
	require.Len(t, back.TagKeys, 2)
	apart := &entry{Created: back.Created, FreshUntil: back.FreshUntil, StaleUntil: back.StaleUntil,
		TagKeys: back.TagKeys, Versions: back.Versions, Payload: bytes.Clone(value)}
	assert.Equal(t, encodeEntry(apart), got, "tagged: the entry encoded from a payload of its own")
	assert.Equal(t, len(got), cap(encodeEntry(apart)))
}
