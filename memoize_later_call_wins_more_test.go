package caching

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// laterWinsForcedKey is the context key of a Get that RefreshIf forces in
// the test below.
type laterWinsForcedKey struct{}

// TestMemoizeLaterCallWinsMore is TestMemoizeLaterCallWins with more kinds
// of calls: Gets that RefreshIf forces, Refreshes whose fn fails or whose
// result StoreIf refuses, background refreshes of stale entries
// (StaleWhileRevalidate), and writes the backend refuses. A call that
// returned an error makes no promise, and is not counted as a later call;
// a plain Get is not counted either. It fails at e1ca3e9^ (a superseded
// Refresh stored nothing) and passed 6 runs after it.
func TestMemoizeLaterCallWinsMore(t *testing.T) {
	for _, st := range setOrderStores {
		t.Run(st.name, func(t *testing.T) {
			h := new(setHook)
			c, err := New(&Options{Backend: st.open(t, h), Logger: slog.New(slog.DiscardHandler), Timeout: testutil.SlowTimeout})
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			var computed atomic.Int64
			var refuseWrites atomic.Bool
			m := Memoize(c, "later-wins-more-"+st.name+strconv.FormatInt(time.Now().UnixNano(), 36), func(ctx context.Context, a int) (string, error) {
				if rand.IntN(2) == 0 {
					runtime.Gosched()
				}
				op, ok := ctx.Value(laterWinsOpKey{}).(int)
				if !ok {
					op = -1 // a Get's own computation without an op: a miss, or a background refresh
				}
				switch rand.IntN(10) {
				case 0:
					return "", errors.New("db: timeout")
				case 1:
					return fmt.Sprintf("f%d/%dx", op, computed.Add(1)), nil // refused by StoreIf
				}
				return fmt.Sprintf("f%d/%d", op, computed.Add(1)), nil
			}, TTL(30*time.Millisecond), StaleWhileRevalidate(time.Hour),
				StoreIf(func(v string) bool { return !strings.HasSuffix(v, "x") }),
				RefreshIf(func(ctx context.Context, _ int) bool { return ctx.Value(laterWinsForcedKey{}) != nil }))
			key := func(a int) string { k, _ := m.Key(a); return k }
			rounds := 60
			if st.name == "redis" {
				rounds = 20
			}
			for round := range rounds {
				h.on(key(round), func(write func() error) error {
					if refuseWrites.Load() && rand.IntN(4) == 0 {
						return errors.New("OOM command not allowed")
					}
					return write()
				})
				refuseWrites.Store(round%3 == 0)
				laterWinsMoreRound(t, m, round)
			}
		})
	}
}

// laterWinsMoreRound is laterWinsRound with the calls above.
func laterWinsMoreRound(t *testing.T, m *Memoized[int, string], a int) {
	ctx := context.Background()
	var clock atomic.Int64
	const workers, perWorker = 4, 4
	ops := make([]laterWinsOp, 2*workers*perWorker)
	failed := make([]bool, len(ops))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				id := 2 * (w*perWorker + i)
				op := &ops[id]
				kinds := []string{"set", "forget", "refresh", "set", "refresh", "forced", "get"}
				if a%10 == 0 {
					kinds = append(kinds, "forgetall")
				}
				op.kind = kinds[rand.IntN(len(kinds))]
				if op.kind == "get" {
					op.kind = "plainget" // a Get that may serve stale and start a refresh
				}
				op.start = clock.Add(1)
				var err error
				octx := context.WithValue(ctx, laterWinsOpKey{}, id)
				switch op.kind {
				case "set":
					err = m.Set(ctx, a, fmt.Sprintf("s%d", id))
				case "forget":
					err = m.Forget(ctx, a)
				case "refresh":
					_, err = m.Refresh(octx, a)
				case "forced":
					_, err = m.Get(context.WithValue(octx, laterWinsForcedKey{}, true), a)
				case "plainget":
					_, err = m.Get(ctx, a)
				case "forgetall":
					err = m.ForgetAll(ctx)
				}
				op.end = clock.Add(1)
				failed[id] = err != nil || op.kind == "plainget"
				g := &ops[id+1]
				g.kind = "get"
				g.start = clock.Add(1)
				g.got, err = m.Get(ctx, a) // unlabelled: a refresh it starts runs with its values
				g.end = clock.Add(1)
				if err != nil {
					g.got = ""
				}
				if i%2 == 1 {
					time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond) // let entries go stale
				}
			}
		})
	}
	wg.Wait()
	gets := slices.Clone(ops)
	for i := range ops {
		if failed[i] {
			// Not a later call: laterWinsCheck counts none of the Gets.
			// Its result, if any, was not stored, and is not served.
			ops[i].kind = "get"
		}
	}
	for _, g := range gets {
		if g.kind == "get" && g.got != "" {
			laterWinsCheck(t, a, ops, g.got, g.start)
		}
	}
}
