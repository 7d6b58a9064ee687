package caching

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// recordGate is a remote backend whose next write of one key (a page's
// Vary record) can be held until the test lets it through, whatever its
// context says, as a client that takes no context does (memcached's).
type recordGate struct {
	backend.Backend
	key     string
	sets    atomic.Int32  // writes of key
	blocked chan struct{} // closed when the held write has begun
	mu      sync.Mutex
	hold    chan struct{} // non-nil: the next write of key waits for it to close
}

// holdNext holds the next write of g.key until the returned func is called.
func (g *recordGate) holdNext() (release func()) {
	hold := make(chan struct{})
	g.mu.Lock()
	g.hold, g.blocked = hold, make(chan struct{})
	g.mu.Unlock()
	return func() { close(hold) }
}

func (g *recordGate) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if key == g.key {
		g.sets.Add(1)
		g.mu.Lock()
		hold, blocked := g.hold, g.blocked
		g.hold = nil
		g.mu.Unlock()
		if hold != nil {
			close(blocked)
			<-hold
		}
	}
	return g.Backend.Set(ctx, key, v, ttl)
}

// newRecordGate is a Cache on a recordGate for the Vary record of
// http://shop.example/p, and a view of it whose page varies on
// Accept-Language.
func newRecordGate(t *testing.T, timeout time.Duration, opts ...ViewOption) (*recordGate, *view) {
	g := &recordGate{Backend: newSimple(t, nil)}
	c, err := New(&Options{Backend: g, Timeout: timeout})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.Nil(t, c.store.local)
	g.key, err = c.ViewKey(httptest.NewRequest(http.MethodGet, "http://shop.example/p", nil), opts...)
	require.NoError(t, err)
	opts = append(opts, CacheStatusHeader("X-Cache"))
	h := c.Cached(time.Hour, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Language")
		fmt.Fprintf(w, "page in %s", r.Header.Get("Accept-Language"))
	}))
	return g, h.(*view)
}

// getLang gets the page in lang, on a goroutine; the channel has its response.
func getLang(v *view, lang string) <-chan *httptest.ResponseRecorder {
	ch := make(chan *httptest.ResponseRecorder, 1)
	go func() { ch <- get(v, "http://shop.example/p", "Accept-Language", lang) }()
	return ch
}

// waitFor waits for ch, failing the test rather than hanging when it never comes.
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case x := <-ch:
		return x
	case <-time.After(30 * time.Second):
		t.Fatalf("never came: %s", what)
		panic("unreachable")
	}
}

// TestCachedVariantMissNotHeldByAnothersRecordWrite: recordVariant held one
// of the view's 16 locks across its read and write of the Vary record, and
// a miss's response waits for its entry to be stored; the wait for the lock
// was bounded neither by Options.Timeout nor by the request's context. While
// one variant's record write hung, a miss of another variant of the page
// (or of any page whose key shared the lock) never answered its client. Now
// it waits for the write in flight at most Options.Timeout, then answers,
// its entry not stored.
func TestCachedVariantMissNotHeldByAnothersRecordWrite(t *testing.T) {
	g, v := newRecordGate(t, 50*time.Millisecond)
	require.Equal(t, "page in en", get(v, "http://shop.example/p", "Accept-Language", "en").Body.String())

	release := g.holdNext()
	first := getLang(v, "fr")
	waitFor(t, g.blocked, "fr's record write")
	w := waitFor(t, getLang(v, "de"), "de's response while fr's record write hangs")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "page in de", w.Body.String())

	release()
	assert.Equal(t, "page in fr", waitFor(t, first, "fr's response").Body.String())
	for _, lang := range []string{"en", "fr"} {
		w := get(v, "http://shop.example/p", "Accept-Language", lang)
		assert.Equal(t, "page in "+lang, w.Body.String())
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"), lang)
	}
	w = get(v, "http://shop.example/p", "Accept-Language", "de")
	assert.Equal(t, "page in de", w.Body.String())
	assert.Equal(t, "MISS", w.Header().Get("X-Cache"), "de gave up on its record write: not stored")
}

// awaitJoins returns a channel closed once want variants wait together for
// the write of a Vary record in flight, told by the view itself: no polling.
// It is called before the requests that join are made.
func awaitJoins(v *view, want int) <-chan struct{} {
	done := make(chan struct{})
	var once sync.Once
	v.varyWrites.joinedHook = func(n int) {
		if n >= want {
			once.Do(func() { close(done) })
		}
	}
	return done
}

// burstWhileHeld gets the page in first, holds its record write, and gets it
// in each of others meanwhile; once they all wait for the record, it lets
// the write through and waits for every response.
func burstWhileHeld(t *testing.T, g *recordGate, v *view, first string, others []string) {
	t.Helper()
	release := g.holdNext()
	resps := []<-chan *httptest.ResponseRecorder{getLang(v, first)}
	waitFor(t, g.blocked, first+"'s record write")
	joins := awaitJoins(v, len(others))
	for _, lang := range others {
		resps = append(resps, getLang(v, lang))
	}
	waitFor(t, joins, "the others joining the next record write")
	release()
	for i, ch := range resps {
		lang := append([]string{first}, others...)[i]
		assert.Equal(t, "page in "+lang, waitFor(t, ch, lang).Body.String())
	}
}

// TestCachedVariantBurstRecordedInOneWrite: the variants that miss while
// their page's Vary record is being written are recorded together, in one
// read and one write after it, each then served from the store.
func TestCachedVariantBurstRecordedInOneWrite(t *testing.T) {
	g, v := newRecordGate(t, time.Minute)
	get(v, "http://shop.example/p", "Accept-Language", "en")
	require.EqualValues(t, 1, g.sets.Load())

	burstWhileHeld(t, g, v, "fr", []string{"de", "it", "es", "nl", "pt"})
	assert.EqualValues(t, 3, g.sets.Load(), "fr's write, then one for the five others")
	for _, lang := range []string{"en", "fr", "de", "it", "es", "nl", "pt"} {
		w := get(v, "http://shop.example/p", "Accept-Language", lang)
		assert.Equal(t, "page in "+lang, w.Body.String())
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"), lang)
	}
}

// TestCachedVariantBurstWithinMaxVariants: a burst of variants written in
// one batch still stores no more than MaxVariants of them.
func TestCachedVariantBurstWithinMaxVariants(t *testing.T) {
	g, v := newRecordGate(t, time.Minute, MaxVariants(3))
	get(v, "http://shop.example/p", "Accept-Language", "en")

	langs := []string{"de", "it", "es", "nl", "pt"}
	burstWhileHeld(t, g, v, "fr", langs)
	hits := 0
	for _, lang := range append([]string{"en", "fr"}, langs...) {
		w := get(v, "http://shop.example/p", "Accept-Language", lang)
		assert.Equal(t, "page in "+lang, w.Body.String())
		if w.Header().Get("X-Cache") == "HIT" {
			hits++
		}
	}
	assert.Equal(t, 3, hits, "MaxVariants(3) of the seven variants are stored")
}
