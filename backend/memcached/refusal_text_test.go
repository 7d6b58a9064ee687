package memcached_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// Regression: a call refused because its server is marked down read
// "memcached: server X marked down after ...", naming no command, where
// every other error reads "memcached: <command> <server>: <cause>" (the
// refusal was made once, when the server was marked down, so that a
// refusal allocates nothing). It now names the command too, and still
// allocates no more than it did, nor wraps anything else.
func TestRefusalNamesCommand(t *testing.T) {
	s, fake, k := storeWithServerDown(t, testutil.MemcachedAddrs(t)[0])
	ops := []struct {
		name, command string
		call          func() error
	}{
		{"Get", "get", func() error { _, err := s.Get(bg, k); return err }},
		{"Set", "set", func() error { return s.Set(bg, k, []byte("v"), 0) }},
		{"Add", "add", func() error { _, err := s.Add(bg, k, []byte("v"), 0); return err }},
		{"Incr", "incr", func() error { _, err := s.Incr(bg, k, 1); return err }},
		{"Decr", "decr", func() error { _, err := s.Incr(bg, k, -1); return err }},
		{"Delete", "delete", func() error { return s.Delete(bg, k) }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			err := op.call()
			require.Error(t, err)
			want := "memcached: " + op.command + " " + fake.addr + ": server marked down after "
			assert.True(t, strings.HasPrefix(err.Error(), want), "%q\ndoes not start with\n%q", err, want)
			assert.Equal(t, 1, strings.Count(err.Error(), "memcache"), "%q", err)
			assert.ErrorIs(t, err, backend.ErrServerDown)
			assert.NotErrorIs(t, err, backend.ErrKeyRefused)
			assert.NotErrorIs(t, err, backend.ErrNotFound)
		})
	}

	// What a refusal allocates: no error of its own per call (the named
	// refusals are made when the server is marked down). 3 before the
	// command was named; wrap's errors.As is now skipped for a refusal.
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := s.Get(bg, k); !errors.Is(err, backend.ErrServerDown) {
			t.Fatalf("Get: %v; want a refusal", err)
		}
	})
	t.Logf("%.1f allocations per refused Get", allocs)
	assert.LessOrEqual(t, allocs, 2.0, "allocations per refused Get")
}

// TestRefusalOfEveryServerNamesCommand: once every server is marked down,
// the refusals name the command too, and wrap no backend.ErrServerDown
// (the breaker counts them). The generation, read before, is kept.
func TestRefusalOfEveryServerNamesCommand(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	ns := namespaceOn(0)
	fake := newFakeServer(t, live, ns)
	s := open(t, memcached.Options{Servers: []string{fake.addr}, Namespace: ns, GenerationTTL: time.Hour})
	require.NoError(t, s.Set(bg, "k", []byte("v"), 0))
	fake.down()
	var err error
	for range 10 {
		if err = s.Set(bg, "k", []byte("v"), 0); err != nil && strings.Contains(err.Error(), "every server marked down") {
			break
		}
	}
	require.Error(t, err)
	want := "memcached: set " + fake.addr + ": every server marked down ("
	assert.True(t, strings.HasPrefix(err.Error(), want), "%q\ndoes not start with\n%q", err, want)
	assert.NotErrorIs(t, err, backend.ErrServerDown)
}

// storeWithServerDown returns a Store of two servers, live and a
// fakeServer in front of it, with the fake one taken down and marked down
// (the generation is on live), and a key of the server marked down.
func storeWithServerDown(t *testing.T, live string) (*memcached.Store, *fakeServer, string) {
	ns := namespaceOn(0)
	fake := newFakeServer(t, live, ns)
	s := open(t, memcached.Options{Servers: []string{live, fake.addr}, Namespace: ns})
	require.NoError(t, s.Set(bg, "first", []byte("v"), 0))
	keys := keysOn(t, live, ns, 1, 10)
	fake.down()
	for _, k := range keys {
		if _, err := s.Get(bg, k); errors.Is(err, backend.ErrServerDown) {
			return s, fake, k
		}
	}
	t.Fatal("the server taken down is not marked down")
	return nil, nil, ""
}
