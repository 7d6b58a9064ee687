package memcached

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// A get whose reply is the value of another key (a connection out of step
// with its replies, or a proxy that mixes them up) fails: gomemcache's Get
// returns the item it read, whatever its key. The generation's read, a
// get too, fails so rather than taking another key's number for its own.
func TestGetOfAnotherKeysValueFails(t *testing.T) {
	wrongFirst := func() func(net.Conn) {
		return otherFirst(func([]string) string { return "VALUE fake:1:other 0 1 1\r\n7\r\nEND\r\n" })
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

// otherFirst returns a fake server's (see fakeServer) serve that answers
// the first get it is sent, on any connection, with reply(its keys), and
// every other get honestly: each key's value is the key itself.
func otherFirst(reply func(keys []string) string) func(net.Conn) {
	return otherFirstCounting(reply, new(atomic.Int64))
}

// otherFirstCounting is otherFirst, counting in gets the gets it is sent;
// a nil reply answers every get honestly.
func otherFirstCounting(reply func(keys []string) string, gets *atomic.Int64) func(net.Conn) {
	var wrong atomic.Bool
	return serveGets(func(_ int64, keys []string) string {
		gets.Add(1)
		if reply != nil && wrong.CompareAndSwap(false, true) {
			return reply(keys)
		}
		return valuesOf(keys)
	})
}

// A multi-get whose reply holds the value of a key not asked for (a
// connection out of step with its replies, or a hostile server) fails its
// keys, as a Get of another key's value does (see
// TestGetOfAnotherKeysValueFails): the keys asked for that the reply has no
// value of were read as misses.
func TestGetManyOfAnotherKeysValueFails(t *testing.T) {
	other := "VALUE fake:1:other 0 1 1\r\n7\r\n"
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		reply func(keys []string) string
	}{
		{"others only", func([]string) string { return other + "END\r\n" }},
		{"with one asked", func(keys []string) string {
			return strings.TrimSuffix(valueLine(keys[0]), "END\r\n") + other + "END\r\n"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, dials := fakeStore(t, fakeServer(t, otherFirst(tc.reply)))
			vals, err := s.GetMany(ctx, []string{"a", "b"})
			require.Error(t, err, "GetMany read %q from a reply of a key not asked for", vals)
			assert.ErrorContains(t, err, "another key")
			assert.NotContains(t, err.Error(), "fake:1:", "error text names a key")
			assert.Nil(t, vals, "values")
			vals, err = s.GetMany(ctx, []string{"a", "b"})
			require.NoError(t, err, "the GetMany after")
			assert.Equal(t, []string{s.mustKey(t, "a"), s.mustKey(t, "b")}, []string{string(vals[0]), string(vals[1])}, "the GetMany after")
			assert.Equal(t, int64(2), dials(), "dials: the connection that read another key's value was kept")
		})
	}
	t.Run("two servers", func(t *testing.T) {
		// Each server's keys are read again on their own, as after any
		// failure of the GetMulti (see getBatch), on new connections.
		others := func([]string) string { return other + "END\r\n" }
		getManyOn(t, fakeServer(t, otherFirst(others)), fakeServer(t, otherFirst(others)))
	})
	t.Run("two servers, one out of step", func(t *testing.T) {
		// The reply of a key not asked is that of an earlier get on
		// the same connection, of a key of the same server: the other
		// server's values, read on a connection of their own, are
		// kept, and its keys not asked again.
		var outOfStep, inStep atomic.Int64
		var a, b string // a out of step
		stray := func([]string) string {
			l, err := newServerList([]string{a, b}) // as the Store's
			require.NoError(t, err)
			for i := 0; ; i++ {
				if k := "fake:1:other" + strconv.Itoa(i); l.of(k) == l.byAddr[a] {
					return "VALUE " + k + " 0 1 1\r\n7\r\nEND\r\n"
				}
			}
		}
		a, b = fakeServer(t, otherFirstCounting(stray, &outOfStep)), fakeServer(t, otherFirstCounting(nil, &inStep))
		getManyOn(t, a, b)
		assert.Equal(t, int64(2), outOfStep.Load(), "gets to the server out of step: its keys read again")
		assert.Equal(t, int64(1), inStep.Load(), "gets to the other server: its values read again")
	})
}

// getManyOn checks that a GetMany of keys on each place of servers, fake
// servers (see otherFirst), reads each key's value, the key itself.
func getManyOn(t *testing.T, servers ...string) {
	s, err := New(Options{Servers: servers, Namespace: "fake", GenerationTTL: time.Hour, Timeout: 10 * time.Second})
	require.NoError(t, err)
	defer s.Close()
	s.setGeneration(1, time.Now())
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"}
	places := map[int]bool{}
	for _, k := range keys {
		places[s.servers.pick(s.mustKey(t, k))] = true
	}
	require.Len(t, places, len(servers), "the keys' places in the server list")
	vals, err := s.GetMany(context.Background(), keys)
	require.NoError(t, err)
	for i, k := range keys {
		assert.Equal(t, s.mustKey(t, k), string(vals[i]), "key %s", k)
	}
}

// A GetMany's reply of a key not asked, on the connection out of step of
// a server listed twice in Options.Servers, drops the values of both its
// places in the list: gomemcache sends each place its own multi-get, on
// connections of the server's one pool, so the earlier get a connection
// is out of step with may have been of the keys of the other place. Only
// the place of the keys not asked was dropped: the keys of the other,
// read on the connection out of step, kept its earlier reply's values.
func TestGetManyOutOfStepServerListedTwice(t *testing.T) {
	var aGets, bGets atomic.Int64
	var a, b string // a out of step, listed first and third
	stale := func(keys []string) string {
		// The other place's get is sent on a connection of its own: this
		// one, out of step, writes nothing again (see
		// healthConn.Write), and one taken from the pool by the other
		// place's get would have the whole multi-get tried again, as
		// after a stale pooled connection.
		for start := time.Now(); aGets.Load() < 2 && time.Since(start) < 10*time.Second; {
			time.Sleep(time.Millisecond)
		}
		l, err := newServerList([]string{a, b, a}) // as the Store's
		require.NoError(t, err)
		place := l.pick(keys[0]) // 0 or 2
		// The earlier get's keys were those of a's other place.
		other := ""
		for i := 0; ; i++ {
			if k := "fake:1:other" + strconv.Itoa(i); l.pick(k) == 2-place {
				other = "VALUE " + k + " 0 1 1\r\n7\r\n"
				break
			}
		}
		// Its values of keys asked now are as they were then (no more
		// values than keys asked: see replyFrame).
		out := ""
		for _, k := range keys[:len(keys)-1] {
			out += "VALUE " + k + " 0 5 1\r\nstale\r\n"
		}
		return out + other + "END\r\n"
	}
	a, b = fakeServer(t, otherFirstCounting(stale, &aGets)), fakeServer(t, otherFirstCounting(nil, &bGets))
	getManyOn(t, a, b, a)
	assert.Equal(t, int64(1), bGets.Load(), "gets to the server in step: its values read again")
}
