package caching

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/flight"
	"github.com/go-caching/caching/internal/ratelimit"
)

// Forever, given as a TTL, stores an entry with no expiry. A bounded store
// may still evict it. It is distinct from 0, which means the Cache's
// DefaultTTL.
const Forever time.Duration = math.MaxInt64

// Errors of the caching package. Test for them with errors.Is.
var (
	// ErrNotFound reports a miss. It is backend.ErrNotFound, so errors from
	// the Cache and from a backend test the same way.
	ErrNotFound = backend.ErrNotFound
	// ErrInvalidTTL reports a negative TTL. It is backend.ErrInvalidTTL.
	ErrInvalidTTL = backend.ErrInvalidTTL
	// ErrClosed reports a call on a closed Cache or backend.
	ErrClosed = backend.ErrClosed
)

// Options configures a Cache. The zero value (or a nil *Options) is ready to
// use: an in-process store with default bounds, a 5-minute default TTL, no
// key prefix, the JSON codec, and no logging.
type Options struct {
	// Backend stores the entries. Nil means a new backend/simple store with
	// its default bounds. The Cache owns it: Cache.Close closes it.
	Backend backend.Backend
	// DefaultTTL is the TTL of an entry written with a TTL of 0. Zero means 5
	// minutes (Flask-Caching's CACHE_DEFAULT_TIMEOUT of 300 s); Forever means
	// no expiry. Negative is an error.
	DefaultTTL time.Duration
	// KeyPrefix is put in front of every key the Cache writes, on every
	// backend (Flask-Caching applied CACHE_KEY_PREFIX to Redis and memcached
	// only). Several Caches can share one store under distinct prefixes.
	KeyPrefix string
	// Codec encodes the typed values of GetAs, SetAs, GetOrSet and Memoize for
	// stores that are not in-process. Nil means JSON.
	Codec Codec
	// Logger receives the errors the Cache swallows when it fails open (the
	// response cache and Memoize), at most one record per LogInterval. Nil
	// discards them; they are still counted in Stats.Errors.
	Logger *slog.Logger
	// LogInterval is the least time between two log records about backend
	// errors. Zero means 10 seconds.
	LogInterval time.Duration
	// Timeout bounds each backend call made by the response cache and
	// Memoize on a store that is not in-process, so that a slow backend costs
	// the request at most this long before it is served uncached. Zero means
	// 500 ms. The direct API is bounded only by its caller's context and the
	// backend's own timeouts.
	Timeout time.Duration
	// Clock returns the current time. Nil means time.Now. Tests set it to
	// move time by hand.
	Clock func() time.Time
}

// Cache is the entry point of the package: a typed, tag-aware view of one
// backend with a key prefix, a default TTL and an error policy. Create it
// with New or Must; it is safe for concurrent use.
type Cache struct {
	b      backend.Backend
	local  backend.ValueStore // b, when it keeps Go values in memory
	many   backend.GetManyer  // b, when it reads several keys at once
	prefix string
	ttl    time.Duration
	codec  Codec
	clock  func() time.Time
	// realClock: clock is time.Now, so its readings can be handed to the
	// store (backend.ValueStore.LoadValueAt) instead of read twice.
	realClock bool

	log      *slog.Logger
	logLimit *ratelimit.Limiter
	timeout  time.Duration

	stats     counters
	loads     flight.Group[string, any] // GetOrSet's loads in flight
	closeOnce sync.Once
	closeErr  error
}

// New returns a Cache configured by opts, or an error naming the first
// invalid option. A nil opts is the zero Options.
func New(opts *Options) (*Cache, error) {
	if opts == nil {
		opts = &Options{}
	}
	c := &Cache{
		b:      opts.Backend,
		prefix: opts.KeyPrefix,
		ttl:    opts.DefaultTTL,
		codec:  opts.Codec,
		clock:  opts.Clock,
		log:    opts.Logger,
	}
	switch {
	case opts.DefaultTTL < 0:
		return nil, fmt.Errorf("caching: Options.DefaultTTL is %v; want 0 (5m), a positive duration, or Forever", opts.DefaultTTL)
	case opts.DefaultTTL == 0:
		c.ttl = 5 * time.Minute
	}
	if opts.LogInterval < 0 {
		return nil, fmt.Errorf("caching: Options.LogInterval is %v; want 0 (10s) or positive", opts.LogInterval)
	}
	logInterval := opts.LogInterval
	if logInterval == 0 {
		logInterval = 10 * time.Second
	}
	c.logLimit = ratelimit.New(logInterval, 1)
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("caching: Options.Timeout is %v; want 0 (500ms) or positive", opts.Timeout)
	}
	c.timeout = opts.Timeout
	if c.timeout == 0 {
		c.timeout = 500 * time.Millisecond
	}
	if c.b == nil {
		s, err := simple.New(simple.Options{})
		if err != nil {
			return nil, fmt.Errorf("caching: default store: %w", err)
		}
		c.b = s
	}
	if c.codec == nil {
		c.codec = JSON
	}
	if c.clock == nil {
		c.clock, c.realClock = time.Now, true
	}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c.local, _ = c.b.(backend.ValueStore)
	c.many, _ = c.b.(backend.GetManyer)
	return c, nil
}

