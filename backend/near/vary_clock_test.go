package near_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/backend/simple"
)

// slowRemote is a remote store that sends no news (as memcached), so that
// MaxStale is the whole bound; reads whose first key is slowKey take delay.
type slowRemote struct {
	*simple.Store
	mu      sync.Mutex
	first   []string // the first key of every read, in order
	slowKey string
	delay   time.Duration
}

func (r *slowRemote) note(k string) {
	r.mu.Lock()
	r.first = append(r.first, k)
	slow, d := r.slowKey, r.delay
	r.mu.Unlock()
	if k == slow {
		time.Sleep(d)
	}
}

func (r *slowRemote) Get(ctx context.Context, k string) ([]byte, error) {
	r.note(k)
	return r.Store.Get(ctx, k)
}

func (r *slowRemote) GetMany(ctx context.Context, ks []string) ([][]byte, error) {
	r.note(ks[0])
	return r.Store.GetMany(ctx, ks)
}

var _ backend.GetManyer = (*slowRemote)(nil)

// TestVariantNotServedPastMaxStale: a view that varies looked its Vary
// record up and then the variant with one clock reading taken before both.
// When the record had to be read remote (another process rewrote it, or it
// left memory) and that read was slow, the variant was looked up in memory
// with a reading as old as the read: a variant whose MaxStale ended during
// it was served from memory, after the remote store had deleted it. The
// clock is read again after a remote record.
func TestVariantNotServedPastMaxStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxStale = 300 * time.Millisecond
		remote := &slowRemote{Store: simple.Must(simple.Options{})}
		ns := openNear(t, remote, near.Options{MaxStale: maxStale})
		c, err := caching.New(&caching.Options{Backend: ns, Timeout: 2 * time.Second})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		var body atomic.Value
		body.Store("A")
		h := c.Cached(time.Minute, caching.CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Vary", "X-Lang")
			_, _ = w.Write([]byte(body.Load().(string)))
		}))
		get := func() (string, string) {
			r := httptest.NewRequest(http.MethodGet, "/p", nil)
			r.Header.Set("X-Lang", "en")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			return rec.Body.String(), rec.Header().Get("X-Cache")
		}
		get() // miss: stored
		remote.mu.Lock()
		remote.first = nil
		remote.mu.Unlock()
		b, st := get() // remote hit: record and variant kept near
		require.Equal(t, "A", b)
		require.Equal(t, "HIT", st)
		remote.mu.Lock()
		require.Len(t, remote.first, 2, "a remote hit reads the record, then the variant")
		base, variant := remote.first[0], remote.first[1]
		remote.mu.Unlock()

		// The variant changes in the remote store (deleted), with no news.
		require.NoError(t, remote.Store.Delete(context.Background(), variant))
		body.Store("B")

		// 50 ms before MaxStale ends, the record leaves memory (another
		// process rewrote it: its news drops it), and reading it back
		// takes 250 ms.
		time.Sleep(maxStale - 50*time.Millisecond)
		ns.DropNear(base)
		remote.mu.Lock()
		remote.slowKey, remote.delay = base, 250*time.Millisecond
		remote.mu.Unlock()

		b, st = get()
		require.Equal(t, "B", b, "the variant was served from memory 200 ms past MaxStale (%s), after the remote store deleted it", st)
		require.Equal(t, "MISS", st)
	})
}
