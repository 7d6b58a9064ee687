package caching

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/decimal"
)

// The direct API: bytes under keys of the caller's choosing. Keys are stored
// under the Cache's KeyPrefix and apart from the keys views and Memoize
// write. Every method returns the backend's errors (wrapped); a miss is an
// error wrapping ErrNotFound.
//
// A value that is a decimal integer and is written without tags (by Set,
// SetAs, Add, SetMany, or Incr) is stored as its bare text rather than in
// the Cache's envelope, so that Incr and Decr add to it atomically in the
// backend, as Flask-Caching's cache.set(k, 0); cache.inc(k) expects.

// Get returns the value stored under key. Entries written with Tags are
// checked against the current tag versions. Integers (counters of Incr, and
// integers written by Set or SetAs) are returned as their decimal text;
// other values written by SetAs or GetOrSet as the Cache's Codec encodes
// them, on every store (a nil interface too: null with the default JSON).
// On an in-process store, and with a near cache (backend/near), the slice
// is the stored value itself, shared with every caller of the process (a
// hit copies nothing; a near cache keeps the very slice of the remote read
// that filled it): do not modify it; copy it first (bytes.Clone) to change
// it.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, error) {
	e, integer, err := c.store.lookupDirect(ctx, c.userKey(key))
	switch {
	case err == nil && integer != nil:
		c.record(outHit)
		return integer, nil
	case err == nil && c.store.fresh(e, time.Time{}):
		b, err := c.entryBytes(e)
		if err != nil {
			c.record(outMiss) // nothing usable
			return nil, err
		}
		c.record(outHit)
		return b, nil
	case err == nil || errors.Is(err, ErrNotFound):
		c.record(outMiss)
		return nil, fmt.Errorf("caching: get: %w", ErrNotFound)
	}
	c.record(outBypass)
	return nil, fmt.Errorf("caching: get: %w", err)
}

// entryBytes returns the payload of e, encoding its in-memory value if the
// entry was written by SetAs or GetOrSet on an in-process store (the only
// entries without a payload there: Set's is never nil), a nil interface
// included, so that Get returns the bytes a remote store would hold.
func (c *Cache) entryBytes(e *entry) ([]byte, error) {
	if e.Payload != nil {
		return e.Payload, nil
	}
	b, err := c.codec.Marshal(e.value)
	if err != nil {
		return nil, fmt.Errorf("caching: get: encode: %w", err)
	}
	return b, nil
}

// Set stores value under key for ttl (0: DefaultTTL; Forever: no expiry;
// negative: ErrInvalidTTL). The Cache keeps its own copy of value. A value
// over the backend's limit for one item gets an error wrapping
// backend.ErrValueTooLarge, and the older value under key is removed (as
// backend.Backend.Set asks): a Get after it misses rather than serve the
// value the caller meant to replace.
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration, opts ...SetOption) error {
	ttl, err := c.resolveTTL(ttl)
	if err != nil {
		return err
	}
	w, err := c.directWrite(ctx, key, ttl, opts, func(e *entry) error {
		c.store.setBytes(e, value)
		return nil
	}, value)
	if err == nil {
		err = c.writeDirect(ctx, w)
	}
	if err != nil {
		return fmt.Errorf("caching: set: %w", err)
	}
	return nil
}

// directWrite prepares one write of the direct API for ttl (as resolved):
// the bare integer when integer is one and no tags are given, else an entry
// filled by fill under the current versions of the tags.
func (c *Cache) directWrite(ctx context.Context, key string, ttl time.Duration, opts []SetOption, fill func(*entry) error, integer []byte) (write, error) {
	vs, err := c.setVersions(ctx, ttl, opts)
	if err != nil {
		c.store.dropNear(c.userKey(key)) // refused: see store.dropNear
		return write{}, err
	}
	return c.prepareWrite(key, ttl, vs, fill, integer)
}

// setVersions returns the current versions of the tags opts name (none:
// an empty set) for an entry that lives for ttl (as resolved). A caller
// that computes the value reads them before the work, so that a tag
// invalidated while it runs makes the entry a miss (see store.versions).
func (c *Cache) setVersions(ctx context.Context, ttl time.Duration, opts []SetOption) (versionSet, error) {
	var cfg setConfig
	for _, o := range opts {
		o.applySet(&cfg)
	}
	return c.store.versions(ctx, c.tagKeys(cfg.tags), ttl)
}

// prepareWrite prepares one write of key for ttl (as resolved) under the
// tag versions vs: the bare integer when integer is one and vs holds no
// tags, else an entry filled by fill.
func (c *Cache) prepareWrite(key string, ttl time.Duration, vs versionSet, fill func(*entry) error, integer []byte) (write, error) {
	w := write{key: c.userKey(key), ttl: ttl}
	if len(vs.keys) == 0 && isInteger(integer) {
		w.integer = append(make([]byte, 0, len(integer)), integer...)
		return w, nil
	}
	w.vs = vs
	w.e = newEntry(c.now(), ttl, 0)
	return w, fill(w.e)
}

