package caching

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/go-caching/caching/backend"
)

// The direct API: bytes under keys of the caller's choosing. Keys are stored
// under the Cache's KeyPrefix and apart from the keys the response cache and
// Memoize write. Every method returns the backend's errors (wrapped); a miss
// is an error wrapping ErrNotFound.

// Get returns the value stored under key. Entries written with Tags are
// checked against the current tag versions. Counters written by Incr are
// returned as their decimal text.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, error) {
	k := c.userKey(key)
	if c.local != nil {
		if e, err := c.lookup(ctx, k, nil); err == nil {
			if c.isFresh(e) {
				return c.entryBytes(e)
			}
			c.countMiss()
		}
		// Counters are kept as bytes so the store can add to them atomically.
		v, err := c.b.Get(ctx, k)
		switch {
		case err == nil && isInteger(v):
			c.stats.misses.Add(-1)
			c.stats.hits.Add(1)
			return v, nil
		case err != nil && !errors.Is(err, ErrNotFound):
			return nil, fmt.Errorf("caching: get: %w", err)
		}
		return nil, fmt.Errorf("caching: get: %w", ErrNotFound)
	}
	raw, err := c.b.Get(ctx, k)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			c.countMiss()
			return nil, fmt.Errorf("caching: get: %w", ErrNotFound)
		}
		return nil, fmt.Errorf("caching: get: %w", err)
	}
	if isInteger(raw) {
		c.stats.hits.Add(1)
		return raw, nil
	}
	e, err := c.verify(ctx, k, raw, nil, nil)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			c.countMiss()
		}
		return nil, fmt.Errorf("caching: get: %w", err)
	}
	if !c.isFresh(e) {
		c.countMiss()
		return nil, fmt.Errorf("caching: get: %w", ErrNotFound)
	}
	c.stats.hits.Add(1)
	return c.entryBytes(e)
}

// entryBytes returns the payload of e, encoding its in-memory value if the
// entry was written by SetAs on an in-process store.
func (c *Cache) entryBytes(e *entry) ([]byte, error) {
	if e.Payload != nil || e.value == nil {
		if e.Payload == nil {
			return []byte{}, nil
		}
		return e.Payload, nil
	}
	b, err := c.codec.Marshal(e.value)
	if err != nil {
		return nil, fmt.Errorf("caching: get: encode: %w", err)
	}
	return b, nil
}

// Set stores value under key for ttl (0: DefaultTTL; Forever: no expiry;
// negative: ErrInvalidTTL). The Cache keeps its own copy of value.
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration, opts ...SetOption) error {
	e, tags, err := c.directEntry(ttl, opts)
	if err != nil {
		return err
	}
	e.Payload = append(make([]byte, 0, len(value)), value...)
	if err := c.save(ctx, c.userKey(key), e, tags); err != nil {
		return fmt.Errorf("caching: set: %w", err)
	}
	return nil
}

func (c *Cache) directEntry(ttl time.Duration, opts []SetOption) (*entry, []string, error) {
	ttl, err := c.resolveTTL(ttl)
	if err != nil {
		return nil, nil, err
	}
	var cfg setConfig
	for _, o := range opts {
		o.applySet(&cfg)
	}
	return newEntry(c.now(), ttl, 0), c.tagKeys(cfg.tags), nil
}

// Add stores value under key only if no live entry is there, and reports
// whether it did. It is atomic on every backend of this module. An entry
// that is present but invalidated by its tags counts as present.
func (c *Cache) Add(ctx context.Context, key string, value []byte, ttl time.Duration, opts ...SetOption) (bool, error) {
	e, tags, err := c.directEntry(ttl, opts)
	if err != nil {
		return false, err
	}
	e.Payload = append(make([]byte, 0, len(value)), value...)
	if len(tags) > 0 {
		if e.Versions, err = c.tagVersions(ctx, tags); err != nil {
			return false, fmt.Errorf("caching: add: %w", err)
		}
		e.TagKeys = tags
	}
	var ttlLeft time.Duration
	if e.StaleUntil != 0 {
		ttlLeft = time.Duration(e.StaleUntil - c.now())
	}
	var added bool
	if c.local != nil {
		added, err = c.local.AddValue(c.userKey(key), e, e.memSize(), ttlLeft)
	} else {
		added, err = c.b.Add(ctx, c.userKey(key), encodeEntry(e), ttlLeft)
	}
	if err != nil {
		return false, fmt.Errorf("caching: add: %w", err)
	}
	if added {
		c.stats.sets.Add(1)
	}
	return added, nil
}

// Delete removes the entries of keys. Keys that are absent are not an error.
func (c *Cache) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	bk := make([]string, len(keys))
	for i, k := range keys {
		bk[i] = c.userKey(k)
	}
	if err := c.b.Delete(ctx, bk...); err != nil {
		return fmt.Errorf("caching: delete: %w", err)
	}
	return nil
}

