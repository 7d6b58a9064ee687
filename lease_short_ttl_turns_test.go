package caching

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestLeaseShortTTLNoTurns: four processes (Caches on the real Redis) miss
// one memoized result whose TTL (5 ms) is shorter than the lease's poll
// gap. Process A runs it under the lease while the three others wait. A's
// result leaves the store before most waiters read the lease again: they
// found the lease gone with no entry, took it in turn, and ran one after
// the other, a poll gap apart (4 runs in 466 ms, against 108 ms with no
// lease). A now releases its lease as "not stored", so that the waiters run
// at once: one lease taken in all, not one per turn.
//
// The marker lives leaseShortLife (70 ms), a poll gap and a margin: a
// waiter that a loaded machine keeps from reading the lease for longer
// finds it gone, with no entry, and takes it, as it would a lease that
// expired (the lease is a best effort). So the test records every process's
// commands on the lease key: A's release is that marker; a waiter found the
// lease gone only where the marker may have expired by then; and a lease
// was taken in turn only after such a late read (none on an idle machine).
func TestLeaseShortTTLNoTurns(t *testing.T) {
	addr := testutil.RedisAddr(t)
	prefix := "caching-test:" + t.Name() + ":" + time.Now().Format("150405.000000") + ":"
	gate := make(chan struct{})
	var calls atomic.Int64
	fn := func(context.Context, int) (string, error) {
		if calls.Add(1) == 1 {
			<-gate
		}
		return "v", nil
	}
	var caches []*Cache
	var ms []*Memoized[int, string]
	rec := &leaseRecorder{lease: prefix + kindLease}
	for i := range 4 {
		rc := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, DialTimeout: testutil.SlowTimeout,
			ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout, PoolTimeout: testutil.SlowTimeout})
		t.Cleanup(func() { _ = rc.Close() })
		rc.AddHook(leaseHook{rec, i})
		s, err := redisstore.New(redisstore.Options{Client: rc, Prefix: prefix})
		require.NoError(t, err)
		// Timeout: the subject is the lease, not how fast a loaded Redis
		// answers; a waiter's Add that timed out would lead (mayHaveLanded).
		c := Must(&Options{Backend: s, Lease: time.Minute, Timeout: testutil.SlowTimeout})
		t.Cleanup(func() { _ = c.Clear(context.Background()); _ = c.Close() })
		caches = append(caches, c)
		ms = append(ms, Memoize(c, "f", fn, TTL(5*time.Millisecond)))
	}
	var wg sync.WaitGroup
	get := func(m *Memoized[int, string]) {
		wg.Go(func() {
			v, err := m.Get(context.Background(), 1)
			assert.NoError(t, err)
			assert.Equal(t, "v", v)
		})
	}
	get(ms[0])
	require.Eventually(t, func() bool { return calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	for _, m := range ms[1:] {
		get(m)
	}
	require.Eventually(t, func() bool {
		for _, c := range caches[1:] {
			if c.Stats().LeaseWaits != 1 {
				return false
			}
		}
		return true
	}, 5*time.Second, time.Millisecond, "the three others wait for A's lease")
	close(gate)
	wg.Wait()
	var leases int64
	for _, c := range caches {
		leases += c.Stats().Leases
	}
	late := rec.check(t)
	assert.LessOrEqual(t, leases-1, int64(late), "leases taken in turn, not after a waiter read the lease late")
	assert.GreaterOrEqual(t, leases, int64(1), "A's lease not taken")
	assert.EqualValues(t, 4, calls.Load(), "each process ran it: its result had left the store")
}

// leaseOp is one command on a lease key, by process proc, sent and
// answered at sent and done: a read (get) and what it found (nil: nothing),
// or a write (set, nx for an Add; del) with its value and life.
type leaseOp struct {
	proc       int
	cmd        string
	nx         bool
	value      []byte
	px         time.Duration
	sent, done time.Time
}

// leaseRecorder records the commands of several Redis clients on the keys
// that start with lease.
type leaseRecorder struct {
	lease string
	mu    sync.Mutex
	ops   []leaseOp
}

// leaseHook is the redis.Hook of process proc's client, recording into r.
type leaseHook struct {
	r    *leaseRecorder
	proc int
}

func (h leaseHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h leaseHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h leaseHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		key, _ := args[min(1, len(args)-1)].(string)
		if len(args) < 2 || !strings.HasPrefix(key, h.r.lease) {
			return next(ctx, cmd)
		}
		op := leaseOp{proc: h.proc, cmd: strings.ToLower(cmd.Name()), sent: time.Now()}
		err := next(ctx, cmd)
		op.done = time.Now()
		switch op.cmd {
		case "get":
			if sc, ok := cmd.(*redis.StringCmd); ok && err == nil {
				op.value = []byte(sc.Val())
			}
		case "set":
			op.value, _ = args[2].([]byte)
			for i := 3; i < len(args); i++ {
				switch a, _ := args[i].(string); a {
				case "nx":
					op.nx = true
				case "px":
					ms, _ := args[i+1].(int64)
					op.px = time.Duration(ms) * time.Millisecond
				}
			}
			if op.nx && err != nil {
				op.cmd = "set-not-added" // redis.Nil: another's lease held
			}
		}
		h.r.mu.Lock()
		h.r.ops = append(h.r.ops, op)
		h.r.mu.Unlock()
		return err
	}
}

// check checks what the processes did with the lease, A (process 0)
// leading: A released it as "not stored" for leaseShortLife, and no read
// found it gone before that marker may have expired (its answer came
// leaseShortLife after the marker was sent, or later: a late read). It
// returns how many reads were late, each of which may take the lease in
// turn, as a lease that expired is.
func (r *leaseRecorder) check(t *testing.T) (late int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var mark *leaseOp
	for i, op := range r.ops {
		if op.proc == 0 && op.cmd == "set" && !op.nx && string(op.value) == string(leaseMarkedValue) {
			mark = &r.ops[i]
			break
		}
	}
	if !assert.NotNil(t, mark, "A's lease not released as \"not stored\": %+v", r.ops) {
		return 0
	}
	assert.Equal(t, leaseShortLife.Round(time.Millisecond), mark.px, "A's marker's life")
	for _, get := range r.ops {
		if get.cmd != "get" || get.value != nil {
			continue
		}
		if after := get.done.Sub(mark.sent); after < mark.px {
			t.Errorf("process %d found the lease gone %v after A's marker was sent, which lives %v", get.proc, after, mark.px)
		} else {
			t.Logf("process %d found the lease gone %v after A's marker was sent: a late read", get.proc, after)
			late++
		}
	}
	return late
}
