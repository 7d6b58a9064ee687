package near_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/internal/testutil"
)

// process is one process's Cache, with a near cache, on a bus.
type process struct {
	c    *caching.Cache
	near *near.Store
	view *busView
}

func newProcess(t *testing.T, b *bus, opts near.Options, copts caching.Options) *process {
	t.Helper()
	p := &process{view: b.view()}
	p.near = openNear(t, p.view, opts)
	copts.Backend = p.near
	var err error
	p.c, err = caching.New(&copts)
	require.NoError(t, err)
	return p
}

// threeProcesses returns three processes on one bus.
func threeProcesses(t *testing.T) []*process {
	b := newBus(t)
	return []*process{
		newProcess(t, b, near.Options{}, caching.Options{}),
		newProcess(t, b, near.Options{}, caching.Options{}),
		newProcess(t, b, near.Options{}, caching.Options{}),
	}
}

// page is a handler whose body is whatever body holds.
type page struct {
	body atomic.Value
	runs atomic.Int64
}

func newPage(body string) *page {
	p := &page{}
	p.body.Store(body)
	return p
}

func (p *page) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	p.runs.Add(1)
	_, _ = io.WriteString(w, p.body.Load().(string))
}

// get serves a GET of path through h and returns the body and X-Cache.
func get(h http.Handler, path string) (body, status string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Body.String(), rec.Header().Get("X-Cache")
}

func TestNearHitReadsNothingRemote(t *testing.T) {
	ctx := context.Background()
	p := newProcess(t, newBus(t), near.Options{}, caching.Options{})
	h := p.c.Cached(time.Minute, caching.Tags("products"), caching.CacheStatusHeader("X-Cache"))(newPage("A"))
	calls := 0
	memo := caching.Memoize(p.c, "double", func(_ context.Context, n int) (int, error) {
		calls++
		return 2 * n, nil
	}, caching.Tags("products"))
	require.NoError(t, p.c.Set(ctx, "k", []byte("v"), time.Minute, caching.Tags("products")))

	get(h, "/p") // miss: stored
	get(h, "/p") // remote hit: kept near
	_, err := memo.Get(ctx, 21)
	require.NoError(t, err)
	_, err = memo.Get(ctx, 21)
	require.NoError(t, err)
	_, err = p.c.Get(ctx, "k")
	require.NoError(t, err)

	reads := p.view.readCount()
	for range 3 {
		body, status := get(h, "/p")
		assert.Equal(t, "A", body)
		assert.Equal(t, "HIT", status)
		v, err := memo.Get(ctx, 21)
		require.NoError(t, err)
		assert.Equal(t, 42, v)
		got, err := p.c.Get(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, "v", string(got))
	}
	assert.Equal(t, reads, p.view.readCount(), "a near hit read the remote store")
	assert.Equal(t, 1, calls)
}

// TestNeverKeepsAValueInvalidatedDuringItsRead: process B reads V1; while
// the read is on its way back, process A writes V2 and the news reaches B;
// then B's read returns V1. B must not keep V1 in its near cache.
func TestNeverKeepsAValueInvalidatedDuringItsRead(t *testing.T) {
	ctx := context.Background()
	b := newBus(t)
	a := newProcess(t, b, near.Options{}, caching.Options{})
	reader := newProcess(t, b, near.Options{}, caching.Options{})
	require.NoError(t, a.c.Set(ctx, "k", []byte("V1"), time.Minute, caching.Tags("t")))

	var once sync.Once
	reader.view.onRead = func([]string) {
		once.Do(func() { require.NoError(t, a.c.Set(ctx, "k", []byte("V2"), time.Minute, caching.Tags("t"))) })
	}
	got, err := reader.c.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "V1", string(got), "the read returns what it read before the write")
	got, err = reader.c.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "V2", string(got), "the value read before the write was kept and served after the news of it")
}

// TestInvalidationsOfOneCacheAreSeenByTheOthers covers every kind of write
// of the issue: a write, a delete, a tag invalidation, ForgetAll,
// InvalidatePath and Clear, made through one Cache, are seen by every
// other Cache on the same remote store.
func TestInvalidationsOfOneCacheAreSeenByTheOthers(t *testing.T) {
	ctx := context.Background()
	procs := threeProcesses(t)
	pages := make([]*page, len(procs))
	handlers := make([]http.Handler, len(procs))
	generation := atomic.Int64{}
	memos := make([]*caching.Memoized[string, string], len(procs))
	for i, p := range procs {
		pages[i] = newPage("A")
		handlers[i] = p.c.Cached(time.Minute, caching.Tags("products"), caching.CacheStatusHeader("X-Cache"))(pages[i])
		memos[i] = caching.Memoize(p.c, "report", func(_ context.Context, arg string) (string, error) {
			return fmt.Sprintf("%s-%d", arg, generation.Load()), nil
		})
	}
	setBody := func(body string) {
		for _, pg := range pages {
			pg.body.Store(body)
		}
	}
	// warm has every process read everything, so that its near cache holds it.
	warm := func() {
		for i, p := range procs {
			get(handlers[i], "/products")
			get(handlers[i], "/products")
			_, _ = p.c.Get(ctx, "k")
			_, _ = p.c.Get(ctx, "k")
			_, _ = memos[i].Get(ctx, "r")
			_, _ = memos[i].Get(ctx, "r")
		}
	}
	require.NoError(t, procs[0].c.Set(ctx, "k", []byte("v1"), time.Minute))
	warm()

	require.NoError(t, procs[0].c.Set(ctx, "k", []byte("v2"), time.Minute))
	for _, p := range procs[1:] {
		got, err := p.c.Get(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, "v2", string(got), "write")
	}
	warm()
	require.NoError(t, procs[1].c.Delete(ctx, "k"))
	for _, p := range procs {
		_, err := p.c.Get(ctx, "k")
		assert.ErrorIs(t, err, caching.ErrNotFound, "delete")
	}

	setBody("B")
	require.NoError(t, procs[2].c.InvalidateTags(ctx, "products"))
	for i := range procs {
		body, _ := get(handlers[i], "/products")
		assert.Equal(t, "B", body, "tag invalidation")
	}
	warm()
	setBody("C")
	require.NoError(t, procs[0].c.InvalidatePath(ctx, "/products"))
	for i := range procs {
		body, _ := get(handlers[i], "/products")
		assert.Equal(t, "C", body, "path invalidation")
	}

	generation.Store(1)
	warm()
	for _, m := range memos {
		v, _ := m.Get(ctx, "r")
		assert.Equal(t, "r-0", v)
	}
	require.NoError(t, memos[1].ForgetAll(ctx))
	for _, m := range memos {
		v, err := m.Get(ctx, "r")
		require.NoError(t, err)
		assert.Equal(t, "r-1", v, "ForgetAll")
	}

	require.NoError(t, procs[0].c.Set(ctx, "k", []byte("v3"), time.Minute))
	warm()
	setBody("D")
	require.NoError(t, procs[2].c.Clear(ctx))
	for i, p := range procs {
		assert.Zero(t, p.near.NearStats().Entries, "clear left values in a near cache")
		_, err := p.c.Get(ctx, "k")
		assert.ErrorIs(t, err, caching.ErrNotFound, "clear")
		body, _ := get(handlers[i], "/products")
		assert.Equal(t, "D", body, "clear")
	}
}

