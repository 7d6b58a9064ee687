package flight_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/flight"
)

// doers runs the table of tests on each entry point.
var doers = []struct {
	name string
	do   func(g *flight.Group[string, int], ctx context.Context, key string, fn func(context.Context) (int, error)) (int, bool, error)
}{
	{"Do", (*flight.Group[string, int]).Do},
}

func TestConcurrentCallsRunOnce(t *testing.T) {
	for _, d := range doers {
		t.Run(d.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var g flight.Group[string, int]
				var runs atomic.Int32
				release := make(chan struct{})
				fn := func(context.Context) (int, error) {
					runs.Add(1)
					<-release
					return 42, nil
				}
				const n = 1000
				var wg sync.WaitGroup
				var joinedCount atomic.Int32
				results := make([]int, n)
				errs := make([]error, n)
				for i := range n {
					wg.Go(func() {
						v, joined, err := d.do(&g, t.Context(), "k", fn)
						results[i], errs[i] = v, err
						if joined {
							joinedCount.Add(1)
						}
					})
				}
				synctest.Wait() // every caller has joined the one call
				close(release)
				wg.Wait()
				assert.Equal(t, int32(1), runs.Load())
				assert.Equal(t, int32(n-1), joinedCount.Load(), "every caller but the first joined")
				for i := range n {
					require.NoError(t, errs[i])
					require.Equal(t, 42, results[i])
				}
			})
		})
	}
}

func TestSequentialCallsRunAgain(t *testing.T) {
	var g flight.Group[string, int]
	for i := range 3 {
		v, joined, err := g.Do(t.Context(), "k", func(context.Context) (int, error) { return i, nil })
		require.NoError(t, err)
		assert.False(t, joined)
		assert.Equal(t, i, v)
	}
}

func TestDistinctKeysDoNotShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		release := make(chan struct{})
		var wg sync.WaitGroup
		got := map[string]int{}
		var mu sync.Mutex
		for _, k := range []string{"a", "b"} {
			wg.Go(func() {
				v, _, err := g.Do(t.Context(), k, func(context.Context) (int, error) { <-release; return len(k) * int(k[0]), nil })
				require.NoError(t, err)
				mu.Lock()
				got[k] = v
				mu.Unlock()
			})
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		assert.Equal(t, map[string]int{"a": 'a', "b": 'b'}, got)
	})
}

func TestErrorReachesEveryWaiter(t *testing.T) {
	for _, d := range doers {
		t.Run(d.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var g flight.Group[string, int]
				boom := errors.New("boom")
				release := make(chan struct{})
				var wg sync.WaitGroup
				var failures atomic.Int32
				for range 10 {
					wg.Go(func() {
						_, _, err := d.do(&g, t.Context(), "k", func(context.Context) (int, error) { <-release; return 0, boom })
						if errors.Is(err, boom) {
							failures.Add(1)
						}
					})
				}
				synctest.Wait()
				close(release)
				wg.Wait()
				assert.Equal(t, int32(10), failures.Load())
			})
		})
	}
}

// TestCancelledCallerReturnsPromptly: a caller whose context is done leaves
// at once with its ctx.Err(), while the work finishes for the others. With Do
// this holds for the first caller too.
func TestCancelledCallerReturnsPromptly(t *testing.T) {
	for _, d := range doers {
		t.Run(d.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var g flight.Group[string, int]
				release := make(chan struct{})
				var runs atomic.Int32
				fn := func(ctx context.Context) (int, error) {
					runs.Add(1)
					<-release
					return 7, nil
				}
				// The first caller stays; with Do it is cancelled below as well.
				firstCtx, cancelFirst := context.WithCancel(t.Context())
				defer cancelFirst()
				type result struct {
					v   int
					err error
				}
				first := make(chan result, 1)
				go func() {
					v, _, err := d.do(&g, firstCtx, "k", fn)
					first <- result{v, err}
				}()
				synctest.Wait()

				waiterCtx, cancelWaiter := context.WithCancel(t.Context())
				leaver := make(chan result, 1)
				go func() {
					v, _, err := d.do(&g, waiterCtx, "k", fn)
					leaver <- result{v, err}
				}()
				stayer := make(chan result, 1)
				go func() {
					v, _, err := d.do(&g, t.Context(), "k", fn)
					stayer <- result{v, err}
				}()
				synctest.Wait()

				cancelWaiter()
				synctest.Wait()
				select {
				case r := <-leaver:
					assert.ErrorIs(t, r.err, context.Canceled)
					assert.Zero(t, r.v)
				default:
					t.Fatal("cancelled waiter still blocked while the work runs")
				}

				if d.name == "Do" {
					cancelFirst()
					synctest.Wait()
					select {
					case r := <-first:
						assert.ErrorIs(t, r.err, context.Canceled)
					default:
						t.Fatal("cancelled first caller still blocked while the work runs")
					}
				}

				close(release)
				r := <-stayer
				require.NoError(t, r.err)
				assert.Equal(t, 7, r.v)
				assert.Equal(t, int32(1), runs.Load())
			})
		})
	}
}

func TestDoWorkContextKeepsValuesNotCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		type ctxKey struct{}
		ctx, cancel := context.WithCancel(context.WithValue(t.Context(), ctxKey{}, "v"))
		workCtx := make(chan context.Context, 1)
		release := make(chan struct{})
		go func() {
			_, _, err := g.Do(ctx, "k", func(ctx context.Context) (int, error) {
				workCtx <- ctx
				<-release
				return 1, ctx.Err()
			})
			assert.ErrorIs(t, err, context.Canceled)
		}()
		wctx := <-workCtx
		cancel()
		synctest.Wait()
		assert.NoError(t, wctx.Err(), "the work's context is cancelled with its first caller")
		assert.Equal(t, "v", wctx.Value(ctxKey{}))
		close(release)
	})
}

func TestDoAlreadyCancelledDoesNotStartWork(t *testing.T) {
	var g flight.Group[string, int]
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := g.Do(ctx, "k", func(context.Context) (int, error) {
		t.Error("work started for a cancelled caller")
		return 0, nil
	})
	assert.ErrorIs(t, err, context.Canceled)
}

func recoverPanicError(f func()) (pe *flight.PanicError) {
	defer func() {
		r := recover()
		pe, _ = r.(*flight.PanicError)
	}()
	f()
	return nil
}

func TestPanicReachesEveryWaiter(t *testing.T) {
	for _, d := range doers {
		t.Run(d.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var g flight.Group[string, int]
				release := make(chan struct{})
				fn := func(context.Context) (int, error) {
					<-release
					panic("kaboom")
				}
				var leaderPanic any
				leaderDone := make(chan struct{})
				go func() {
					defer close(leaderDone)
					defer func() { leaderPanic = recover() }()
					_, _, _ = d.do(&g, t.Context(), "k", fn)
				}()
				synctest.Wait()
				const n = 10
				var wg sync.WaitGroup
				panics := make([]*flight.PanicError, n)
				for i := range n {
					wg.Go(func() {
						panics[i] = recoverPanicError(func() { _, _, _ = d.do(&g, t.Context(), "k", fn) })
					})
				}
				synctest.Wait()
				close(release)
				wg.Wait()
				<-leaderDone
				for i, pe := range panics {
					require.NotNil(t, pe, "waiter %d did not panic with a *PanicError", i)
					assert.Equal(t, "kaboom", pe.Value)
					assert.Contains(t, string(pe.Stack), "flight_test", "stack of the panicking goroutine")
				}
				pe, ok := leaderPanic.(*flight.PanicError)
				require.True(t, ok, "first caller got %v", leaderPanic)
				assert.Equal(t, "kaboom", pe.Value)
			})
		})
	}
}

// TestPanicWithNobodyWaitingIsDropped: a panic in work whose callers all left
// must not crash the process (the test binary would die if it did).
func TestPanicWithNobodyWaitingIsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		release := make(chan struct{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel2 := make(chan struct{})
		go func() {
			_, _, err := g.Do(ctx, "k", func(context.Context) (int, error) {
				close(cancel2)
				<-release
				panic("nobody listens")
			})
			assert.ErrorIs(t, err, context.Canceled)
		}()
		<-cancel2
		cancel()
		synctest.Wait()
		close(release)
		synctest.Wait()
		// The group is usable afterwards.
		v, _, err := g.Do(t.Context(), "k", func(context.Context) (int, error) { return 3, nil })
		require.NoError(t, err)
		assert.Equal(t, 3, v)
	})
}