// Add stores value under key only if no live entry is there, and reports
// whether it did. It is atomic on every backend of this module. An entry
// that is present but invalidated by its tags counts as present. The Cache
// keeps its own copy of value, as Set does.
func (c *Cache) Add(ctx context.Context, key string, value []byte, ttl time.Duration, opts ...SetOption) (bool, error) {
	ttl, err := c.resolveTTL(ttl)
	if err != nil {
		return false, err
	}
	w, err := c.directWrite(ctx, key, ttl, opts, func(e *entry) error {
		c.store.setBytes(e, value)
		return nil
	}, value)
	var added bool
	if err == nil {
		c.writing(w.key)
		added, err = c.store.addWrite(ctx, w)
		c.writing(w.key)
	}
	if err != nil {
		return false, fmt.Errorf("caching: add: %w", err)
	}
	return added, nil
}

// Delete removes the entries of keys. Keys that are absent are not an error.
func (c *Cache) Delete(ctx context.Context, keys ...string) error {
	bk := make([]string, len(keys))
	for i, k := range keys {
		bk[i] = c.userKey(k)
	}
	c.writing(bk...)
	defer c.writing(bk...)
	if err := c.store.del(ctx, bk...); err != nil {
		return fmt.Errorf("caching: delete: %w", err)
	}
	return nil
}

// DeleteMany is Delete that also returns how many of keys held an entry
// (Flask-Caching's delete_many answer; a key given twice counts once). The
// count is exact on backends that count their deletes (backend.DeleteCounter:
// every backend of this module); on others it is found by reading the keys
// first, and writes racing with the call can make it off. An entry that
// its tags invalidated counts until it is removed. With an error, the count
// is of the keys known deleted, as the backend's DeleteCount gives it (a
// Redis Cluster with a master down deletes and counts the keys of the
// masters that answer; memcached, those of the servers that answer), and 0
// where none is known: other keys may have been deleted too.
func (c *Cache) DeleteMany(ctx context.Context, keys ...string) (int, error) {
	bk := make([]string, len(keys))
	for i, k := range keys {
		bk[i] = c.userKey(k)
	}
	c.writing(bk...)
	defer c.writing(bk...)
	n, err := c.store.delCount(ctx, bk...)
	if err != nil {
		return n, fmt.Errorf("caching: delete many: %w", err)
	}
	return n, nil
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
// Memoize alike. It never flushes a shared server. The work of this Cache
// in progress when it is called (a view's handler run, a memoized
// computation, a GetOrSet load, a Fragment render, a SharedCache
// revalidation or background refresh of an entry read before Clear)
// stores nothing, and a request or call made after Clear returned is not
// handed its result: it may have been made from data that changed before
// Clear. (Work in other
// processes, or of other Caches on the same store, may still store its
// result.) The leases (Lease) this Cache kept as its own, their release
// having failed before it reached the backend, end with it: Clear deleted
// them, and another process may hold the key's lease since.
func (c *Cache) Clear(ctx context.Context) error {
	c.writingAll()
	defer c.writingAll()
	if err := c.store.clear(ctx); err != nil {
		return fmt.Errorf("caching: clear: %w", err)
	}
	return nil
}

// GetMany returns the values stored under keys that have one, in one round
// trip on a backend that offers GetMany (plus one for the versions of tagged
// entries; none for the keys a near cache holds, which it reads from
// memory). Keys without a live entry are absent from the map, and so is a
// value of SetAs or GetOrSet that an in-process store kept though the
// Codec cannot encode it (a NaN, which other stores refuse): it is logged
// and counted in Stats.Errors, and Get returns its encoding error. As with
// Get, do not modify the slices an in-process store, or a near cache
// (backend/near), returns: they are the stored values themselves. When the
// backend read some keys and not others (one memcached server of several
// down), the map holds the values read, and the error, wrapping a
// *backend.GetManyError, says how many of the keys were not read; an entry
// whose tags' versions could not be read counts as not read (never served
// unverified), also when none of the versions could be.
func (c *Cache) GetMany(ctx context.Context, keys ...string) (map[string][]byte, error) {
	bk := make([]string, len(keys))
	for i, k := range keys {
		bk[i] = c.userKey(k)
	}
	found, err := c.store.lookupDirectMany(ctx, bk)
	var partial *backend.GetManyError
	if err != nil && !errors.As(err, &partial) {
		c.stats.outcomes[outBypass].Add(int64(len(keys))) // each key a read
		return nil, fmt.Errorf("caching: get many: %w", err)
	}
	var unread []bool
	if partial != nil {
		unread = make([]bool, len(keys))
		for _, i := range partial.Unread {
			unread[i] = true
		}
		c.stats.outcomes[outBypass].Add(int64(len(partial.Unread)))
	}
	out := make(map[string][]byte, len(keys))
	for i, f := range found {
		switch {
		case unread != nil && unread[i]:
			continue
		case f.integer != nil:
			out[keys[i]] = f.integer
		case f.e != nil && c.store.fresh(f.e, time.Time{}):
			v, err := c.entryBytes(f.e)
			if err != nil {
				// A value of SetAs or GetOrSet that an in-process store
				// kept and the Codec cannot encode (a NaN): a miss, as on
				// the other stores, which refused it.
				c.failOpen("get many encode", err)
				c.record(outMiss)
				continue
			}
			out[keys[i]] = v
		default:
			c.record(outMiss)
			continue
		}
		c.record(outHit)
	}
	if partial != nil {
		return out, fmt.Errorf("caching: get many: %w", partial)
	}
	return out, nil
}

// SetMany stores every value of values under its key for ttl, in one round
// trip on a backend that offers SetMany. It is not atomic: on error some
// values may have been stored. On a backend without SetMany (memcached) each
// value is a call of its own, and one that fails does not stop the others:
// the error is the first failure's, saying how many other keys were not
// stored. The Cache keeps its own copy of each value, as Set does. On
// backend/simple, a value that panics when replaced (a simple.Dropper
// stored through Backend) does not stop the others either: every value is
// written, and then SetMany panics with the first such value.
func (c *Cache) SetMany(ctx context.Context, values map[string][]byte, ttl time.Duration, opts ...SetOption) error {
	ttl, err := c.resolveTTL(ttl)
	if err != nil {
		return err
	}
	writes := make([]write, 0, len(values))
	for k, v := range values {
		w, err := c.directWrite(ctx, k, ttl, opts, func(e *entry) error {
			c.store.setBytes(e, v)
			return nil
		}, v)
		if err != nil {
			for k := range values { // none is written: see store.dropNear
				c.store.dropNear(c.userKey(k))
			}
			return fmt.Errorf("caching: set many: %w", err)
		}
		writes = append(writes, w)
	}
	if err := c.writeDirect(ctx, writes...); err != nil {
		return fmt.Errorf("caching: set many: %w", err)
	}
	return nil
}

// Incr adds delta to the counter under key and returns its new value. A
// missing counter starts at 0 and never expires; an integer written by Set,
// SetAs or Add without Tags is a counter (one written with Tags is kept in
// an envelope with its tags' versions, and Incr refuses it with
// backend.ErrNotInteger). It is atomic on backends with atomic counters
// (all of this module's), which keep an existing counter's expiry; on
// others (a backend.Backend that is not a backend.Incrementer) it reads
// and writes back, so concurrent increments may be lost and the counter
// written back never expires (a rate limiter's window set with a TTL then
// never ends: give such a backend an Incrementer). An integer is one as
// strconv.FormatInt writes it, which Redis's INCRBY counts from: Set of
// "007", "+5" or "-0" stores a value like any other, which Incr refuses. A
// value that is not a decimal integer, or a result past the int64 range,
// gives an error wrapping backend.ErrNotInteger, and the value is left as
// it was.
//
// On backend/memcached counters are unsigned, as memcached keeps them: a
// negative delta stops at 0 instead of going below it (a counter of 3
// given -5, or a missing one given -1, becomes 0, and Incr returns 0), and
// a negative integer stored by Set is no counter to memcached (an error
// wrapping backend.ErrNotInteger). Every other backend of this module
// counts below 0.
func (c *Cache) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	k := c.userKey(key)
	c.writing(k)
	n, err := c.store.incr(ctx, k, delta)
	c.writing(k)
	if err != nil {
		return 0, fmt.Errorf("caching: incr: %w", err)
	}
	return n, nil
}

