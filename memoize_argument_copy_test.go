package caching

import (
	"context"
	"math/big"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// limitQuery is an argument the copy made for a computation shares with
// the caller: a *big.Int (a struct with unexported fields, keyed by its
// GobEncode) is never copied.
type limitQuery struct{ N *big.Int }

// TestMemoizeChangedArgumentResultNotHandedToJoiners: the leader's ctx ends
// and its caller reuses the *big.Int it passed (5 becomes 6) while fn runs
// on, so that fn computes 6's result. It is not stored, and it must not
// reach the callers that joined the computation of 5's key either: they
// compute again, each for its own argument. So on a failed lookup (fn runs
// without the backend) and when the computation joined is a background
// refresh.
func TestMemoizeChangedArgumentResultNotHandedToJoiners(t *testing.T) {
	for _, via := range []string{"miss", "down", "refresh"} {
		t.Run(via, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := &remote{Backend: newSimple(t, nil)}
				c, err := New(&Options{Backend: st, Breaker: BreakerOptions{Threshold: -1}})
				require.NoError(t, err)
				defer c.Close()
				var block atomic.Bool
				release := make(chan struct{})
				m := Memoize(c, "limit", func(_ context.Context, q limitQuery) (string, error) {
					if block.Load() {
						<-release
					}
					return "result for " + q.N.String(), nil
				}, TTL(time.Minute), StaleWhileRevalidate(time.Hour))

				x := big.NewInt(5)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				leaderDone := make(chan struct{})
				if via == "refresh" {
					_, err := m.Get(ctx, limitQuery{N: big.NewInt(5)})
					require.NoError(t, err)
					time.Sleep(2 * time.Minute) // stale
					block.Store(true)
					_, err = m.Get(ctx, limitQuery{N: x}) // starts the refresh
					require.NoError(t, err)
					close(leaderDone)
					// The next caller finds no entry and joins the
					// refresh's flight.
					key, err := m.Key(limitQuery{N: big.NewInt(5)})
					require.NoError(t, err)
					require.NoError(t, st.Backend.Delete(ctx, key))
				} else {
					st.fail.Store(via == "down")
					block.Store(true)
					go func() {
						defer close(leaderDone)
						_, _ = m.Get(ctx, limitQuery{N: x})
					}()
				}
				synctest.Wait()
				var got string
				joinerDone := make(chan struct{})
				go func() {
					defer close(joinerDone)
					got, err = m.Get(t.Context(), limitQuery{N: big.NewInt(5)})
				}()
				synctest.Wait() // joined
				cancel()
				<-leaderDone  // the leader's caller has returned
				x.SetInt64(6) // and reuses its value
				block.Store(false)
				close(release)
				<-joinerDone
				require.NoError(t, err)
				assert.Equal(t, "result for 5", got, "a caller of 5 got the result computed for another argument")
			})
		})
	}
}

// keyedParts is an argument that chooses its own key: the encoder never
// walks Parts, and neither may the copier.
type keyedParts struct {
	ID    string
	Parts []any
}

func (q keyedParts) CacheKey() string { return q.ID }

// TestMemoizeCopyOfSharedSlicesIsBounded: an argument whose key is its
// CacheKey may hold slices shared in a DAG, or a slice that holds itself;
// a copier that walks them copies each path again (2^depth copies), and
// Get never returns.
func TestMemoizeCopyOfSharedSlicesIsBounded(t *testing.T) {
	c, err := New(&Options{})
	require.NoError(t, err)
	defer c.Close()
	m := Memoize(c, "shape", func(_ context.Context, q keyedParts) (string, error) { return q.ID, nil }, TTL(time.Minute))

	s := make([]any, 2)
	s[0], s[1] = s, s // a slice that holds itself twice
	done := make(chan error, 1)
	go func() {
		_, err := m.Get(context.Background(), keyedParts{ID: "q1", Parts: s})
		done <- err
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Get of a CacheKey argument holding a self-referencing slice did not return in 5s")
	}
}

// lockedRegistry is state a request carries along (its key is its ID alone),
// that other goroutines change under a lock of their own.
type lockedRegistry struct{ Items map[string]int }