func TestPanicErrorUnwrapsErrorValues(t *testing.T) {
	var g flight.Group[string, int]
	sentinel := errors.New("abort")
	pe := recoverPanicError(func() {
		_, _, _ = g.Do(t.Context(), "k", func(context.Context) (int, error) { panic(sentinel) })
	})
	require.NotNil(t, pe)
	assert.ErrorIs(t, pe, sentinel)
	assert.Contains(t, pe.Error(), "abort")
}

func TestGoexitGivesWaitersAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		_, _, err := g.Do(t.Context(), "k", func(context.Context) (int, error) {
			runtime.Goexit()
			return 0, nil
		})
		assert.ErrorIs(t, err, flight.ErrGoexit)

	})
}

func TestForgetStartsNewWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		release := make(chan struct{})
		old := make(chan int, 1)
		go func() {
			v, _, _ := g.Do(t.Context(), "k", func(context.Context) (int, error) { <-release; return 1, nil })
			old <- v
		}()
		synctest.Wait()
		g.Forget("k")
		v, _, err := g.Do(t.Context(), "k", func(context.Context) (int, error) { return 2, nil })
		require.NoError(t, err)
		assert.Equal(t, 2, v, "a call after Forget joined the old work")
		close(release)
		assert.Equal(t, 1, <-old, "the old work's caller keeps its result")
		// The old call finishing must not remove a newer call from the group.
		release2 := make(chan struct{})
		var runs atomic.Int32
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				_, _, _ = g.Do(t.Context(), "k", func(context.Context) (int, error) { runs.Add(1); <-release2; return 3, nil })
			})
		}
		synctest.Wait()
		close(release2)
		wg.Wait()
		assert.Equal(t, int32(1), runs.Load())
	})
}

// TestForgetAfterForgottenCallEnds: Forget does nothing when no call
// runs, which it learns from a count of the calls running; a call that was
// forgotten and then ends must not make a later Forget miss the newer call
// of its key.
func TestForgetAfterForgottenCallEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		g.Forget("k") // nothing runs
		releaseOld, releaseNew := make(chan struct{}), make(chan struct{})
		go func() {
			_, _, _ = g.Do(t.Context(), "k", func(context.Context) (int, error) { <-releaseOld; return 1, nil })
		}()
		synctest.Wait()
		g.Forget("k")
		go func() {
			_, _, _ = g.Do(t.Context(), "k", func(context.Context) (int, error) { <-releaseNew; return 2, nil })
		}()
		synctest.Wait()
		close(releaseOld)
		synctest.Wait() // the forgotten call has ended; the newer one runs
		g.Forget("k")
		v, _, err := g.Do(t.Context(), "k", func(context.Context) (int, error) { return 3, nil })
		require.NoError(t, err)
		assert.Equal(t, 3, v, "a call after Forget joined the work it forgot")
		close(releaseNew)
	})
}

func TestForgetAllStartsNewWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		release := make(chan struct{})
		for _, k := range []string{"a", "b"} {
			go func() {
				_, _, _ = g.Do(t.Context(), k, func(context.Context) (int, error) { <-release; return 1, nil })
			}()
		}
		synctest.Wait()
		g.ForgetAll()
		for _, k := range []string{"a", "b"} {
			v, _, err := g.Do(t.Context(), k, func(context.Context) (int, error) { return 2, nil })
			require.NoError(t, err)
			assert.Equal(t, 2, v, "key %s joined work started before ForgetAll", k)
		}
		close(release)
	})
}

// TestNoGoroutineLeak: synctest.Test fails if any goroutine started in the
// bubble is still blocked when the test function returns, so every path
// here (value, error, cancellation, panic) must leave nothing behind.
func TestNoGoroutineLeak(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[int, int]
		for i := range 50 {
			ctx, cancel := context.WithTimeout(t.Context(), time.Duration(i%3)*time.Millisecond)
			func() {
				defer func() { _ = recover() }()
				_, _, _ = g.Do(ctx, i%5, func(ctx context.Context) (int, error) {
					time.Sleep(time.Millisecond) // fake clock in the bubble
					if i%7 == 0 {
						panic(i)
					}
					return i, nil
				})
			}()
			cancel()
		}
		synctest.Wait()
	})
}

