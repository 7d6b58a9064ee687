package near_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/internal/testutil"
)

// TestLeaseWaiterReadsPastItsNearVaryRecord: a page that varies on X-V,
// whose Vary record process B keeps in memory, listing variant a only. A
// and B miss variant b at once; A takes its lease and runs the handler, B
// waits. A's run stores variant b and the record listing it; the news of
// those writes reaches B late (300 ms). B's looks after the wait dropped
// its memory's copy of the variant's entry only, not the record's, which
// still did not list b: B took the lease and ran the handler a second
// time. It must read the remote record and serve A's response.
func TestLeaseWaiterReadsPastItsNearVaryRecord(t *testing.T) {
	addr := testutil.RedisAddr(t)
	prefix := fmt.Sprintf("near-lease-vary-news-%d", time.Now().UnixNano())
	a := openProcess(t, addr, prefix, 0)
	b := openProcess(t, addr, prefix, 300*time.Millisecond)
	var runs atomic.Int64
	started := make(chan struct{}) // A's run of variant b has begun: A holds its lease
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := runs.Add(1)
		if r.Header.Get("X-V") == "b" && n == 2 {
			close(started)
			time.Sleep(100 * time.Millisecond)
		}
		w.Header().Set("Vary", "X-V")
		fmt.Fprintf(w, "%s #%d", r.Header.Get("X-V"), n)
	})
	opts := []caching.ViewOption{caching.Lease(3 * time.Second), caching.CacheStatusHeader("X-Cache")}
	va, vb := a.Cached(time.Hour, opts...)(h), b.Cached(time.Hour, opts...)(h)
	get := func(v http.Handler, variant string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/p", nil)
		r.Header.Set("X-V", variant)
		w := httptest.NewRecorder()
		v.ServeHTTP(w, r)
		return w
	}

	require.Equal(t, "a #1", get(va, "a").Body.String())
	// The news of A's writes has reached B: the delay is applied to each
	// message in turn, so that news still on its way after B's read below
	// would drop B's copy of the record and B would read the remote one
	// whatever the lease does (the test would not test it).
	time.Sleep(2500 * time.Millisecond)
	w := get(vb, "a") // B keeps the record (listing a) in memory
	require.Equal(t, "a #1", w.Body.String())
	require.Equal(t, "HIT", w.Header().Get("X-Cache"))

	var wg sync.WaitGroup
	var fromA *httptest.ResponseRecorder
	wg.Go(func() { fromA = get(va, "b") })
	<-started
	fromB := get(vb, "b")
	wg.Wait()
	assert.Equal(t, "b #2", fromA.Body.String())
	assert.Equal(t, "b #2", fromB.Body.String())
	assert.Equal(t, "HIT", fromB.Header().Get("X-Cache"))
	assert.EqualValues(t, 2, runs.Load(), "runs: a, then A's b; B must not run b again")
}
