package memcached_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// Regression: the errors a user saw said where they came from twice or
// three times: "memcached: memcache: unexpected line in get response:
// ..." (gomemcache's errors start "memcache: "), "memcached: the namespace
// generation ... cannot be read (...): memcached: dial tcp ...", and for a
// Delete "memcached: the keys are deleted from the generation last read
// only: memcached: the namespace generation ...: memcached: ...". An error
// now reads "memcached: <command> <server>: <cause>" (or says what failed,
// once), with gomemcache's text in the cause once, without its prefix, and
// the sentinels it wrapped still wrapped.
func TestErrorTextsSayMemcachedOnce(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	type errCase struct {
		name   string
		err    error
		prefix string // the text's start
		is     error  // a sentinel the error wraps, or nil
		isNot  error  // a sentinel it does not wrap, or nil
	}
	var cases []errCase
	add := func(name string, err error, prefix string, is, isNot error) {
		cases = append(cases, errCase{name, err, prefix, is, isNot})
	}

	// A dead server: stopped after the generation was read.
	p := startMemcached(t)
	s := open(t, memcached.Options{Servers: []string{p.Addr}})
	require.NoError(t, s.Set(bg, "k", []byte("v"), 0))
	p.Stop()
	_, err := s.Get(bg, "k")
	add("Get of a dead server", err, "memcached: get "+p.Addr+": dial tcp", nil, backend.ErrServerDown)
	dead := open(t, memcached.Options{Servers: []string{p.Addr}, FlushOnClear: true})
	add("FlushOnClear's Clear of a dead server", dead.Clear(bg), "memcached: flush_all: server "+p.Addr+": dial tcp", nil, nil)

	// A value the server refuses (over its -I, 1 MiB by default, where
	// Options.MaxItemSize lets it through).
	big := startMemcached(t)
	s = open(t, memcached.Options{Servers: []string{big.Addr}, MaxItemSize: 2 << 20, Timeout: testutil.SlowTimeout})
	err = s.Set(bg, "big", make([]byte, 3<<19), 0)
	add("Set refused as too large", err, "memcached: set "+big.Addr+": backend: value too large: ", backend.ErrValueTooLarge, nil)
	_, err = s.Add(bg, "big", make([]byte, 3<<19), 0)
	add("Add refused as too large", err, "memcached: add "+big.Addr+": backend: value too large: ", backend.ErrValueTooLarge, nil)

	// A key refused by a proxy that answers other keys, and the error
	// replies of a proxy whose upstreams are all dead.
	s, proxy, broken, other := openOnProxy(t, failNone)
	proxy.setFail(func(cmd []byte) bool { return bytes.Contains(cmd, []byte(":"+broken)) })
	_, err = s.Get(bg, other)
	require.ErrorIs(t, err, backend.ErrNotFound, "a key the proxy answers")
	_, err = s.Get(bg, broken)
	add("Get of a key a proxy refuses", err, "memcached: get "+proxy.addr+": backend: key refused by its server", backend.ErrKeyRefused, nil)
	s, proxy, broken, _ = openOnProxy(t, failAll)
	_, err = s.Get(bg, broken)
	add("Get from a proxy of dead upstreams", err, "memcached: get "+proxy.addr+": ", nil, backend.ErrKeyRefused)

	// A server marked down, holding the key; then holding the generation.
	s, fake, k := storeWithServerDown(t, live)
	_, err = s.Get(bg, k)
	add("Get of a server marked down", err, "memcached: get "+fake.addr+": server marked down after ", backend.ErrServerDown, nil)

	ns := namespaceOn(1)
	fake = newFakeServer(t, live, ns)
	s = open(t, memcached.Options{Servers: []string{live, fake.addr}, Namespace: ns, GenerationTTL: time.Hour})
	require.NoError(t, s.Set(bg, "first", []byte("v"), 0))
	onLive := keysOn(t, live, ns, 0, 1)[0]
	fake.down()
	err = s.Delete(bg, onLive)
	add("Delete with the generation's server dead", err,
		"memcached: the keys are deleted from the generation last read only: the namespace generation "+ns+":gen cannot be read (every key is stored under it): get "+fake.addr+": dial tcp",
		nil, backend.ErrServerDown)
	g := open(t, memcached.Options{Servers: []string{live, fake.addr}, Namespace: ns, GenerationTTL: -1})
	for range 10 {
		if _, err = g.Get(bg, onLive); err != nil && strings.Contains(err.Error(), "marked down") {
			break
		}
	}
	add("Get with the generation's server marked down", err,
		"memcached: the namespace generation "+ns+":gen cannot be read (every key is stored under it): get "+fake.addr+": server marked down after ",
		nil, backend.ErrServerDown)

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Error(t, c.err)
			msg := c.err.Error()
			assert.True(t, strings.HasPrefix(msg, c.prefix), "%q\ndoes not start with\n%q", msg, c.prefix)
			assert.Equal(t, 1, strings.Count(msg, "memcache"), `"memcached: " once, and no "memcache: ": %q`, msg)
			if c.is != nil {
				assert.ErrorIs(t, c.err, c.is)
			}
			if c.isNot != nil {
				assert.NotErrorIs(t, c.err, c.isNot)
			}
		})
	}
}
