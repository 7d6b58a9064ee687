package caching

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// setHook wraps the writes of entries to a store (StoreValue in process, Set
// on a remote one): hook, while set, makes each write of its key, given the
// write itself to make (or not); delHook, each delete of delKey alone.
type setHook struct {
	mu      sync.Mutex
	key     string
	hook    func(write func() error) error
	delKey  string
	delHook func(del func() error) error
}

// onDelete makes the deletes of key alone go through hook until offDelete.
func (h *setHook) onDelete(key string, hook func(del func() error) error) {
	h.mu.Lock()
	h.delKey, h.delHook = key, hook
	h.mu.Unlock()
}

func (h *setHook) offDelete() { h.onDelete("", nil) }

func (h *setHook) runDelete(keys []string, del func() error) error {
	h.mu.Lock()
	hook := h.delHook
	if len(keys) != 1 || keys[0] != h.delKey {
		hook = nil
	}
	h.mu.Unlock()
	if hook == nil {
		return del()
	}
	return hook(del)
}

// on makes the writes of key go through hook until off.
func (h *setHook) on(key string, hook func(write func() error) error) {
	h.mu.Lock()
	h.key, h.hook = key, hook
	h.mu.Unlock()
}

func (h *setHook) off() { h.on("", nil) }

func (h *setHook) run(key string, write func() error) error {
	h.mu.Lock()
	hook := h.hook
	if key != h.key {
		hook = nil
	}
	h.mu.Unlock()
	if hook == nil {
		return write()
	}
	return hook(write)
}

// localSetHooked is the in-process store (its backend.ValueStore kept, so
// the Cache takes its in-process path) with its writes and deletes hooked.
type localSetHooked struct {
	localNoClose
	h *setHook
}

func (s localSetHooked) StoreValue(key string, v any, size int, ttl time.Duration) error {
	return s.h.run(key, func() error { return s.localNoClose.StoreValue(key, v, size, ttl) })
}

func (s localSetHooked) Delete(ctx context.Context, keys ...string) error {
	return s.h.runDelete(keys, func() error { return s.localNoClose.Delete(ctx, keys...) })
}

// remoteSetHooked is a remote store with its writes and deletes hooked.
type remoteSetHooked struct {
	backend.Backend
	h *setHook
}

func (s remoteSetHooked) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	return s.h.run(key, func() error { return s.Backend.Set(ctx, key, v, ttl) })
}

func (s remoteSetHooked) Delete(ctx context.Context, keys ...string) error {
	return s.h.runDelete(keys, func() error { return s.Backend.Delete(ctx, keys...) })
}

// setOrderStores are the stores the Set ordering tests run on: in process,
// remote (the in-process store behind the encoding), and Redis.
var setOrderStores = []struct {
	name string
	open func(t *testing.T, h *setHook) backend.Backend
}{
	{"local", func(t *testing.T, h *setHook) backend.Backend {
		return localSetHooked{localNoClose{newSimple(t, nil)}, h}
	}},
	{"remote", func(t *testing.T, h *setHook) backend.Backend {
		return remoteSetHooked{&remote{Backend: newSimple(t, nil)}, h}
	}},
	{"redis", func(t *testing.T, h *setHook) backend.Backend {
		return remoteSetHooked{openRedis(t, testutil.RedisAddr(t)), h}
	}},
}

// setOrderEnv is a memoized function over one of setOrderStores whose
// results are data's, and whose ArgTags can be held once (holdTags).
type setOrderEnv struct {
	m        *Memoized[int, string]
	key      string
	h        *setHook
	data     atomic.Value
	fail     atomic.Bool            // fn fails
	call     func() (string, error) // fn, where set (before the first call made after newSetOrderEnv)
	holdNext atomic.Pointer[chan struct{}]
	inTags   chan struct{}
}

