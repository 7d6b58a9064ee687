package memcached

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// Regression: a delete, incr or decr that a proxy refused with a lone
// "SERVER_ERROR ...\r\n" line (mcrouter, twemproxy, memcached's proxy mode,
// for the keys of an upstream that is down) cost a TCP connection, as a
// refused get did before parking: gomemcache closes the connection after
// the line. Its error line is the whole reply to such a request, as to a
// one-key get: the connection is parked, and resynced before it is used
// again. The commands after it, on a live memcached behind the proxy, must
// read their own replies.
func TestServerErrorToADeleteOrIncrKeepsTheConnection(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	proxy := testutil.StartProxy(t, live, testutil.ProxyOptions{Request: func(cmd []byte) []byte {
		f := bytes.Fields(cmd)
		if len(f) > 1 && bytes.HasSuffix(f[1], []byte(":broken")) {
			switch string(f[0]) {
			case "delete", "incr", "decr":
				return []byte("SERVER_ERROR backend failure\r\n")
			}
		}
		return nil
	}})
	s, err := New(Options{Servers: []string{proxy.Addr()}, Namespace: namespaceFor("lone")})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	require.NoError(t, s.Set(ctx, "other", []byte("v"), 0))
	dials := countDials(s)
	for _, tc := range []struct {
		name   string
		refuse func() error
	}{
		{"delete", func() error { return s.Delete(ctx, "broken") }},
		{"incr", func() error { _, err := s.Incr(ctx, "broken", 1); return err }},
		{"decr", func() error { _, err := s.Incr(ctx, "broken", -1); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counter := "counter-" + tc.name
			before := dials.Load()
			const n = 20
			for i := range n {
				require.ErrorContains(t, tc.refuse(), "SERVER_ERROR backend failure", "%s %d of the refused key", tc.name, i)
				requireOther(t, s, i)
				v, err := s.Incr(ctx, counter, 1)
				require.NoError(t, err, "incr %d of a key the proxy serves", i)
				require.Equal(t, int64(i+1), v, "incr %d of a key the proxy serves: another reply read as its", i)
			}
			assert.LessOrEqual(t, dials.Load()-before, int64(1), "dials for %d refused %s commands", n, tc.name)
		})
	}
}

// A proxy that sent more after the error line to a delete or an incr, late,
// in a write of its own, has it read by the resync, before the version's
// reply: the connection is closed, and no command reads that line as its
// reply (an incr's late number read as another counter's value, a late
// DELETED as another key's delete). A late END, the rest of a reply that a
// proxy may send so, is skipped. A proxy that closes the connection after
// its error line has it parked (nothing came after the line) and closed by
// the resync, which reads the close. None of it is a failure of the server
// (the resync reports nothing to its health): a proxy that answers other
// keys stays up.
func TestLoneErrorToADeleteOrIncrWithALateLine(t *testing.T) {
	for _, tc := range []struct {
		name      string
		late      string
		wantDials int64
	}{
		{"a late number", "7\r\n", 6},
		{"a late DELETED", "DELETED\r\n", 6},
		{"a late NOT_FOUND", "NOT_FOUND\r\n", 6},
		{"a late CLIENT_ERROR", "CLIENT_ERROR bad data chunk\r\n", 6},
		{"a late SERVER_ERROR", "SERVER_ERROR y\r\n", 6},
		{"a late VALUE", "VALUE k 0 1\r\nx\r\nEND\r\n", 6},
		{"a late line cut short", "DELE", 6},
		{"a close", closeLate, 6},
		{"a late END", "END\r\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var counter atomic.Int64 // the server's counter "c", over its connections
			counter.Store(100)
			addr := lateServer(t, func(f []string) (reply, late string) {
				switch {
				case len(f) > 1 && strings.HasSuffix(f[1], ":broken"):
					return "SERVER_ERROR x\r\n", tc.late
				}
				return counterReply(&counter, f), ""
			})
			s, dials := fakeStore(t, addr)
			ctx := context.Background()
			want := int64(100)
			for i := range 5 {
				refuse := func() error { _, err := s.deleteKey(context.Background(), s.mustKey(t, "broken")); return err }
				if i%2 == 1 {
					refuse = func() error { _, err := s.Incr(ctx, "broken", 1); return err }
				}
				require.ErrorContains(t, refuse(), "SERVER_ERROR x", "refusal %d", i)
				want++
				v, err := s.Incr(ctx, "c", 1)
				require.NoError(t, err, "incr %d", i)
				assert.Equal(t, want, v, "incr %d: another reply read as its", i)
				ok, err := s.deleteKey(context.Background(), s.mustKey(t, "gone"))
				require.NoError(t, err, "delete %d", i)
				assert.False(t, ok, "delete %d of a missing key: another reply read as its", i)
			}
			assert.Equal(t, tc.wantDials, dials(), "dials")
			h := s.servers.byAddr[addr]
			assert.Zero(t, h.fails.Load(), "failures of the server counted")
			assert.Zero(t, h.downUntil.Load(), "the server marked down")
		})
	}
}