func TestNearHitSharesTheDecodedValue(t *testing.T) {
	ctx := context.Background()
	p := newProcess(t, newBus(t), near.Options{}, caching.Options{})
	type result struct{ N int }
	memo := caching.Memoize(p.c, "ptr", func(_ context.Context, n int) (*result, error) {
		return &result{N: n}, nil
	})
	first, err := memo.Get(ctx, 7) // computed, stored remote
	require.NoError(t, err)
	second, err := memo.Get(ctx, 7) // read remote, decoded, kept near
	require.NoError(t, err)
	third, err := memo.Get(ctx, 7) // near hit
	require.NoError(t, err)
	assert.Equal(t, 7, first.N)
	assert.NotSame(t, first, second)
	assert.Same(t, second, third, "a near hit decoded the entry again")
}

// TestNearEntryNeverOutlivesItsTTL: the near cache keeps an entry no longer
// than the entry itself lives.
func TestNearEntryNeverOutlivesItsTTL(t *testing.T) {
	ctx := context.Background()
	clock := testutil.NewClock()
	p := newProcess(t, newBus(t), near.Options{Clock: clock.Now, MaxStale: time.Hour}, caching.Options{Clock: clock.Now})
	require.NoError(t, p.c.Set(ctx, "k", []byte("v"), time.Second))
	_, err := p.c.Get(ctx, "k")
	require.NoError(t, err)
	reads := p.view.readCount()
	clock.Advance(time.Second - time.Nanosecond)
	_, err = p.c.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, reads, p.view.readCount(), "served near: %+v", p.near.NearStats())
	clock.Advance(time.Nanosecond)
	_, err = p.c.Get(ctx, "k")
	assert.ErrorIs(t, err, caching.ErrNotFound)
}

// TestConcurrentReadersAndWritersConverge: after concurrent writes and
// reads through three Caches stop, each reads the last value written.
func TestConcurrentReadersAndWritersConverge(t *testing.T) {
	ctx := context.Background()
	procs := threeProcesses(t)
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for n := range 200 {
				_ = p.c.Set(ctx, "k", fmt.Appendf(nil, "%d-%d", i, n), time.Minute, caching.Tags("t"))
				if n%50 == 0 {
					_ = p.c.InvalidateTags(ctx, "t")
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range 400 {
				_, _ = p.c.Get(ctx, "k")
			}
		}()
	}
	wg.Wait()
	require.NoError(t, procs[0].c.Set(ctx, "k", []byte("last"), time.Minute, caching.Tags("t")))
	for _, p := range procs {
		got, err := p.c.Get(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, "last", string(got))
	}
}

// TestNearFragmentHitCostsWhatALocalOneDoes: a template fragment found in
// the near cache reads nothing remote and allocates no more than one found
// in an in-process store (no timer for a remote read it does not make).
func TestNearFragmentHitCostsWhatALocalOneDoes(t *testing.T) {
	ctx := context.Background()
	render := func(w io.Writer) error { _, err := io.WriteString(w, "<ul>sidebar</ul>"); return err }
	p := newProcess(t, newBus(t), near.Options{}, caching.Options{})
	local := caching.Must(nil)
	t.Cleanup(func() { local.Close() })
	for _, c := range []*caching.Cache{p.c, local} {
		for range 2 { // stored, then read remote and kept near
			_, err := c.Fragment(ctx, "sidebar", time.Minute, render)
			require.NoError(t, err)
		}
	}
	reads := p.view.readCount()
	hit := func(c *caching.Cache) func() {
		return func() {
			if html, err := c.Fragment(ctx, "sidebar", time.Minute, render); err != nil || html != "<ul>sidebar</ul>" {
				t.Fatalf("Fragment = %q, %v", html, err)
			}
		}
	}
	nearAllocs, localAllocs := testing.AllocsPerRun(100, hit(p.c)), testing.AllocsPerRun(100, hit(local))
	assert.Equal(t, reads, p.view.readCount(), "a near hit read the remote store")
	assert.LessOrEqual(t, nearAllocs, localAllocs, "a near fragment hit allocates more than an in-process one")
}