// Decr subtracts delta from the counter under key; see Incr. A delta of
// math.MinInt64, whose negation is past the int64 range, gives an error
// wrapping backend.ErrNotInteger, and the counter is left as it was. On
// backend/memcached a counter stops at 0: Decr(k, 5) of a counter of 3
// leaves 0 and returns 0, not -2 (see Incr).
func (c *Cache) Decr(ctx context.Context, key string, delta int64) (int64, error) {
	if delta == math.MinInt64 {
		// -delta would be delta itself: the counter would go down by 2^63
		// rather than up.
		return 0, fmt.Errorf("caching: decr: delta %d cannot be negated in int64: %w", delta, backend.ErrNotInteger)
	}
	return c.Incr(ctx, key, -delta)
}

// isInteger reports whether b is a decimal integer as counters are stored:
// as strconv.FormatInt writes it, which is what every backend's counter
// counts from (Redis's INCRBY refuses "007", "+5" and "-0"). An encoded
// entry never is: it starts with its magic bytes.
func isInteger(b []byte) bool {
	if len(b) == 0 || len(b) > 20 {
		return false
	}
	_, ok := decimal.Parse(string(b))
	return ok
}

// isBareValue reports whether b, read from the backend, is a value stored
// bare rather than an encoded entry: a counter, or a decimal integer a
// release before this rule wrote bare ("007", "+5", "-0": any text
// strconv.ParseInt reads), which a backend that outlived the upgrade
// still holds, and which Get returns as written rather than dropping it as
// corrupt. Writes and Incr keep to isInteger.
func isBareValue(b []byte) bool {
	if len(b) == 0 || len(b) > 20 {
		return false
	}
	_, err := strconv.ParseInt(string(b), 10, 64)
	return err == nil
}