type registryRequest struct {
	ID  string
	Reg *lockedRegistry
}

// TestMemoizeKeyFuncArgumentIsNotWalked: with KeyFunc, nothing but the key
// function and fn read the argument; a copier that walks every exported
// map reachable from it reads it unlocked, racing with the program's
// writers (a fatal "concurrent map iteration and map write" without -race).
func TestMemoizeKeyFuncArgumentIsNotWalked(t *testing.T) {
	c, err := New(&Options{})
	require.NoError(t, err)
	defer c.Close()
	m := Memoize(c, "req", func(_ context.Context, r registryRequest) (string, error) { return r.ID, nil },
		TTL(time.Minute), KeyFunc(func(r registryRequest) string { return r.ID }))

	var mu sync.Mutex
	reg := &lockedRegistry{Items: map[string]int{"a": 1}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			mu.Lock()
			reg.Items["k"] = i
			mu.Unlock()
		}
	}()
	for i := range 200 {
		_, err := m.Get(context.Background(), registryRequest{ID: string(rune('a'+i%26)) + time.Now().String(), Reg: reg})
		require.NoError(t, err)
	}
	close(stop)
	wg.Wait()
}

// TestMemoizeKeyFuncChangedArgumentNotStored: with KeyFunc the argument is
// not copied; a caller that leaves and changes what the key function reads
// while fn runs on gets no result stored under the key it started with,
// and a caller that joined computes its own.
func TestMemoizeKeyFuncChangedArgumentNotStored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{})
		require.NoError(t, err)
		defer c.Close()
		type req struct{ IDs []string }
		var block atomic.Bool
		block.Store(true)
		release := make(chan struct{})
		m := Memoize(c, "req", func(_ context.Context, r req) (string, error) {
			if block.Load() {
				<-release
			}
			return "result for " + r.IDs[0], nil
		}, TTL(time.Minute), KeyFunc(func(r req) string { return r.IDs[0] }))

		ids := []string{"alice"}
		got, panicked, err := leaderLeavesJoiner(
			func(ctx context.Context) { _, _ = m.Get(ctx, req{IDs: ids}) },
			func() (string, error) { return m.Get(t.Context(), req{IDs: []string{"alice"}}) },
			func() { ids[0] = "mallory" },
			func() { block.Store(false); close(release) },
		)
		require.Nil(t, panicked)
		require.NoError(t, err)
		assert.Equal(t, "result for alice", got)
		synctest.Wait()
		v, err := m.Get(t.Context(), req{IDs: []string{"alice"}})
		require.NoError(t, err)
		assert.Equal(t, "result for alice", v, "alice's entry holds another argument's result")
	})
}

// sortedQuery is copied in part: its IDs are fn's own, its Limit shared.
type sortedQuery struct {
	IDs   []string
	Limit *big.Int
}

// TestMemoizeFnChangingItsOwnCopyIsStored: fn sorts the slice it was given
// (its own copy: the caller's is untouched). The copy's Limit is shared
// with the caller, so its key is checked again when fn returns; a change
// fn made to its own copy is none the caller could have made, and must not
// make every result a refused store, counted as an error.
func TestMemoizeFnChangingItsOwnCopyIsStored(t *testing.T) {
	c, err := New(&Options{})
	require.NoError(t, err)
	defer c.Close()
	var calls atomic.Int32
	m := Memoize(c, "sorted", func(_ context.Context, q sortedQuery) (int, error) {
		calls.Add(1)
		slices.Sort(q.IDs)
		return len(q.IDs), nil
	}, TTL(time.Minute))
	ctx := context.Background()
	for range 3 {
		ids := []string{"b", "a"}
		_, err := m.Get(ctx, sortedQuery{IDs: ids, Limit: big.NewInt(10)})
		require.NoError(t, err)
		assert.Equal(t, []string{"b", "a"}, ids, "fn changed the caller's slice")
	}
	assert.Equal(t, int32(1), calls.Load(), "fn ran on every Get: its result is never stored")
	assert.Zero(t, c.Stats().Errors)
}
