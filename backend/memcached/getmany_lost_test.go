package memcached

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// closingConn is a scriptConn whose server closes the connection once its
// reply is sent: a read past it is io.EOF (chunkConn's), not a timeout.
type closingConn struct{ scriptConn }

func (c *closingConn) Read(p []byte) (int, error) { return c.chunkConn.Read(p) }

// scriptServers returns a Store of one fake server for each of answers,
// whose connections are closingConns of its answer, and how many requests
// each server was sent. A server's answer runs under a lock of the test's.
func scriptServers(t *testing.T, answers ...func(keys []string) string) (*Store, []int) {
	t.Helper()
	servers := make([]string, len(answers))
	for i := range servers {
		servers[i] = fmt.Sprintf("127.0.0.1:%d", i+1)
	}
	s, err := New(Options{Servers: servers, Namespace: "fake", GenerationTTL: time.Hour, Timeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	s.setGeneration(1, time.Now())
	var mu sync.Mutex
	requests := make([]int, len(answers))
	s.dial = func(_ context.Context, _, addr string) (net.Conn, error) {
		i := slices.Index(servers, addr)
		answer := func(req string) string {
			mu.Lock()
			defer mu.Unlock()
			requests[i]++
			line, _ := strings.CutSuffix(req, "\r\n")
			_, keys, _ := strings.Cut(line, " ")
			return answers[i](strings.Fields(keys))
		}
		return &closingConn{scriptConn{answer: answer, split: func(b []byte) [][]byte { return [][]byte{b} }}}, nil
	}
	return s, requests
}

// values returns the reply of a get of keys, each with its value ("v-"
// and the key, unprefixed) but for those missing, and then END when end.
func values(keys []string, end bool, missing ...string) string {
	var b strings.Builder
	for _, k := range keys {
		if slices.Index(missing, k) < 0 {
			v := "v-" + strings.TrimPrefix(k, "fake:1:")
			fmt.Fprintf(&b, "VALUE %s 0 %d 1\r\n%s\r\n", k, len(v), v)
		}
	}
	if end {
		b.WriteString("END\r\n")
	}
	return b.String()
}

// keysOn returns n keys of the Store's server i (k0, k1, ... in order).
func keysOn(s *Store, i, n int) []string {
	var keys []string
	for j := 0; len(keys) < n; j++ {
		k := fmt.Sprint("k", j)
		if s.servers.pick(storeKey("fake:1:", k)) == i {
			keys = append(keys, k)
		}
	}
	return keys
}

// Regression: a GetMany over one server whose multi-get failed after the
// complete values of some keys dropped them, every key unread, where one
// over several servers kept them. Both keep them now: only the keys
// without a value are unread (or none, when every key had its value); the
// failure counts in the server's health.
func TestGetManyKeepsValuesReadBeforeAFailure(t *testing.T) {
	for name, tc := range map[string]struct {
		servers int
		// reply is the reply of the first server, which then closes the
		// connection.
		reply  func(keys []string) string
		unread []int // of the first server's keys a, b
	}{
		"one server, a value then a close":      {1, func(k []string) string { return values(k[:1], false) }, []int{1}},
		"one server, every value then a close":  {1, func(k []string) string { return values(k, false) }, nil},
		"two servers, a value then a close":     {2, func(k []string) string { return values(k[:1], false) }, nil},
		"two servers, every value then a close": {2, func(k []string) string { return values(k, false) }, nil},
	} {
		t.Run(name, func(t *testing.T) {
			answers := []func([]string) string{tc.reply}
			if tc.servers == 2 {
				answers = append(answers, func(k []string) string { return values(k, true) })
			}
			s, _ := scriptServers(t, answers...)
			keys := keysOn(s, 0, 2)
			if tc.servers == 2 {
				keys = append(keys, keysOn(s, 1, 1)...)
			}
			vals, err := s.GetMany(context.Background(), keys)
			want := make([]string, len(keys))
			for i, k := range keys {
				want[i] = "v-" + k
			}
			for _, i := range tc.unread {
				want[i] = ""
			}
			if tc.unread == nil {
				require.NoError(t, err)
			} else {
				var ge *backend.GetManyError
				require.ErrorAs(t, err, &ge)
				assert.Equal(t, tc.unread, ge.Unread)
			}
			got := make([]string, len(vals))
			for i, v := range vals {
				got[i] = string(v)
			}
			assert.Equal(t, want, got)
			assert.NotZero(t, s.servers.health[0].fails.Load(), "the failure counted in the server's health")
		})
	}
}

// Regression: a GetMany over several servers whose multi-get failed on
// one (here its connection closed after a value, as a restart does) read
// the keys left without a value again, each server's apart: the misses of
// the servers that had answered whole were asked for again. Only the
// failed server's keys without a value are read again now.
func TestGetManyAgainAsksOnlyTheFailedServer(t *testing.T) {
	var missing []string
	s, requests := scriptServers(t,
		func(k []string) string { return values(k[:1], false) },
		func(k []string) string { return values(k, true, missing...) })
	onA, onB := keysOn(s, 0, 2), keysOn(s, 1, 2)
	missing = []string{storeKey("fake:1:", onB[1])}
	keys := append(append([]string{}, onA...), onB...)
	vals, err := s.GetMany(context.Background(), keys)
	require.NoError(t, err)
	assert.Equal(t, "v-"+onA[0], string(vals[0]))
	assert.Equal(t, "v-"+onA[1], string(vals[1]), "read again")
	assert.Equal(t, "v-"+onB[0], string(vals[2]))
	assert.Nil(t, vals[3], "a miss")
	assert.Equal(t, 1, requests[1], "requests of the server that answered whole")
}

// Regression: a multi-get whose reply named a key its get did not ask
// for (a connection out of step, reading the reply to an earlier get),
// and broke before gomemcache read that key's value whole, kept the values
// read before it: values of the keys asked for, but of the earlier get's
// reply, one request old (a value deleted since among them). The reply's
// values are dropped, as when the key not asked for is read whole: with
// one server its keys are unread; with several, that server's keys are
// read again on a new connection.
func TestGetManyDropsValuesOfAReplyOutOfStepThatBroke(t *testing.T) {
	// outOfStep answers the first get with an earlier get's reply: an
	// old value of its first key, then a key it did not ask for, cut.
	outOfStep := func(first *bool) func([]string) string {
		return func(k []string) string {
			if !*first {
				return values(k, true)
			}
			*first = false
			return fmt.Sprintf("VALUE %s 0 3 1\r\nold\r\nVALUE fake:1:other 0 3 1\r\nab", k[0])
		}
	}
	for name, servers := range map[string]int{"one server": 1, "two servers": 2} {
		t.Run(name, func(t *testing.T) {
			first := true
			answers := []func([]string) string{outOfStep(&first)}
			if servers == 2 {
				answers = append(answers, func(k []string) string { return values(k, true) })
			}
			s, _ := scriptServers(t, answers...)
			keys := keysOn(s, 0, 2)
			if servers == 2 {
				keys = append(keys, keysOn(s, 1, 1)...)
			}
			vals, err := s.GetMany(context.Background(), keys)
			for i, v := range vals {
				assert.NotEqual(t, "old", string(v), "the value of %s, from the reply out of step", keys[i])
			}
			if servers == 1 {
				var ge *backend.GetManyError
				if !errors.As(err, &ge) {
					require.Error(t, err, "every key unread")
					return
				}
				assert.Equal(t, []int{0, 1}, ge.Unread)
				return
			}
			require.NoError(t, err)
			for i, k := range keys {
				assert.Equal(t, "v-"+k, string(vals[i]), "read again")
			}
		})
	}
}

// Regression: a GetMany over several servers whose multi-get failed on
// one took the keys of a server that answered it whole whose value was
// over Options.MaxItemSize (skipped, refused: see maxSkipped) for misses,
// that server not asked again: a miss where the Store refuses the key.
// They are refused still.
func TestGetManyAgainKeepsTheRefusalsOfAServerThatAnsweredWhole(t *testing.T) {
	big := strings.Repeat("x", DefaultMaxItemSize+1)
	s, _ := scriptServers(t,
		func(k []string) string {
			return fmt.Sprintf("VALUE %s 0 %d 1\r\n%s\r\nEND\r\n", k[0], len(big), big)
		},
		func(k []string) string { return values(k[:1], false) })
	keys := append(keysOn(s, 0, 1), keysOn(s, 1, 1)...)
	vals, err := s.GetMany(context.Background(), keys)
	var ge *backend.GetManyError
	require.ErrorAs(t, err, &ge, "the key over MaxItemSize refused")
	assert.Equal(t, []int{0}, ge.Unread)
	require.ErrorIs(t, err, backend.ErrKeyRefused)
	assert.Nil(t, vals[0])
	assert.Equal(t, "v-"+keys[1], string(vals[1]))
}

// A multi-get that read every key's value and then failed before its END
// (here the rest of the reply never came) returns the values, and its
// connection is not used again: the reply's rest, were it to come, would
// be the next get's.
func TestGetManyAfterEveryValueThenAFailureDropsTheConnection(t *testing.T) {
	first := true
	s, _, dials := scriptStore(t, func(req string) string {
		line, _ := strings.CutSuffix(req, "\r\n")
		keys := strings.Fields(line)[1:]
		end := !first
		first = false
		return values(keys, end)
	})
	keys := []string{"a", "b"}
	for range 2 {
		vals, err := s.GetMany(context.Background(), keys)
		require.NoError(t, err)
		assert.Equal(t, "v-a", string(vals[0]))
		assert.Equal(t, "v-b", string(vals[1]))
	}
	assert.Equal(t, 2, *dials, "a connection for each GetMany: the first one's was closed")
}