func newSetOrderEnv(t *testing.T, open func(t *testing.T, h *setHook) backend.Backend, opts ...MemoOption) *setOrderEnv {
	env := &setOrderEnv{h: new(setHook), inTags: make(chan struct{}, 1)}
	// Its tests are about what is stored, not how fast: SlowTimeout, so a
	// loaded machine's stalled Redis reply fails none of them.
	c, err := New(&Options{Backend: open(t, env.h), Logger: slog.New(slog.DiscardHandler), Timeout: testutil.SlowTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	env.data.Store("old")
	env.m = Memoize(c, "set-order", func(context.Context, int) (string, error) {
		if env.call != nil {
			return env.call()
		}
		if env.fail.Load() {
			return "", errors.New("db: timeout")
		}
		return env.data.Load().(string), nil
	}, append([]MemoOption{TTL(time.Hour), ArgTags(func(int) []string {
		if release := env.holdNext.Swap(nil); release != nil {
			env.inTags <- struct{}{}
			<-*release
		}
		return []string{"t"}
	})}, opts...)...)
	env.key, err = env.m.Key(1)
	require.NoError(t, err)
	v, err := env.m.Get(context.Background(), 1)
	require.NoError(t, err)
	require.Equal(t, "old", v)
	return env
}

// holdTags holds the next call of ArgTags (Set's is made past its
// supersede, before its store) until release is called.
func (env *setOrderEnv) holdTags() (release func()) {
	ch := make(chan struct{})
	env.holdNext.Store(&ch)
	return sync.OnceFunc(func() { close(ch) })
}

// TestMemoizeSetSupersededStoresNothing: Set superseded the computations
// in flight, then stored r with no check of its own epoch: a call made
// after Set's supersede (a Refresh after an update, another Set, Forget)
// that wrote first was overwritten by Set's older result, served
// afterwards. Now Set's store is ordered as a computation's is, by its
// key's write lock: a Set superseded by a call that has written before it
// stores stores nothing (its result was replaced by the later call's, as
// if it had been stored first), and
// whichever call superseded last wins. A later Refresh whose fn fails
// removes the entry Set did not replace, as for a superseded Refresh.
func TestMemoizeSetSupersededStoresNothing(t *testing.T) {
	for _, st := range setOrderStores {
		t.Run(st.name, func(t *testing.T) {
			for _, later := range []struct {
				name string
				do   func(ctx context.Context, env *setOrderEnv) error
				want string // "": no entry
			}{
				{"Refresh", func(ctx context.Context, env *setOrderEnv) error {
					env.data.Store("new") // the update after Set
					v, err := env.m.Refresh(ctx, 1)
					assert.Equal(t, "new", v)
					return err
				}, "new"},
				{"Set", func(ctx context.Context, env *setOrderEnv) error { return env.m.Set(ctx, 1, "set 2") }, "set 2"},
				{"Forget", func(ctx context.Context, env *setOrderEnv) error { return env.m.Forget(ctx, 1) }, ""},
				{"failed Refresh", func(ctx context.Context, env *setOrderEnv) error {
					env.fail.Store(true)
					_, err := env.m.Refresh(ctx, 1)
					assert.Error(t, err)
					env.fail.Store(false)
					return nil
				}, ""},
			} {
				t.Run(later.name, func(t *testing.T) {
					ctx := context.Background()
					env := newSetOrderEnv(t, st.open)
					release := env.holdTags()
					set := make(chan error, 1)
					go func() { set <- env.m.Set(ctx, 1, "set 1") }()
					<-env.inTags // Set has superseded, and not stored yet
					require.NoError(t, later.do(ctx, env))
					release()
					require.NoError(t, <-set, "Set's result was replaced by a later call's")

					v, _, err := env.m.Peek(ctx, 1)
					if later.want == "" {
						assert.ErrorIs(t, err, ErrNotFound, "got %q", v)
						return
					}
					require.NoError(t, err)
					assert.Equal(t, later.want, v, "the call that superseded last wins")
				})
			}
		})
	}
}

// hungSets is a remote store whose writes hang until their context ends.
type hungSets struct{ backend.Backend }

func (hungSets) Set(ctx context.Context, _ string, _ []byte, _ time.Duration) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestMemoizeSetBoundedUnderSaveMu: Set's store was made holding saveMu
// (read), which every supersede of the name waited for; now it holds its
// key's write lock, which the next write of the key waits for. It is
// bounded by Options.Timeout, as a computation's store is, so that a hung
// backend fails the Set rather than holding the next Forget, Refresh and
// Set for as long as the caller's context (here, for ever).
func TestMemoizeSetBoundedUnderSaveMu(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{Backend: hungSets{&remote{Backend: newSimple(t, nil)}}, Timeout: time.Second,
			Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		defer c.Close()
		m := Memoize(c, "set-hung", func(context.Context, int) (string, error) { return "v", nil })
		err = m.Set(context.Background(), 1, "set")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.NoError(t, m.Forget(context.Background(), 1), "a supersede after a hung Set")
	})
}