// Must is like New but panics on an invalid option. Use it at program start.
func Must(opts *Options) *Cache {
	c, err := New(opts)
	if err != nil {
		panic(err)
	}
	return c
}

// Backend returns the store the Cache writes to.
func (c *Cache) Backend() backend.Backend { return c.b }

// Close closes the backend. It is idempotent; later calls on the Cache
// return errors wrapping ErrClosed (and the response cache and Memoize pass
// through).
func (c *Cache) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.b.Close() })
	return c.closeErr
}

// now is the Cache's clock in Unix nanoseconds.
func (c *Cache) now() int64 { return c.clock().UnixNano() }

// nowOr is now, or the caller's reading t when it has one.
func (c *Cache) nowOr(t time.Time) int64 {
	if t.IsZero() {
		return c.now()
	}
	return t.UnixNano()
}

// resolveTTL turns a TTL argument into the TTL a backend sees: 0 becomes the
// default, Forever becomes 0 (no expiry), negative is an error.
func (c *Cache) resolveTTL(ttl time.Duration) (time.Duration, error) {
	switch {
	case ttl < 0:
		return 0, fmt.Errorf("caching: ttl %v: %w", ttl, ErrInvalidTTL)
	case ttl == 0:
		ttl = c.ttl
	}
	if ttl == Forever {
		return 0, nil
	}
	return ttl, nil
}

// deadline returns now+ttl in Unix nanoseconds, 0 for no expiry (ttl 0),
// saturating instead of overflowing.
func deadline(now int64, ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	if now > math.MaxInt64-int64(ttl) {
		return math.MaxInt64
	}
	return now + int64(ttl)
}

// newEntry returns an entry created at now, fresh for ttl (as resolved: 0 is
// forever) and kept extra past it for stale serving.
func newEntry(now int64, ttl, extra time.Duration) *entry {
	e := &entry{Created: now, FreshUntil: deadline(now, ttl)}
	if e.FreshUntil != 0 {
		e.StaleUntil = deadline(e.FreshUntil, extra)
		if extra <= 0 {
			e.StaleUntil = e.FreshUntil
		}
	}
	return e
}

// opContext bounds a fail-open backend call by Options.Timeout. In-process
// stores never block, so they get the caller's context as it is.
func (c *Cache) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.local != nil {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout)
}

// failOpen records a backend error that the caller swallows to serve the
// request uncached: it is counted, and logged at most once per LogInterval
// (with the number of errors not logged since). Keys are never logged.
func (c *Cache) failOpen(op string, err error) {
	c.stats.errors.Add(1)
	ok, suppressed := c.logLimit.Allow(c.clock())
	if !ok {
		return
	}
	c.log.LogAttrs(context.Background(), slog.LevelWarn, "caching: backend error, serving uncached",
		slog.String("op", op), slog.String("error", err.Error()),
		slog.Int64("suppressed", suppressed))
}

// lookup reads the entry under key and checks it against the current
// versions of tagKeys (the backend keys of its tags; nil means the tags the
// entry records), in one round trip on a store with GetMany. It returns an
// error wrapping ErrNotFound for a miss: absent, past its stale window,
// written under other tags or tag versions, or corrupt (then it is deleted
// and counted). A fresh hit is counted in Stats.Hits and a miss in
// Stats.Misses; a stale entry is returned uncounted, for the caller to count
// with countStale or countMiss.
func (c *Cache) lookup(ctx context.Context, key string, tagKeys []string) (*entry, error) {
	e, err := c.lookupUncounted(ctx, key, tagKeys)
	switch {
	case err == nil:
		if c.isFresh(e) {
			c.stats.hits.Add(1)
		}
	case errors.Is(err, ErrNotFound):
		c.stats.misses.Add(1)
	}
	return e, err
}

// isFresh reports whether e, as returned by lookup, is within its TTL. On an
// in-process store an entry with no stale window is fresh for as long as the
// store returns it, so no clock is read (time.Now costs more than the rest of
// a hit on some virtual machines).
func (c *Cache) isFresh(e *entry) bool {
	if e.FreshUntil == 0 || c.local != nil && e.FreshUntil == e.StaleUntil {
		return true
	}
	return c.now() < e.FreshUntil
}