// Has reports whether a live entry is stored under key.
func (c *Cache) Has(ctx context.Context, key string) (bool, error) {
	_, err := c.Get(ctx, key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, err
}

// Clear removes every entry of the backend's namespace (for a Redis or
// memcached backend, its key prefix or namespace; for an in-process store,
// everything in it): the keys of the direct API, the response cache and
// Memoize alike. It never flushes a shared server.
func (c *Cache) Clear(ctx context.Context) error {
	if err := c.b.Clear(ctx); err != nil {
		return fmt.Errorf("caching: clear: %w", err)
	}
	return nil
}

// GetMany returns the values stored under keys that have one, in one round
// trip on a backend that offers GetMany (plus one for the versions of tagged
// entries). Keys without a live entry are absent from the map.
func (c *Cache) GetMany(ctx context.Context, keys ...string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	if c.local != nil || c.many == nil {
		for _, k := range keys {
			v, err := c.Get(ctx, k)
			switch {
			case err == nil:
				out[k] = v
			case !errors.Is(err, ErrNotFound):
				return nil, err
			}
		}
		return out, nil
	}
	bk := make([]string, len(keys))
	for i, k := range keys {
		bk[i] = c.userKey(k)
	}
	vals, err := c.getRaw(ctx, bk)
	if err != nil {
		return nil, fmt.Errorf("caching: get many: %w", err)
	}
	entries := make([]*entry, len(keys))
	var tagKeys []string
	seen := map[string]bool{}
	now := c.now()
	for i, raw := range vals {
		switch {
		case raw == nil:
		case isInteger(raw):
			out[keys[i]] = raw
		default:
			e, err := decodeEntry(raw)
			if err != nil {
				c.dropCorrupt(ctx, bk[i])
				continue
			}
			if !e.alive(now) || !e.fresh(now) {
				continue
			}
			entries[i] = e
			for _, t := range e.TagKeys {
				if !seen[t] {
					seen[t] = true
					tagKeys = append(tagKeys, t)
				}
			}
		}
	}
	current := map[string]uint64{}
	if len(tagKeys) > 0 {
		tv, err := c.getRaw(ctx, tagKeys)
		if err != nil {
			return nil, fmt.Errorf("caching: get many: %w", err)
		}
		for i, t := range tagKeys {
			if n, ok := parseVersion(tv[i]); ok {
				current[t] = n
			}
		}
	}
outer:
	for i, e := range entries {
		if e == nil {
			continue
		}
		for j, t := range e.TagKeys {
			if current[t] != e.Versions[j] {
				continue outer
			}
		}
		out[keys[i]] = e.Payload
	}
	c.stats.hits.Add(int64(len(out)))
	c.stats.misses.Add(int64(len(keys) - len(out)))
	return out, nil
}

// SetMany stores every value of values under its key for ttl, in one round
// trip on a backend that offers SetMany. It is not atomic: on error some
// values may have been stored.
func (c *Cache) SetMany(ctx context.Context, values map[string][]byte, ttl time.Duration, opts ...SetOption) error {
	proto, tags, err := c.directEntry(ttl, opts)
	if err != nil {
		return err
	}
	if len(tags) > 0 {
		if proto.Versions, err = c.tagVersions(ctx, tags); err != nil {
			return fmt.Errorf("caching: set many: %w", err)
		}
		proto.TagKeys = tags
	}
	if c.local != nil {
		for k, v := range values {
			e := *proto
			e.Payload = append(make([]byte, 0, len(v)), v...)
			if err := c.save(ctx, c.userKey(k), &e, nil); err != nil {
				return fmt.Errorf("caching: set many: %w", err)
			}
		}
		return nil
	}
	var ttlLeft time.Duration
	if proto.StaleUntil != 0 {
		ttlLeft = time.Duration(proto.StaleUntil - c.now())
	}
	items := make([]backend.Item, 0, len(values))
	for k, v := range values {
		e := *proto
		e.Payload = v
		items = append(items, backend.Item{Key: c.userKey(k), Value: encodeEntry(&e), TTL: ttlLeft})
	}
	if err := c.setItems(ctx, items); err != nil {
		return fmt.Errorf("caching: set many: %w", err)
	}
	c.stats.sets.Add(int64(len(items)))
	return nil
}

// Incr adds delta to the counter under key and returns its new value. A
// missing counter starts at 0 and never expires. It is atomic on backends
// with atomic counters (all of this module's); on others it reads and writes
// back, and concurrent increments may be lost. A value that is not a decimal
// integer gives an error wrapping backend.ErrNotInteger.
func (c *Cache) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	k := c.userKey(key)
	if in, ok := c.b.(backend.Incrementer); ok {
		n, err := in.Incr(ctx, k, delta)
		if err != nil {
			return 0, fmt.Errorf("caching: incr: %w", err)
		}
		return n, nil
	}
	var n int64
	v, err := c.b.Get(ctx, k)
	switch {
	case err == nil:
		if n, err = strconv.ParseInt(string(v), 10, 64); err != nil {
			return 0, fmt.Errorf("caching: incr: %w", backend.ErrNotInteger)
		}
	case !errors.Is(err, ErrNotFound):
		return 0, fmt.Errorf("caching: incr: %w", err)
	}
	n += delta
	if err := c.b.Set(ctx, k, strconv.AppendInt(nil, n, 10), 0); err != nil {
		return 0, fmt.Errorf("caching: incr: %w", err)
	}
	return n, nil
}

// Decr subtracts delta from the counter under key; see Incr.
func (c *Cache) Decr(ctx context.Context, key string, delta int64) (int64, error) {
	return c.Incr(ctx, key, -delta)
}

// isInteger reports whether b is a decimal integer, as counters are stored.
// An encoded entry never is: it starts with its magic bytes.
func isInteger(b []byte) bool {
	if len(b) == 0 || len(b) > 20 {
		return false
	}
	_, err := strconv.ParseInt(string(b), 10, 64)
	return err == nil
}
