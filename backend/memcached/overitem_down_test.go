package memcached

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// Regression: a broken (or hostile) server that answers every get with a
// value over MaxItemSize was never marked down: each value refuses its
// key only, skipped at the cost of its bytes (up to maxSkipped a reply),
// and a healthy server holding such values gives the same replies. It is
// marked down now once it gave such replies and no other for errorWindow,
// and a probe's get, of a key no Store writes, got such a value too: the
// refused calls then dial nothing.
func TestServerOfOnlyOverItemValuesIsMarkedDown(t *testing.T) {
	addr := overItemServer(t, func(string) bool { return true })
	s, err := New(Options{Servers: []string{addr}, Namespace: "fake", GenerationTTL: time.Hour, Timeout: 10 * time.Second, MaxItemSize: 1024})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	s.setGeneration(1, time.Now())
	clock := stepClock(s)
	dials := countDials(s)
	ctx := context.Background()
	var re *refusedError
	for i := 0; ; i++ {
		var err error
		if i%2 == 0 {
			_, err = s.Get(ctx, fmt.Sprint("k", i))
		} else {
			_, err = s.GetMany(ctx, []string{fmt.Sprint("k", i), fmt.Sprint("j", i)})
		}
		if errors.As(err, &re) {
			break
		}
		require.ErrorIs(t, err, backend.ErrKeyRefused, "call %d", i)
		require.Less(t, clock.elapsed(), 10*errorWindow, "a server whose every get is answered with a value over MaxItemSize is not marked down after %d calls", i)
		clock.step()
	}
	assert.Contains(t, re.Error(), "over Options.MaxItemSize")
	n := dials.Load()
	_, err = s.Get(ctx, "k")
	require.ErrorAs(t, err, &re, "refused while marked down")
	assert.Equal(t, n, dials.Load(), "dials of a refused call")
}

// A healthy server holding many values over a Store's MaxItemSize (written
// by a process told a larger one), read again and again and nothing else,
// answers the probe their replies call for with a miss (no Store writes
// the probe's keys): it stays up, each such key refused, its other keys
// read.
func TestOverItemValuesKeepAHealthyServerUp(t *testing.T) {
	addr := testutil.MemcachedAddrs(t)[0]
	ns := fmt.Sprint("mclow-overitem-", time.Now().UnixNano())
	writer, err := New(Options{Servers: []string{addr}, Namespace: ns, Timeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { writer.Close() })
	// The reader reads the generation once: read again every second (the
	// default GenerationTTL), its normal reply started the second of such
	// replies anew, and the probe came only where a call's reply outlasted
	// it by chance.
	reader, err := New(Options{Servers: []string{addr}, Namespace: ns, Timeout: 5 * time.Second, MaxItemSize: 1024, GenerationTTL: time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { reader.Close() })
	ctx := context.Background()
	big := bytes.Repeat([]byte("b"), 2048)
	keys := []string{"a", "b", "c", "d"}
	for _, k := range keys {
		require.NoError(t, writer.Set(ctx, k, big, time.Minute))
	}
	h := reader.servers.health[0]
	clock := stepClock(reader)
	for i := 0; clock.elapsed() < 2*errorWindow || reader.probes.Load() == 0; i++ {
		require.Less(t, clock.elapsed(), 10*errorWindow, "no probe after %d calls", i)
		var err error
		if i%2 == 0 {
			_, err = reader.Get(ctx, keys[i%len(keys)])
		} else {
			_, err = reader.GetMany(ctx, keys) // every key refused: the call fails
		}
		require.ErrorIs(t, err, backend.ErrKeyRefused, "call %d", i)
		var re *refusedError
		require.False(t, errors.As(err, &re), "call %d: the server is marked down: %v", i, err)
		require.Zero(t, h.downUntil.Load(), "call %d: the server is marked down", i)
		clock.step()
	}
	require.NoError(t, writer.Set(ctx, "small", []byte("v"), time.Minute))
	v, err := reader.Get(ctx, "small")
	require.NoError(t, err)
	assert.Equal(t, "v", string(v))
}

// Regression: a probe's keys were <namespace>:probe:<n>, n counting from 0
// in every process. Whoever could write to the servers (and whose servers'
// -I is over the Store's MaxItemSize) stored values over MaxItemSize under
// the keys the probes would get, one per probe: a healthy server, whose
// replies were such values a second, was marked down, and kept down by
// each probe after. The keys are random now: the server answers them with
// a miss, and stays up.
func TestProbeKeysCannotBeWrittenAhead(t *testing.T) {
	ahead := map[string]bool{} // the keys of the next 100 probes, as they were
	for n := range 100 * probeKeys {
		ahead[fmt.Sprint("fake:probe:", n)] = true
	}
	addr := overItemServer(t, func(k string) bool { return !strings.HasPrefix(k, "fake:probe:") || ahead[k] })
	s, err := New(Options{Servers: []string{addr}, Namespace: "fake", GenerationTTL: time.Hour, Timeout: 10 * time.Second, MaxItemSize: 1024})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	s.setGeneration(1, time.Now())
	ctx := context.Background()
	clock := stepClock(s)
	for i := 0; clock.elapsed() < 2*errorWindow || s.probes.Load() == 0; i++ {
		require.Less(t, clock.elapsed(), 10*errorWindow, "no probe after %d calls", i)
		_, err := s.Get(ctx, fmt.Sprint("k", i%4))
		require.ErrorIs(t, err, backend.ErrKeyRefused, "call %d", i)
		var re *refusedError
		require.False(t, errors.As(err, &re), "call %d: the server is marked down: %v", i, err)
		clock.step()
	}
}

// overItemServer starts a fake server that answers a get with a value of
// 2048 bytes (over a MaxItemSize of 1024) for each of its keys that over
// reports, and nothing for the others (a miss), and returns its address.
func overItemServer(t *testing.T, over func(key string) bool) string {
	data := strings.Repeat("b", 2048)
	return lateServer(t, func(f []string) (string, string) {
		if len(f) < 2 || f[0] != "get" && f[0] != "gets" {
			return "ERROR\r\n", ""
		}
		var b strings.Builder
		for _, k := range f[1:] {
			if over(k) {
				fmt.Fprintf(&b, "VALUE %s 0 %d 1\r\n%s\r\n", k, len(data), data)
			}
		}
		return b.String() + "END\r\n", ""
	})
}

// callClock is a clock for a Store's health (see serverList.now) that
// moves only when a test steps it, a quarter of errorWindow a call: the
// streaks' windows and the cool-downs pass in calls, not in wall time,
// however slow or fast the machine.
type callClock struct{ steps atomic.Int64 }

// stepClock gives s's health a callClock, and returns it.
func stepClock(s *Store) *callClock {
	c := new(callClock)
	start := time.Now()
	s.servers.now = func() time.Time { return start.Add(c.elapsed()) }
	return c
}

// step moves the clock on a quarter of errorWindow.
func (c *callClock) step() { c.steps.Add(1) }

// elapsed is how far the clock has moved.
func (c *callClock) elapsed() time.Duration {
	return time.Duration(c.steps.Load()) * errorWindow / 4
}
