package memcached

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// Regression: a GetMany whose keys had values over MaxItemSize on several
// servers was refused with an error naming the first refused key's server
// only: an operator looking for the servers that hold such values (written
// by a process told a larger MaxItemSize) found one. The error now names
// each server, up to overItemNames of them and then how many more, whether
// the keys were read by one multi-get or server by server (another server
// marked down).
func TestGetManyOverItemSizeNamesEachServer(t *testing.T) {
	const big = DefaultMaxItemSize + 1
	data := bytes.Repeat([]byte("b"), big)
	for _, tc := range []struct {
		name    string
		servers int  // serving big values, each holding one
		down    bool // a server more, marked down, holds a key too
		named   int  // the servers the error names
	}{
		{name: "two servers", servers: 2, named: 2},
		{name: "five servers", servers: 5, named: overItemNames},
		{name: "two servers and one marked down", servers: 2, down: true, named: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var addrs []string
			for range tc.servers {
				addrs = append(addrs, bigValueServer(t, big, data, "\r\n"))
			}
			servers := addrs
			if tc.down {
				servers = append(servers[:len(servers):len(servers)], deadAddr(t))
			}
			s, err := New(Options{Servers: servers, Namespace: "fake", GenerationTTL: time.Hour, Timeout: 5 * time.Second})
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			s.setGeneration(1, time.Now())
			if tc.down {
				h := s.servers.health[len(servers)-1]
				h.mu.Lock()
				h.markDownLocked("a test")
				h.mu.Unlock()
			}
			keyOn := func(i int, suffix string) string {
				for j := 0; ; j++ {
					if k := fmt.Sprint("k", j, suffix); s.servers.pick(storeKey("fake:1:", k)) == i {
						return k
					}
				}
			}
			// A small key on each server, a big one on each serving them.
			var keys []string
			for i := range servers {
				if i < tc.servers {
					keys = append(keys, keyOn(i, ":big"))
				}
				keys = append(keys, keyOn(i, ""))
			}
			vs, err := s.GetMany(context.Background(), keys)
			var gm *backend.GetManyError
			require.ErrorAs(t, err, &gm)
			assert.ErrorIs(t, err, backend.ErrKeyRefused)
			for i, k := range keys {
				switch {
				case strings.HasSuffix(k, ":big"), tc.down && s.servers.pick(storeKey("fake:1:", k)) == len(servers)-1:
					assert.Nil(t, vs[i], "key %s", k)
				default:
					assert.Equal(t, "fake:1:"+k, string(vs[i]), "key %s", k)
				}
			}
			msg := err.Error()
			named := 0
			for _, a := range addrs {
				if strings.Contains(msg, a) {
					named++
				}
			}
			assert.Equal(t, tc.named, named, "servers named: %s", msg)
			if more := tc.servers - overItemNames; more > 0 {
				assert.Contains(t, msg, fmt.Sprintf(" and %d more: ", more))
			} else {
				assert.NotContains(t, msg, "more")
			}
			assert.Contains(t, msg, "over Options.MaxItemSize")
			assert.Equal(t, 1, strings.Count(msg, "memcached: "), "%s", msg)
		})
	}
}