// isFreshAt is isFresh with the caller's reading of the clock.
func (c *Cache) isFreshAt(e *entry, now time.Time) bool {
	return e.FreshUntil == 0 || now.UnixNano() < e.FreshUntil
}

func (c *Cache) countStale() { c.stats.stale.Add(1) }
func (c *Cache) countMiss()  { c.stats.misses.Add(1) }

func (c *Cache) lookupUncounted(ctx context.Context, key string, tagKeys []string) (*entry, error) {
	return c.lookupUncountedAt(ctx, key, tagKeys, time.Time{})
}

// lookupUncountedAt is lookupUncounted with the caller's reading of the
// Cache's clock (zero: none), which an in-process store then need not read.
func (c *Cache) lookupUncountedAt(ctx context.Context, key string, tagKeys []string, now time.Time) (*entry, error) {
	if c.local != nil {
		return c.lookupLocal(key, tagKeys, now)
	}
	var (
		raw      []byte
		versions [][]byte
		err      error
	)
	if len(tagKeys) > 0 && c.many != nil {
		keys := make([]string, 0, 1+len(tagKeys))
		keys = append(append(keys, key), tagKeys...)
		var vals [][]byte
		vals, err = c.many.GetMany(ctx, keys)
		if err == nil {
			if len(vals) != len(keys) {
				return nil, fmt.Errorf("caching: backend GetMany returned %d values for %d keys", len(vals), len(keys))
			}
			raw, versions = vals[0], vals[1:]
			if raw == nil {
				return nil, ErrNotFound
			}
		}
	} else {
		raw, err = c.b.Get(ctx, key)
	}
	if err != nil {
		return nil, err
	}
	return c.verify(ctx, key, raw, versions, tagKeys)
}

// verify decodes the entry read from key and checks it against the tag
// versions (read with it, or fetched now when versions is nil).
func (c *Cache) verify(ctx context.Context, key string, raw []byte, versions [][]byte, tagKeys []string) (*entry, error) {
	e, err := decodeEntry(raw)
	if err != nil {
		c.dropCorrupt(ctx, key)
		return nil, ErrNotFound
	}
	if !e.alive(c.now()) {
		return nil, ErrNotFound
	}
	if tagKeys == nil {
		tagKeys = e.TagKeys
	}
	if !sameKeys(e.TagKeys, tagKeys) {
		return nil, ErrNotFound
	}
	if len(tagKeys) == 0 {
		return e, nil
	}
	if versions == nil {
		if versions, err = c.getRaw(ctx, tagKeys); err != nil {
			return nil, err
		}
	}
	for i, v := range versions {
		n, ok := parseVersion(v)
		if !ok || n != e.Versions[i] {
			return nil, ErrNotFound
		}
	}
	return e, nil
}

func (c *Cache) lookupLocal(key string, tagKeys []string, now time.Time) (*entry, error) {
	var (
		v  any
		ok bool
	)
	if now.IsZero() || !c.realClock {
		v, ok = c.local.LoadValue(key)
	} else {
		v, ok = c.local.LoadValueAt(key, now)
	}
	if !ok {
		return nil, ErrNotFound
	}
	e, ok := v.(*entry)
	// The store expires the entry at StaleUntil itself; only an entry with
	// a stale window needs the clock here.
	if !ok || e.StaleUntil != e.FreshUntil && !e.alive(c.nowOr(now)) {
		return nil, ErrNotFound
	}
	if tagKeys == nil {
		tagKeys = e.TagKeys
	}
	if !sameKeys(e.TagKeys, tagKeys) {
		return nil, ErrNotFound
	}
	for i, k := range tagKeys {
		tv, ok := c.local.LoadValue(k)
		if !ok {
			return nil, ErrNotFound
		}
		if n, ok := tv.(uint64); !ok || n != e.Versions[i] {
			return nil, ErrNotFound
		}
	}
	return e, nil
}

// dropCorrupt deletes an entry that did not decode and counts it.
func (c *Cache) dropCorrupt(ctx context.Context, key string) {
	c.stats.corrupt.Add(1)
	if err := c.b.Delete(ctx, key); err != nil {
		c.failOpen("delete corrupt entry", err)
	}
}