func BenchmarkDo(b *testing.B) {
	fn := func(context.Context) (int, error) { return 1, nil }
	ctx := context.Background()
	b.Run("impl=direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = fn(ctx)
		}
	})
	b.Run("impl=Do", func(b *testing.B) {
		var g flight.Group[string, int]
		b.ReportAllocs()
		for b.Loop() {
			_, _, _ = g.Do(ctx, "k", fn)
		}
	})
}

func BenchmarkDoParallel(b *testing.B) {
	fn := func(context.Context) (int, error) { return 1, nil }
	ctx := context.Background()
	for _, name := range []string{"Do"} {
		b.Run("impl="+name, func(b *testing.B) {
			var g flight.Group[int, int]
			var next atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				key := int(next.Add(1)) // one key per goroutine: uncontended keys, shared lock
				for pb.Next() {
					_, _, _ = g.Do(ctx, key, fn)
				}
			})
		})
	}
}

// TestDetachedWorkIsBounded: work whose callers all left runs on (its
// result is for the cache) for at most MaxDetached calls of a Group; past
// that, clients that ask and leave at once made work pile up that nobody
// waited for. The work of one more abandoned call is cancelled, and the
// next caller of its key starts new work.
func TestDetachedWorkIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[int, int]
		var running, cancelled atomic.Int32
		work := func(release chan struct{}) func(context.Context) (int, error) {
			return func(ctx context.Context) (int, error) {
				running.Add(1)
				defer running.Add(-1)
				select {
				case <-release:
					return 1, nil
				case <-ctx.Done():
					cancelled.Add(1)
					return 0, ctx.Err()
				}
			}
		}
		release := make(chan struct{})
		fn := work(release)
		abandon := func(key int) {
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _, err := g.Do(ctx, key, fn)
				assert.ErrorIs(t, err, context.Canceled)
			}()
			synctest.Wait() // the work runs
			cancel()
			<-done
			synctest.Wait()
		}
		for key := range flight.MaxDetached {
			abandon(key)
		}
		assert.EqualValues(t, flight.MaxDetached, running.Load(), "abandoned work runs on, up to the bound")
		assert.Zero(t, cancelled.Load())

		abandon(flight.MaxDetached)
		assert.EqualValues(t, flight.MaxDetached, running.Load(), "one more is cancelled")
		assert.EqualValues(t, 1, cancelled.Load())

		// A caller of a detached key joins its work; a caller of the
		// cancelled key starts new work.
		var joined0, joinedLast bool
		var wg sync.WaitGroup
		wg.Go(func() { _, joined0, _ = g.Do(t.Context(), 0, fn) })
		wg.Go(func() { _, joinedLast, _ = g.Do(t.Context(), flight.MaxDetached, fn) })
		synctest.Wait()
		assert.EqualValues(t, flight.MaxDetached+1, running.Load())
		close(release)
		wg.Wait()
		assert.True(t, joined0, "the detached work is joined")
		assert.False(t, joinedLast, "the cancelled work is not")

		// Finished, detached calls free their places.
		release = make(chan struct{})
		defer close(release)
		fn = work(release)
		for key := range flight.MaxDetached {
			abandon(1000 + key)
		}
		assert.EqualValues(t, 1, cancelled.Load())
		assert.EqualValues(t, flight.MaxDetached, running.Load())
		abandon(2000)
		assert.EqualValues(t, 2, cancelled.Load())
	})
}

// TestStartedBefore: StartedBefore tells the call a Do of key would join
// by the Stamp it began at, and reports false when none is in flight.
func TestStartedBefore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := int64(10)
		g := flight.Group[string, int]{Stamp: func() int64 { return now }}
		assert.False(t, g.StartedBefore("k", 100), "nothing in flight")
		release := make(chan struct{})
		go func() {
			_, _, _ = g.Do(t.Context(), "k", func(context.Context) (int, error) {
				<-release
				return 1, nil
			})
		}()
		synctest.Wait()
		now = 20
		assert.True(t, g.StartedBefore("k", 11))
		assert.False(t, g.StartedBefore("k", 10), "began at 10")
		assert.False(t, g.StartedBefore("other", 100))
		g.Forget("k")
		assert.False(t, g.StartedBefore("k", 100), "forgotten: a Do would not join it")
		close(release)
		synctest.Wait()
		assert.False(t, g.StartedBefore("k", 100))
	})
}