// counterReply is a fake proxy's reply to a request line (its fields f)
// for the keys it serves: an incr counts on counter, whatever the key; a
// delete finds nothing; version is answered.
func counterReply(counter *atomic.Int64, f []string) string {
	switch {
	case len(f) == 3 && f[0] == "incr":
		return fmt.Sprintf("%d\r\n", counter.Add(1))
	case len(f) == 2 && f[0] == "delete":
		return "NOT_FOUND\r\n"
	case len(f) == 1 && f[0] == "version":
		return "VERSION 1.6.0-fake\r\n"
	}
	return "ERROR\r\n"
}

// Only a request of one line whose error reply is one line is followed for
// parking: a storage command's data block, a multi-get's several replies and
// a noreply request's missing one are not.
func TestOneLineRequest(t *testing.T) {
	for req, want := range map[string]bool{
		"get k\r\n":                       true,
		"gets k\r\n":                      true,
		"delete k\r\n":                    true,
		"incr k 1\r\n":                    true,
		"decr k 18446744073709551615\r\n": true,
		"touch k -1\r\n":                  true,
		"touch k 30\r\n":                  true,
		"gets a b\r\n":                    false,
		"delete k noreply\r\n":            false,
		"delete k 0\r\n":                  false,
		"incr k 1 noreply\r\n":            false,
		"incr k -1\r\n":                   false,
		"incr k\r\n":                      false,
		"set k 0 0 1\r\nx\r\n":            false,
		"get k\r\nget j\r\n":              false,
		"get  k\r\n":                      false,
		"get k":                           false,
		"get k\n":                         false,
		"version\r\n":                     false,
	} {
		assert.Equal(t, want, oneLineRequest([]byte(req)), "%q", req)
	}
}

// The undo of an Incr past math.MaxInt64 (a decr) that a proxy refuses
// with a lone error line is not sent again (the error line does not prove
// that it never reached the server): the Incr says the counter may be left
// above MaxInt64, the connection is parked, and the commands after it on
// that connection read their own replies.
func TestLoneErrorToAnIncrsUndo(t *testing.T) {
	var counter, decrs atomic.Int64
	addr := lateServer(t, func(f []string) (reply, late string) {
		switch {
		case len(f) == 3 && f[0] == "incr" && strings.HasSuffix(f[1], ":big"):
			return "9223372036854775808\r\n", "" // 2^63: above MaxInt64
		case len(f) == 3 && f[0] == "decr" && strings.HasSuffix(f[1], ":big"):
			decrs.Add(1)
			return "SERVER_ERROR x\r\n", ""
		}
		return counterReply(&counter, f), ""
	})
	s, dials := fakeStore(t, addr)
	ctx := context.Background()
	for i := range 5 {
		_, err := s.Incr(ctx, "big", 1)
		require.ErrorIs(t, err, backend.ErrNotInteger, "incr %d past MaxInt64", i)
		require.ErrorContains(t, err, "may not be taken back", "incr %d past MaxInt64", i)
		require.Equal(t, int64(i+1), decrs.Load(), "undo decrs sent by incr %d", i)
		v, err := s.Incr(ctx, "c", 1)
		require.NoError(t, err, "incr %d", i)
		require.Equal(t, int64(i+1), v, "incr %d: another reply read as its", i)
	}
	assert.Equal(t, int64(1), dials(), "dials")
}
