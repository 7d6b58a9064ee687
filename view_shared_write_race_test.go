package caching

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sameSecondOrigin is an origin whose Last-Modified has one-second
// resolution and does not change with a write made in the same second: it
// answers 304 to a revalidation of the body it had before the write (RFC
// 9110 section 8.8.2.1 allows it). A POST writes "new"; a GET whose
// handler call is armed waits for release first.
type sameSecondOrigin struct {
	lm      string
	data    atomic.Value // string
	arm     atomic.Bool  // the next GET waits for release
	release chan struct{}
}

func newSameSecondOrigin(lm string) *sameSecondOrigin {
	o := &sameSecondOrigin{lm: lm, release: make(chan struct{})}
	o.data.Store("old")
	return o
}

func (o *sameSecondOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		o.data.Store("new")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if o.arm.CompareAndSwap(true, false) {
		<-o.release
	}
	w.Header().Set("Cache-Control", "max-age=10")
	w.Header().Set("Last-Modified", o.lm)
	if r.Header.Get("If-Modified-Since") == o.lm {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = io.WriteString(w, o.data.Load().(string))
}

// TestSharedCacheRevalidationBeganBeforeWriteNotTrusted: a request that
// found the stale entry before a write, and revalidates it after the write
// (here a waiter whose leader's 304 the write made unusable), must not
// store the pre-write body under the versions read after the write when
// the origin's 304 is wrong (same-second Last-Modified): the next GET
// would serve the old body as fresh after the write.
func TestSharedCacheRevalidationBeganBeforeWriteNotTrusted(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		synctest.Test(t, func(t *testing.T) {
			e := newViewEnv(t, k)
			o := newSameSecondOrigin(e.httpDate(-time.Hour))
			ch := e.sharedView(o)
			require.Equal(t, "old", get(ch, "/a").Body.String())
			e.clock.Advance(11 * time.Second) // stale: revalidated with If-Modified-Since

			o.arm.Store(true)
			done := make(chan string, 2)
			go func() { done <- get(ch, "/a").Body.String() }() // leads the revalidation, waits in the handler
			synctest.Wait()
			go func() { done <- get(ch, "/a").Body.String() }() // found the stale entry too, waits for the leader
			synctest.Wait()

			w := send(ch, http.MethodPost, "/a")
			require.Equal(t, http.StatusNoContent, w.Code)
			close(o.release)
			<-done
			<-done

			w = get(ch, "/a")
			assert.Equal(t, "new", w.Body.String(), "after the write, not the body a 304 begun before it vouched for; X-Cache=%s", w.Header().Get("X-Cache"))
		})
	})
}

// TestSharedCacheHEADBeganBeforeWriteNotTrusted: a HEAD that found the
// stale GET before a write, and whose validating 200 arrives after it,
// does not freshen the pre-write body under the versions read after the
// write. The write is made, deterministically, between the HEAD's lookup
// and its run, from a StaleIf that declares the entry stale.
func TestSharedCacheHEADBeganBeforeWriteNotTrusted(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		o := newSameSecondOrigin(e.httpDate(-time.Hour))
		var writeNow atomic.Bool
		ch := e.sharedView(o, StaleIf(func(*Response) bool {
			if !writeNow.CompareAndSwap(true, false) {
				return false
			}
			o.data.Store("new") // the write, and its invalidation, land now
			require.NoError(t, e.c.InvalidatePath(context.Background(), "/a"))
			return true
		}))
		require.Equal(t, "old", get(ch, "/a").Body.String())
		writeNow.Store(true)
		w := send(ch, http.MethodHead, "/a")
		require.Equal(t, http.StatusOK, w.Code)

		w = get(ch, "/a")
		assert.Equal(t, "new", w.Body.String(), "after the write, not the body the HEAD's validators matched; X-Cache=%s", w.Header().Get("X-Cache"))
	})
}
