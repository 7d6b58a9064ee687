package caching

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// GetAs returns the value of type T stored under key by SetAs or GetOrSet.
// On an in-process store the value itself is returned, not a decoded copy:
// values of reference types (maps, slices, pointers) are shared with every
// other caller and must not be modified. On other stores the bytes are
// decoded with the Cache's Codec into a new T.
func GetAs[T any](ctx context.Context, c *Cache, key string) (T, error) {
	var zero T
	k := c.userKey(key)
	e, err := c.lookup(ctx, k, nil)
	if err == nil && !c.isFresh(e) {
		c.countMiss()
		err = ErrNotFound
	}
	if err != nil {
		return zero, fmt.Errorf("caching: get %T: %w", zero, err)
	}
	return decodeValue[T](c, e)
}

// decodeValue returns the typed value of e: its in-memory value when it has
// one of type T, else its payload decoded by the codec.
func decodeValue[T any](c *Cache, e *entry) (T, error) {
	if v, ok := e.value.(T); ok {
		return v, nil
	}
	var v T
	if e.Payload == nil && e.value != nil {
		// Written by SetAs with another type on an in-process store: go
		// through the codec, as a remote store would.
		b, err := c.codec.Marshal(e.value)
		if err != nil {
			return v, fmt.Errorf("caching: decode %T: %w", v, err)
		}
		e = &entry{Payload: b}
	}
	if err := c.codec.Unmarshal(e.Payload, &v); err != nil {
		return v, fmt.Errorf("caching: decode %T: %w", v, err)
	}
	return v, nil
}

// SetAs stores v under key for ttl (see Set). On an in-process store v is
// kept as it is, not encoded: do not modify it after the call if it is a
// map, slice or pointer. Elsewhere it is encoded with the Cache's Codec.
func SetAs[T any](ctx context.Context, c *Cache, key string, v T, ttl time.Duration, opts ...SetOption) error {
	e, tags, err := c.directEntry(ttl, opts)
	if err != nil {
		return err
	}
	if err := c.fillValue(e, v); err != nil {
		return fmt.Errorf("caching: set %T: %w", v, err)
	}
	if err := c.save(ctx, c.userKey(key), e, tags); err != nil {
		return fmt.Errorf("caching: set %T: %w", v, err)
	}
	return nil
}

// fillValue puts v in e: as its in-memory value on an in-process store,
// else encoded as its payload.
func (c *Cache) fillValue(e *entry, v any) error {
	if c.local != nil {
		e.value, e.size = v, approxSize(v)
		return nil
	}
	b, err := c.codec.Marshal(v)
	if err != nil {
		return err
	}
	e.Payload = b
	return nil
}

// approxSize estimates the memory a value holds, for an in-process store's
// byte bound, without walking or encoding it.
func approxSize(v any) int {
	switch x := v.(type) {
	case string:
		return len(x)
	case []byte:
		return len(x)
	case interface{ Len() int }:
		return 16 * x.Len()
	}
	return 64
}

// GetOrSet returns the value of type T under key, or calls load, stores its
// result for ttl and returns it. Concurrent calls for one key on this Cache
// call load once; each caller still returns when its own context is done.
// An error from load is returned and nothing is stored. If the backend
// fails, the error is returned (use Memoize for a fail-open memoized call).
func GetOrSet[T any](ctx context.Context, c *Cache, key string, ttl time.Duration, load func(context.Context) (T, error), opts ...SetOption) (T, error) {
	v, err := GetAs[T](ctx, c, key)
	if err == nil || !errors.Is(err, ErrNotFound) {
		return v, err
	}
	res, _, err := c.loads.Do(ctx, key, func(ctx context.Context) (any, error) {
		// Another caller may have stored it while this one waited.
		if v, err := GetAs[T](ctx, c, key); err == nil {
			return v, nil
		}
		v, err := load(ctx)
		if err != nil {
			return v, err
		}
		return v, SetAs(ctx, c, key, v, ttl, opts...)
	})
	v, _ = res.(T) // load's value even if storing it failed
	return v, err
}