// getRaw reads keys from the backend in one round trip where it can: one
// slot per key, nil for a miss.
func (c *Cache) getRaw(ctx context.Context, keys []string) ([][]byte, error) {
	if c.many != nil {
		vals, err := c.many.GetMany(ctx, keys)
		if err == nil && len(vals) != len(keys) {
			err = fmt.Errorf("caching: backend GetMany returned %d values for %d keys", len(vals), len(keys))
		}
		return vals, err
	}
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		v, err := c.b.Get(ctx, k)
		switch {
		case err == nil:
			vals[i] = v
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
	}
	return vals, nil
}

func sameKeys(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// save writes e under key, recording the current versions of tagKeys (and
// creating versions for tags that have none yet). The backend TTL is what is
// left until e.StaleUntil, so the entry lives through its stale window.
func (c *Cache) save(ctx context.Context, key string, e *entry, tagKeys []string) error {
	if len(tagKeys) > 0 {
		versions, err := c.tagVersions(ctx, tagKeys)
		if err != nil {
			return err
		}
		e.TagKeys, e.Versions = tagKeys, versions
	}
	var ttl time.Duration
	if e.StaleUntil != 0 {
		ttl = time.Duration(e.StaleUntil - c.now())
		if ttl <= 0 {
			return nil // already past its life: nothing worth storing
		}
	}
	var err error
	if c.local != nil {
		err = c.local.StoreValue(key, e, e.memSize(), ttl)
	} else {
		err = c.b.Set(ctx, key, encodeEntry(e), ttl)
	}
	if err == nil {
		c.stats.sets.Add(1)
	}
	return err
}

// tagVersions returns the current version of each tag key, creating a new
// random version for a tag that has none. Versions are random, never
// counters: a tag key that a bounded store evicted comes back with a version
// no entry was written under, so an eviction can only cause misses, never
// resurrect an invalidated entry (the fault of Flask-Caching's memoize
// version keys, #531).
func (c *Cache) tagVersions(ctx context.Context, tagKeys []string) ([]uint64, error) {
	versions := make([]uint64, len(tagKeys))
	if c.local != nil {
		for i, k := range tagKeys {
			for {
				if v, ok := c.local.LoadValue(k); ok {
					if n, ok := v.(uint64); ok {
						versions[i] = n
						break
					}
				}
				n := newVersion()
				added, err := c.local.AddValue(k, n, len(k)+16, 0)
				if err != nil {
					return nil, err
				}
				if added {
					versions[i] = n
					break
				}
			}
		}
		return versions, nil
	}
	vals, err := c.getRaw(ctx, tagKeys)
	if err != nil {
		return nil, err
	}
	for i, k := range tagKeys {
		if n, ok := parseVersion(vals[i]); ok {
			versions[i] = n
			continue
		}
		n := newVersion()
		added, err := c.b.Add(ctx, k, formatVersion(n), 0)
		if err != nil {
			return nil, err
		}
		if !added {
			v, err := c.b.Get(ctx, k)
			if err != nil {
				return nil, err
			}
			var ok bool
			if n, ok = parseVersion(v); !ok {
				return nil, fmt.Errorf("caching: tag version is not a version (%d bytes)", len(v))
			}
		}
		versions[i] = n
	}
	return versions, nil
}

// InvalidateTags makes every entry written under any of tags a miss, in
// every process sharing the backend, by giving each tag a new version. It
// costs one write per tag (one round trip on a store with SetMany) and never
// scans keys.
func (c *Cache) InvalidateTags(ctx context.Context, tags ...string) error {
	keys := c.tagKeys(tags)
	if c.local != nil {
		for _, k := range keys {
			if err := c.local.StoreValue(k, newVersion(), len(k)+16, 0); err != nil {
				return fmt.Errorf("caching: invalidate tags: %w", err)
			}
		}
		return nil
	}
	items := make([]backend.Item, len(keys))
	for i, k := range keys {
		items[i] = backend.Item{Key: k, Value: formatVersion(newVersion())}
	}
	if err := c.setItems(ctx, items); err != nil {
		return fmt.Errorf("caching: invalidate tags: %w", err)
	}
	return nil
}

func (c *Cache) setItems(ctx context.Context, items []backend.Item) error {
	if sm, ok := c.b.(backend.SetManyer); ok {
		return sm.SetMany(ctx, items)
	}
	for _, it := range items {
		if err := c.b.Set(ctx, it.Key, it.Value, it.TTL); err != nil {
			return err
		}
	}
	return nil
}

// newVersion returns a random tag version, never 0.
func newVersion() uint64 {
	for {
		if n := rand.Uint64(); n != 0 {
			return n
		}
	}
}

func formatVersion(n uint64) []byte { return strconv.AppendUint(nil, n, 10) }

func parseVersion(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	return n, err == nil && n != 0
}
