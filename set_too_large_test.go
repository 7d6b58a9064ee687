package caching

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/filesystem"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/testutil"
)

// A Set refused as too large must not leave the older value readable: the
// caller asked for it to be replaced (after updating the database, say), and
// serving the old one would be serving what the caller knows is stale. Each
// backend with a limit for one value removes it, as backend.Backend.Set asks.
func TestSetTooLargeLeavesNoStaleValue(t *testing.T) {
	ctx := context.Background()
	open := map[string]func(t *testing.T) backend.Backend{
		"simple": func(t *testing.T) backend.Backend {
			return simple.Must(simple.Options{MaxBytes: 1 << 20, Shards: 1})
		},
		"filesystem": func(t *testing.T) backend.Backend {
			b, err := filesystem.New(filesystem.Options{Dir: t.TempDir(), MaxBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		"memcached": func(t *testing.T) backend.Backend {
			b, err := memcached.New(memcached.Options{Servers: testutil.MemcachedAddrs(t), Namespace: fmt.Sprintf("toolarge%d", time.Now().UnixNano()), Timeout: testutil.SlowTimeout})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	}
	for _, name := range []string{"simple", "filesystem", "memcached"} {
		t.Run(name, func(t *testing.T) {
			c, err := New(&Options{Backend: open[name](t)})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Set(ctx, "user:1", []byte("old profile"), time.Hour); err != nil {
				t.Fatal(err)
			}
			err = c.Set(ctx, "user:1", make([]byte, 2<<20), time.Hour)
			if !errors.Is(err, backend.ErrValueTooLarge) {
				t.Fatalf("Set of 2 MiB: %v", err)
			}
			if b, err := c.Get(ctx, "user:1"); err == nil {
				t.Errorf("after a refused Set, Get still serves the replaced value %q", b)
			}
		})
	}
}
