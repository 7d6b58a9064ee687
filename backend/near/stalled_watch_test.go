package near_test

import (
	"context"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/near"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// stallingRemote is a Redis store whose watch stops reading, once stall
// is called, until release: a process stopped (SIGSTOP, a frozen VM)
// while its watch connection stays open. states receives what the watch
// reports.
type stallingRemote struct {
	*redisstore.Store
	armed   chan struct{} // closed by stall
	release chan struct{}
	states  chan bool
}

func (r *stallingRemote) stall() { close(r.armed) }

func (r *stallingRemote) WatchInvalidations(changed func([]string), state func(bool)) (io.Closer, error) {
	var once sync.Once
	return r.Store.WatchInvalidations(func(keys []string) {
		select {
		case <-r.armed:
			once.Do(func() { <-r.release })
		default:
		}
		changed(keys)
	}, func(on bool) {
		state(on)
		r.states <- on
	})
}

// TestStalledProcessServesNothingItMissed: a process whose watch stops
// reading is cut off by Redis once the change messages it has not read
// pass the pub/sub output buffer limit (set low here), instead of being
// buffered for it without bound. When the process runs again it sees the
// loss, empties its memory and serves what another process wrote
// meanwhile, not what it held before.
func TestStalledProcessServesNothingItMissed(t *testing.T) {
	t.Parallel()
	srv := testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	})
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = admin.Close() })
	require.NoError(t, admin.ConfigSet(ctx, "client-output-buffer-limit", "pubsub 256kb 0 0").Err())

	const prefix = "stalled:"
	remote := &stallingRemote{
		Store:   redisstore.Must(redisstore.Options{URL: "redis://" + srv.Addr, Prefix: prefix}),
		armed:   make(chan struct{}),
		release: make(chan struct{}),
		states:  make(chan bool, 16),
	}
	s := near.Must(remote, near.Options{MaxStale: time.Hour}) // only the loss may end what memory holds
	t.Cleanup(func() { _ = s.Close() })
	var released sync.Once
	t.Cleanup(func() { released.Do(func() { close(remote.release) }) }) // before s.Close
	require.NoError(t, s.WaitWatching(ctx))
	require.True(t, <-remote.states)
	c := caching.Must(&caching.Options{Backend: s})
	holdNear(t, c, s)

	remote.stall()
	pad := strings.Repeat("x", 1000)
	const batches, per = 64, 1000 // at most 64 MiB of change messages
	cut := false
	for b := 0; b < batches && !cut; b++ {
		pipe := admin.Pipeline()
		for i := range per {
			pipe.Set(ctx, prefix+pad+strconv.Itoa(b*per+i), "v", time.Minute)
		}
		_, err := pipe.Exec(ctx)
		require.NoError(t, err)
		cut = !hasClient(t, admin, "caching-near")
	}
	require.True(t, cut, "Redis still buffers change messages for a stalled process after %d MiB of them", batches*per*len(pad)>>20)

	other := caching.Must(&caching.Options{Backend: redisstore.Must(redisstore.Options{URL: "redis://" + srv.Addr, Prefix: prefix})})
	t.Cleanup(func() { _ = other.Close() })
	require.NoError(t, other.Set(ctx, "k", []byte("v2"), time.Hour, caching.Tags("t")))

	released.Do(func() { close(remote.release) })
	for _, want := range []bool{false, true} {
		select {
		case on := <-remote.states:
			require.Equal(t, want, on, "the watch reports the loss, then its return")
		case <-time.After(10 * time.Second):
			t.Fatalf("the watch never reported watching=%v", want)
		}
	}
	v, err := c.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "v2", string(v), "the process serves what it held before the changes it missed")
}

// hasClient reports whether a connection named name is in the server's
// CLIENT LIST.
func hasClient(t *testing.T, admin *redis.Client, name string) bool {
	t.Helper()
	list, err := admin.ClientList(context.Background()).Result()
	require.NoError(t, err)
	for _, line := range strings.Split(list, "\n") {
		for _, f := range strings.Fields(line) {
			if f == "name="+name {
				return true
			}
		}
	}
	return false
}
