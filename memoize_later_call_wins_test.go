package caching

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// laterWinsOpKey is the context key under which a call of the stress test
// below tells fn which operation it computes for.
type laterWinsOpKey struct{}

// laterWinsOp is one call of the stress test: its kind, when it began and
// returned on one logical clock shared by every goroutine, and for a Get
// what it returned.
type laterWinsOp struct {
	kind       string
	start, end int64
	got        string
}

// TestMemoizeLaterCallWins runs Set, Forget, Refresh and ForgetAll of one
// argument concurrently, many rounds, each followed by a Get, and checks
// what each Get (and a last one after them all) is served against real
// time: the call whose result is served must not have returned before
// another of them began that returned before the Get began. That call was
// followed, entirely, by one that superseded it ("the later call wins"),
// so serving its result is serving a stale value. It found a superseded
// Refresh returning while the entry of before it was served (see
// TestMemoizeSupersededRefreshStores) and a Set or Forget returning
// before the delete of a ForgetAll that came during its check (see
// TestMemoizeSupersededSetWaitsForForgetAllDuringItsCheck).
func TestMemoizeLaterCallWins(t *testing.T) {
	for _, st := range setOrderStores {
		t.Run(st.name, func(t *testing.T) {
			c, err := New(&Options{Backend: st.open(t, new(setHook)), Logger: slog.New(slog.DiscardHandler), Timeout: testutil.SlowTimeout})
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			var computed atomic.Int64
			m := Memoize(c, "later-wins-"+st.name+strconv.FormatInt(time.Now().UnixNano(), 36), func(ctx context.Context, a int) (string, error) {
				if rand.IntN(2) == 0 {
					runtime.Gosched()
				}
				op, ok := ctx.Value(laterWinsOpKey{}).(int)
				if !ok {
					op = -1 // the final Get's own computation: a miss
				}
				return fmt.Sprintf("f%d/%d", op, computed.Add(1)), nil
			}, TTL(time.Hour))
			rounds := 200
			if st.name == "redis" {
				rounds = 50
			}
			for round := range rounds {
				laterWinsRound(t, m, round)
			}
		})
	}
}

// laterWinsRound is one round of TestMemoizeLaterCallWins on argument a:
// ForgetAll is among the calls every tenth round. Times are ticks of one
// logical clock shared by the goroutines.
func laterWinsRound(t *testing.T, m *Memoized[int, string], a int) {
	ctx := context.Background()
	var clock atomic.Int64
	const workers, perWorker = 4, 3
	ops := make([]laterWinsOp, 2*workers*perWorker)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				id := 2 * (w*perWorker + i)
				op := &ops[id]
				kinds := []string{"set", "forget", "refresh", "set", "refresh"}
				if a%10 == 0 {
					kinds = append(kinds, "forgetall")
				}
				op.kind = kinds[rand.IntN(len(kinds))]
				op.start = clock.Add(1)
				var err error
				switch op.kind {
				case "set":
					err = m.Set(ctx, a, fmt.Sprintf("s%d", id))
				case "forget":
					err = m.Forget(ctx, a)
				case "refresh":
					_, err = m.Refresh(context.WithValue(ctx, laterWinsOpKey{}, id), a)
				case "forgetall":
					err = m.ForgetAll(ctx)
				}
				op.end = clock.Add(1)
				assert.NoError(t, err, "op %d %s", id, op.kind)
				g := &ops[id+1]
				g.kind = "get"
				g.start = clock.Add(1)
				g.got, err = m.Get(context.WithValue(ctx, laterWinsOpKey{}, id+1), a)
				g.end = clock.Add(1)
				assert.NoError(t, err, "get after op %d", id)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	got, err := m.Get(ctx, a)
	require.NoError(t, err)
	for _, g := range ops {
		if g.kind == "get" {
			laterWinsCheck(t, a, ops, g.got, g.start)
		}
	}
	laterWinsCheck(t, a, ops, got, clock.Add(1))
}

// laterWinsCheck fails t if got, served by a Get that began at start, is the
// result of a call that another call, made after it returned, superseded
// before start.
func laterWinsCheck(t *testing.T, a int, ops []laterWinsOp, got string, start int64) {
	t.Helper()
	var winner int
	switch {
	case strings.HasPrefix(got, "s"):
		winner, _ = strconv.Atoi(got[1:])
	case strings.HasPrefix(got, "f-1/"):
		return // the final Get's computation: a miss
	default:
		winner, _ = strconv.Atoi(strings.SplitN(got[1:], "/", 2)[0])
	}
	w := ops[winner]
	for i, o := range ops {
		if o.kind != "get" && o.start > w.end && o.end < start {
			t.Fatalf("round %d: a Get at %d served %q, the result of op %d (%s, [%d,%d]), though op %d (%s, [%d,%d]) began after it returned and returned before the Get began: the later call must win; ops: %+v",
				a, start, got, winner, w.kind, w.start, w.end, i, o.kind, o.start, o.end, ops)
		}
	}
}
