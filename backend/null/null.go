// Package null provides a backend that stores nothing: every read misses.
//
// Use it to switch caching off by configuration (the response cache and
// Memoize then call through to the handler or function every time) and in
// tests that must not see cached values.
package null

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/go-caching/caching/backend"
)

// Store stores nothing. Its zero value is ready to use and it is safe for
// concurrent use. Set and Add succeed (Add reports true: the key is always
// absent), Get misses, Incr returns delta (there is never a stored value to
// add it to).
type Store struct {
	closed atomic.Bool
}

// New returns a Store.
func New() *Store { return &Store{} }

var (
	_ backend.Backend       = (*Store)(nil)
	_ backend.GetManyer     = (*Store)(nil)
	_ backend.SetManyer     = (*Store)(nil)
	_ backend.Incrementer   = (*Store)(nil)
	_ backend.Haser         = (*Store)(nil)
	_ backend.DeleteCounter = (*Store)(nil)
)

func (b *Store) check(ttl time.Duration) error {
	if b.closed.Load() {
		return backend.ErrClosed
	}
	if err := backend.CheckTTL(ttl); err != nil {
		return fmt.Errorf("null: %w", err)
	}
	return nil
}

// Get always misses.
func (b *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if b.closed.Load() {
		return nil, backend.ErrClosed
	}
	return nil, backend.ErrNotFound
}

// Set discards the value.
func (b *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return b.check(ttl)
}

// Add discards the value and reports true.
func (b *Store) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := b.check(ttl); err != nil {
		return false, err
	}
	return true, nil
}

// Discards reports true: the store keeps nothing (backend.Discarder).
func (b *Store) Discards() bool { return true }

// Delete does nothing.
func (b *Store) Delete(ctx context.Context, keys ...string) error { return b.check(0) }

// DeleteCount removes nothing and returns 0 (backend.DeleteCounter).
func (b *Store) DeleteCount(ctx context.Context, keys ...string) (int, error) { return 0, b.check(0) }

// Clear does nothing.
func (b *Store) Clear(ctx context.Context) error { return b.check(0) }

// Close marks the backend closed; later calls return backend.ErrClosed.
func (b *Store) Close() error {
	b.closed.Store(true)
	return nil
}

// GetMany returns a miss for every key.
func (b *Store) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	if err := b.check(0); err != nil {
		return nil, err
	}
	return make([][]byte, len(keys)), nil
}

// SetMany discards the items.
func (b *Store) SetMany(ctx context.Context, items []backend.Item) error {
	for _, it := range items {
		if err := b.check(it.TTL); err != nil {
			return err
		}
	}
	return b.check(0)
}

// Incr returns delta.
func (b *Store) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	return delta, b.check(0)
}

// Has reports false.
func (b *Store) Has(ctx context.Context, key string) (bool, error) { return false, b.check(0) }
