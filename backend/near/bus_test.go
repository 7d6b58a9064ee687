package near_test

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
)

// bus is a remote store shared by several near caches, as one Redis is by
// several processes: every write made through any of its views is reported
// to every watching view before the write returns, as Redis reports it
// (sooner than Redis, which makes the tests deterministic).
type bus struct {
	store *simple.Store

	mu    sync.Mutex
	views []*busView
}

func newBus(t *testing.T) *bus {
	s := simple.Must(simple.Options{})
	t.Cleanup(func() { _ = s.Close() })
	return &bus{store: s}
}

// view returns a new view of the bus: one process's connection to it.
func (b *bus) view() *busView {
	v := &busView{Store: b.store, bus: b}
	b.mu.Lock()
	b.views = append(b.views, v)
	b.mu.Unlock()
	return v
}

// publish reports keys (nil: every key) to every watching view.
func (b *bus) publish(keys []string) {
	b.mu.Lock()
	views := append([]*busView(nil), b.views...)
	b.mu.Unlock()
	for _, v := range views {
		v.report(keys)
	}
}

// busView is one process's view of a bus: a backend.Backend with every
// capability of Redis's store, and a near.Watcher.
type busView struct {
	*simple.Store
	bus *bus

	mu       sync.Mutex
	changed  func([]string)
	state    func(bool)
	watching bool
	// onRead, if set, runs inside every read of the remote store, after
	// the values are read and before they are returned.
	onRead func(keys []string)
	reads  int
}

func (v *busView) WatchInvalidations(changed func([]string), state func(bool)) (io.Closer, error) {
	v.mu.Lock()
	v.changed, v.state = changed, state
	v.mu.Unlock()
	v.setWatching(true)
	return closerFunc(func() error {
		v.setWatching(false)
		v.mu.Lock()
		v.changed, v.state = nil, nil
		v.mu.Unlock()
		return nil
	}), nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// setWatching makes the view's watch established or lost.
func (v *busView) setWatching(on bool) {
	v.mu.Lock()
	state := v.state
	changed := on != v.watching
	v.watching = on
	v.mu.Unlock()
	if state != nil && changed {
		state(on)
	}
}

func (v *busView) report(keys []string) {
	v.mu.Lock()
	changed, watching := v.changed, v.watching
	v.mu.Unlock()
	if changed != nil && watching {
		changed(keys)
	}
}

// readCount is the number of remote reads made through the view.
func (v *busView) readCount() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.reads
}

func (v *busView) read(keys []string) {
	v.mu.Lock()
	v.reads++
	hook := v.onRead
	v.mu.Unlock()
	if hook != nil {
		hook(keys)
	}
}

func (v *busView) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := v.Store.Get(ctx, key)
	v.read([]string{key})
	return b, err
}

func (v *busView) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	vals, err := v.Store.GetMany(ctx, keys)
	v.read(keys)
	return vals, err
}

func (v *busView) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	defer v.bus.publish([]string{key})
	return v.Store.Set(ctx, key, value, ttl)
}

func (v *busView) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	defer v.bus.publish([]string{key})
	return v.Store.Add(ctx, key, value, ttl)
}

func (v *busView) Delete(ctx context.Context, keys ...string) error {
	defer v.bus.publish(keys)
	return v.Store.Delete(ctx, keys...)
}

func (v *busView) SetMany(ctx context.Context, items []backend.Item) error {
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = it.Key
	}
	defer v.bus.publish(keys)
	return v.Store.SetMany(ctx, items)
}

func (v *busView) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	defer v.bus.publish([]string{key})
	return v.Store.Incr(ctx, key, delta)
}

func (v *busView) Clear(ctx context.Context) error {
	defer v.bus.publish(nil)
	return v.Store.Clear(ctx)
}

// Close leaves the shared store open.
func (v *busView) Close() error { return nil }
