package caching

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// leaseReads counts the reads of lease keys made through it: the polls of
// a waiting process.
type leaseReads struct {
	backend.Backend
	n atomic.Int64
}

func (b *leaseReads) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := b.Backend.Get(ctx, key)
	if strings.Contains(key, kindLease) {
		b.n.Add(1)
	}
	return v, err
}

// TestLeaseLateReleaseLeavesTheNextHolder: process A takes the lease of a
// page for 100 ms and runs its handler longer. Its lease ends; process B,
// which waited for it, takes the lease in turn and runs its handler, and
// process C misses and waits for B's run. Then A's run ends, and its
// release came after its lease: marked "not stored" (A's handler failed),
// C's next poll found the mark on B's lease and ran its handler at once,
// beside B's run; deleted (A stored its response), the lease no longer
// said that B runs, and C took A's older response rather than wait for B's.
// A release later than its lease must leave the lease as it is: C waits
// for B's run and is answered once it ends: by B's response when A stored
// nothing; by A's when A stored its response past its lease, which B's
// look finds and keeps (view.newerSinceLease). On real Redis and memcached
// (whose lease of 100 ms lasts up to a second).
func TestLeaseLateReleaseLeavesTheNextHolder(t *testing.T) {
	const short = 100 * time.Millisecond
	backends := map[string]func(t *testing.T, prefix string) backend.Backend{
		"redis": func(t *testing.T, prefix string) backend.Backend {
			s, err := redisstore.New(redisstore.Options{URL: testutil.SlowRedisURL(t, 0), Prefix: prefix})
			require.NoError(t, err)
			return s
		},
		"memcached": func(t *testing.T, prefix string) backend.Backend {
			s, err := memcached.New(memcached.Options{Servers: testutil.MemcachedAddrs(t), Namespace: prefix, Timeout: 10 * time.Second})
			require.NoError(t, err)
			return s
		},
	}
	for kind, open := range backends {
		for _, stored := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stored=%v", kind, stored), func(t *testing.T) {
				prefix := fmt.Sprintf("rlease-late-%v-%d", stored, time.Now().UnixNano()) // memcached's Namespace too
				newCache := func(lease time.Duration) (*Cache, *leaseReads) {
					b := &leaseReads{Backend: open(t, prefix)}
					// A generous Timeout: under the race detector, a call
					// past the default fails open, without the lease.
					c := Must(&Options{Backend: b, Lease: lease, Timeout: 10 * time.Second})
					t.Cleanup(func() { _ = c.Clear(context.Background()); _ = c.Close() })
					return c, b
				}
				a, _ := newCache(short)
				b, _ := newCache(time.Minute)
				c, cReads := newCache(time.Minute)

				bRuns, goA, goB := make(chan struct{}), make(chan struct{}), make(chan struct{})
				opts := []ViewOption{CacheStatusHeader("X-Cache")}
				va := a.Cached(time.Hour, opts...)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					start := time.Now()
					<-bRuns
					<-goA
					// Past A's lease on this process's clock too: memcached
					// may end it sooner, and B take it sooner.
					time.Sleep(time.Until(start.Add(short)))
					if !stored {
						w.WriteHeader(http.StatusInternalServerError)
					}
					_, _ = w.Write([]byte("from A"))
				}))
				vb := b.Cached(time.Hour, opts...)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					close(bRuns)
					<-goB
					_, _ = w.Write([]byte("from B"))
				}))
				var cRuns atomic.Int64
				vc := c.Cached(time.Hour, opts...)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					cRuns.Add(1)
					_, _ = w.Write([]byte("from C"))
				}))

				// The path's version is there before A's run, which would
				// delete it, having created it and stored nothing: B's
				// entry would then miss once (view.forgetCreated).
				warm := b.Cached(time.Hour, opts...)(&counter{})
				get(warm, "/p?warm")
				require.Equal(t, "HIT", get(warm, "/p?warm").Header().Get("X-Cache"))
				fromA := make(chan *httptest.ResponseRecorder, 1)
				go func() { fromA <- get(va, "/p") }()
				require.Eventually(t, func() bool { return a.Stats().Leases == 1 }, 10*time.Second, time.Millisecond)
				fromB := make(chan *httptest.ResponseRecorder, 1)
				go func() { fromB <- get(vb, "/p") }()
				<-bRuns // A's lease ended, and B took it
				fromC := make(chan *httptest.ResponseRecorder, 1)
				go func() { fromC <- get(vc, "/p") }()
				require.Eventually(t, func() bool { return c.Stats().LeaseWaits == 1 }, 10*time.Second, time.Millisecond, "C waits for B's run")

				close(goA)
				w := <-fromA
				require.Equal(t, "from A", w.Body.String())
				a.background.wait() // a release, were one made, is made after the response
				key, err := a.ViewKey(httptest.NewRequest(http.MethodGet, "/p", nil), opts...)
				require.NoError(t, err)
				held, marked, err := c.readLease(context.Background(), c.leaseKey(key))
				require.NoError(t, err)
				assert.True(t, held, "B's lease is held still (marked: %v)", marked)
				// C reads the lease once more before B's run ends (or, on
				// a mark, runs its handler).
				polls := cReads.n.Load()
				require.Eventually(t, func() bool { return cReads.n.Load() > polls || cRuns.Load() > 0 }, 10*time.Second, time.Millisecond)

				close(goB)
				assert.Equal(t, "from B", (<-fromB).Body.String())
				w = <-fromC
				want := "from B" // B's run stored its response
				if stored {
					want = "from A" // stored past A's lease, kept by B's run
				}
				assert.Equal(t, want, w.Body.String(), "C is answered once B's run ends")
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
				assert.Zero(t, cRuns.Load(), "C ran its handler beside B's run")
			})
		}
	}
}
