package caching

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/breaker"
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
	// ErrInvalidOption is wrapped by every error about an invalid option
	// or configuration: Options given to New, and the options of Cached,
	// CachedMux, ViewKey and Memoize (which panic with it).
	ErrInvalidOption = errors.New("caching: invalid option")
	// ErrUnavailable reports a call the Cache did not make because its
	// circuit breaker is open: the backend failed repeatedly and is left
	// alone for a cool-down (see BreakerOptions).
	ErrUnavailable = errors.New("caching: backend unavailable (circuit breaker open)")
	// ErrDecode is wrapped by the error of GetAs when the Codec fails to
	// decode the value stored under its key as the type asked for (or an
	// integer does not fit an integer type): written by SetAs of another
	// type, by another program, or by an older release whose type the
	// Codec cannot read. A value the Codec decodes without an error is no
	// ErrDecode, whatever wrote it (see GetAs). The value stays stored;
	// GetOrSet loads over it.
	ErrDecode = errors.New("caching: decode")
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
	// only). Several Caches can share one store under distinct prefixes
	// none of which is a prefix of another. A backend key is KeyPrefix
	// followed at once by a one-letter kind, '/' and the rest, with no
	// delimiter after KeyPrefix, so a Cache under "t" shares keys with one
	// under "tk/" (the first's direct key "k/x" is the second's "x"), and
	// one Cache could read or overwrite another's entries. End each prefix
	// with a delimiter its other part cannot hold, as "tenant-1:" and
	// "tenant-10:" for tenant names without ':' (a prefix built from a name
	// that may hold the delimiter must escape it in the name). Default "".
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
	// a call at most this long before the request is served uncached. Each
	// call has its own Timeout, from when it is made: a miss makes several
	// in a row (the entry's read, its tag versions' read and creation, the
	// response's store, with a Vary record's read and write before it), and
	// a backend whose every call answers within Timeout serves them all:
	// one answering each call just under Timeout makes such a miss wait
	// for several Timeouts, where a backend that fails or hangs costs one
	// (the request is then served as for a backend down). Memoized.Set
	// and Forget, which return their errors, are bounded by one Timeout
	// as a whole, their wait for a write of the same argument included.
	// Zero means 500 ms. It bounds too the backend calls of Fragment and of
	// a GetOrSet load (its tag versions and its store, which a write of its
	// key waits for), which go on when their caller leaves. The rest of the
	// direct API is bounded only by its caller's context and the backend's
	// own timeouts. A backend whose client takes no context (memcached:
	// gomemcache) ignores this bound once a call has started: its own
	// timeout (the memcached Store's Options.Timeout, 250 ms by default)
	// bounds the call, so set it no higher than this one. A go-redis client
	// honours it only with ContextTimeoutEnabled: the Redis Store sets it
	// on the clients it builds, and refuses a client passed as its
	// Options.Client without it.
	Timeout time.Duration
	// Clock returns the current time. Nil means time.Now; with an
	// in-process store, a reading of time.Now taken again each second and
	// advanced by the monotonic clock in between, which costs one clock
	// read instead of two (such a store's entries never leave the
	// process). A response's Age (its header, Peek's Response.Age, a
	// request's max-age) is the larger of the monotonic and the wall
	// clock's progress between two readings: a suspend of the machine,
	// which stops the monotonic clock, counts (within a second awake after
	// it, when time.Now is read again); a wall clock stepped back adds
	// nothing. An in-process store's entry is fresh (its TTL, a response's
	// freshness lifetime) by that same count of the time since its write;
	// a remote store's entry, decoded in each process, by the wall clock,
	// which processes share: a wall clock stepped back keeps it fresh that
	// much longer. Tests set it to move time by hand.
	Clock func() time.Time
	// Breaker configures the circuit breaker in front of a backend that is
	// not in-process. The zero value means 5 consecutive failures open it
	// for 1 second.
	Breaker BreakerOptions
	// Lease is the default of the Lease option for every view and memoized
	// function of the Cache: concurrent misses of one key in every process
	// sharing the backend run the handler or function once, the others
	// waiting up to Lease for its result. Zero (the default) means off; a
	// view or function turns it on or off for itself with Lease. Negative
	// is an error.
	Lease time.Duration
	// Observer, when set, is told the duration and the error of every call
	// the Cache makes to a store that is not in-process (see Observer): what
	// a metrics package turns into a latency histogram. Of an in-process
	// store (backend.ValueStore) only the byte calls are observed, not the
	// Go-value calls through which views, Memoize and the typed API read
	// and write most entries there, nor a near cache's reads of its memory.
	// Nil (the default) costs nothing.
	Observer Observer
	// HostScopedWrites confines the invalidation of a write (InvalidateOnWrite,
	// which SharedCache implies) to the host it was sent to, as RFC 9111
	// section 4.4 asks of a cache in front of several origins: a POST to
	// shop.example then leaves blog.example's page of the same path stored.
	// Hosts are compared as origins are: lower-cased, the scheme's default
	// port dropped, the scheme itself ignored, and one trailing dot of the
	// name dropped ("shop.example." is shop.example, fully qualified).
	// Views with IgnoreHost, whose entries serve every host, are reached by
	// a write to any host.
	// InvalidatePath still reaches every host.
	//
	// Off (the default), a write makes its path a miss on every host: the
	// right choice for a service with one host, or hosts that are names of
	// one site. On, each entry of a view whose key is built from the path
	// records one more version, which every hit checks: a map lookup on an
	// in-process store, one more key in the same round trip on a remote one.
	// Every process sharing the backend must have the same setting.
	HostScopedWrites bool
	// VariantKeySecret keys the hash that names a response's Vary variant
	// when the Vary names a field other than those of content negotiation
	// (Accept, Accept-Charset, Accept-Encoding, Accept-Language, Host,
	// Origin, User-Agent, X-Forwarded-Host, X-Forwarded-Proto), whose
	// values a variant's backend key spells: any other (Cookie,
	// Authorization, an API key's field) may hold a credential, and is
	// named by a hash of its variant key. Such a variant's backend key, and
	// its name in the page's Vary record, are then of its HMAC-SHA-256
	// under this secret, not of its SHA-256.
	// Without it, whoever may read the backend's keys or records (SCAN,
	// MONITOR, a dump) can test guesses of those fields offline against
	// the hashes (a weak password in a Basic Authorization, a short session
	// id); with it, a guess cannot be tested without the secret.
	//
	// Give it at least 32 random bytes (crypto/rand), kept as a credential
	// is, and the same in every process sharing the backend: processes with
	// different secrets, or one with none, never share these variants (each
	// stores its own, and they count together against MaxVariants), and
	// changing it leaves the variants stored under the old one unreachable
	// until they expire. Nil (the default) names them by their SHA-256, as
	// before. A non-nil secret shorter than 32 bytes is an error, an empty
	// one too (an unset environment variable, say). New copies it.
	VariantKeySecret []byte
}

// BreakerOptions configures a Cache's circuit breaker. After Threshold
// consecutive failed backend calls (errors other than the backend's own
// answers, such as a miss, and timeouts, of Options.Timeout or of the
// caller's own deadline; not the caller's cancellation), or Threshold
// failed calls of one operation (get, set, add, delete...) with no success
// of that operation between them, whatever the others do, the Cache stops
// calling the backend for Cooldown: views and Memoize serve uncached at the
// cost of two atomic loads and a clock read, with no lock, and the direct
// API returns errors wrapping ErrUnavailable. So a backend whose reads
// answer but whose Sets hang opens the breaker too, instead of costing
// every miss Options.Timeout.
// Then one call goes through as a probe,
// bounded by Options.Timeout whoever makes it (a direct call under a
// context without a deadline too): its success closes the breaker, its
// failure or timeout opens it for another Cooldown. A probe of another
// operation than the one whose failure opened the breaker says nothing of
// that one: the breaker it closes opens again at that operation's next
// failure, until it succeeds once. Each change is logged once and shown in
// Stats.Breaker. In-process stores have no breaker.
//
// A backend of several servers may refuse the calls for the keys of one
// server it has marked down, at once, with backend.ErrServerDown (memcached
// does, and the Redis store for a Redis Cluster master): the breaker counts those neither as failures nor as successes
// (the failures that marked the server down were counted), so that one
// server down does not open it against the others; the calls fail open as
// any failed call does. With every server down, the backend's errors are
// failures again, and the breaker opens. Likewise a call a server refused
// for its key while it answers the others normally, with
// backend.ErrKeyRefused (a memcached proxy one of whose upstreams is dead;
// a filesystem entry this process may not read; a key longer than a Redis
// server reads, which the Redis store refuses without sending it): the
// store is up, and the call fails open without counting.
type BreakerOptions struct {
	// Threshold is how many consecutive failures, of any operations or of
	// one, open the breaker. Zero means 5; negative turns the breaker off.
	Threshold int
	// Cooldown is how long an open breaker refuses calls. Zero means 1
	// second; negative is an error.
	Cooldown time.Duration
}

// Cache is the entry point of the package: a typed, tag-aware view of one
// backend with a key prefix, a default TTL and an error policy. Create it
// with New or Must; it is safe for concurrent use.
type Cache struct {
	store  store // every read and write of entries goes through it
	prefix string
	ttl    time.Duration
	codec  Codec
	clock  func() time.Time

	log      *slog.Logger
	logLimit *ratelimit.Limiter

	stats     counters
	loads     flight.Group[string, epoched[any]] // GetOrSet's loads in flight, by store key
	fragments flight.Group[string, epoched[template.HTML]]
	inFlight  keyLoads // the loads and renders of both, which the direct API's writes supersede (loads.go)
	closeOnce sync.Once
	closeErr  error

	background // the life that Close ends, and the work that ends with it

	// rechecks counts the background rechecks of path version keys in
	// progress (view.recheckHandedOn), at most maxRechecks.
	rechecks atomic.Int32
	// decisions counts the decisions for path version keys handed on to
	// goroutines of their own in progress (view.decideAfter), at most
	// maxDecisions.
	decisions atomic.Int32

	named registry      // the counters of each view and memoized function
	lease time.Duration // Options.Lease
	// owned: the leases this process took whose release is in flight, or
	// failed before it reached the backend (lease.go).
	owned ownedLeases
	// hostWrites: Options.HostScopedWrites (see view.tagKeysFor).
	hostWrites bool
	// variants names the Vary variants no key may spell, with
	// Options.VariantKeySecret (keys.go).
	variants variantNames
}

// New returns a Cache configured by opts, or an error naming the first
// invalid option. A nil opts is the zero Options.
func New(opts *Options) (*Cache, error) {
	if opts == nil {
		opts = &Options{}
	}
	c := &Cache{
		prefix:     opts.KeyPrefix,
		hostWrites: opts.HostScopedWrites,
		ttl:        opts.DefaultTTL,
		codec:      opts.Codec,
		clock:      opts.Clock,
		log:        opts.Logger,
	}
	c.background.start()
	switch {
	case opts.DefaultTTL < 0:
		return nil, fmt.Errorf("%w: Options.DefaultTTL is %v; want 0 (5m), a positive duration, or Forever", ErrInvalidOption, opts.DefaultTTL)
	case opts.DefaultTTL == 0:
		c.ttl = 5 * time.Minute
	}
	if opts.LogInterval < 0 {
		return nil, fmt.Errorf("%w: Options.LogInterval is %v; want 0 (10s) or positive", ErrInvalidOption, opts.LogInterval)
	}
	logInterval := opts.LogInterval
	if logInterval == 0 {
		logInterval = 10 * time.Second
	}
	c.logLimit = ratelimit.New(logInterval, 1)
	if opts.Lease < 0 {
		return nil, fmt.Errorf("%w: Options.Lease is %v; want 0 (off) or positive", ErrInvalidOption, opts.Lease)
	}
	c.lease = opts.Lease
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("%w: Options.Timeout is %v; want 0 (500ms) or positive", ErrInvalidOption, opts.Timeout)
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 500 * time.Millisecond
	}
	if opts.VariantKeySecret != nil && len(opts.VariantKeySecret) < minVariantKeySecret {
		return nil, fmt.Errorf("%w: Options.VariantKeySecret is %d bytes; want at least %d random bytes, or nil for none", ErrInvalidOption, len(opts.VariantKeySecret), minVariantKeySecret)
	}
	c.variants = newVariantNames(opts.VariantKeySecret)
	if opts.Breaker.Cooldown < 0 {
		return nil, fmt.Errorf("%w: Options.Breaker.Cooldown is %v; want 0 (1s) or positive", ErrInvalidOption, opts.Breaker.Cooldown)
	}
	// Every option is checked before the default store is made: it starts
	// a goroutine, which a failed New must not leave behind.
	b := opts.Backend
	if b == nil {
		s, err := simple.New(simple.Options{})
		if err != nil {
			return nil, fmt.Errorf("caching: default store: %w", err)
		}
		b = s
	}
	if c.codec == nil {
		c.codec = JSON
	}
	realClock := c.clock == nil
	if realClock {
		c.clock = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c.store = store{
		b:         b,
		clock:     c.clock,
		realClock: realClock,
		timeout:   timeout,
		pathTags:  c.prefix + kindPath,
		hostTags:  c.prefix + kindHost,
		genTags:   c.prefix + kindGen,
		stats:     &c.stats,
		failOpen:  c.failOpen,
		obs:       opts.Observer,
	}
	c.store.local, _ = b.(backend.ValueStore)
	if c.store.local == nil {
		c.store.near, _ = b.(backend.NearCache)
	}
	c.store.many, _ = b.(backend.GetManyer)
	c.store.setMany, _ = b.(backend.SetManyer)
	if d, ok := b.(backend.Discarder); ok {
		c.store.discards = d.Discards()
	}
	c.store.inProcess()
	c.clock = c.store.clock // a cheaper one, for an in-process store
	if c.store.local == nil && opts.Breaker.Threshold >= 0 {
		br, err := breaker.New(breaker.Options{
			Threshold: opts.Breaker.Threshold,
			Cooldown:  opts.Breaker.Cooldown,
			Clock:     c.clock,
			OnChange:  c.breakerChanged,
		})
		if err != nil {
			return nil, fmt.Errorf("%w: Options.Breaker: %w", ErrInvalidOption, err)
		}
		c.store.br = br
		c.store.shortExcused = int64(opts.Breaker.Threshold)
		if c.store.shortExcused == 0 {
			c.store.shortExcused = breaker.DefaultThreshold
		}
	}
	return c, nil
}

// breakerChanged logs each change of the breaker's state, once: these are
// not rate-limited, as a flapping backend changes state at most once per
// cool-down.
func (c *Cache) breakerChanged(from, to breaker.State) {
	level, msg := slog.LevelWarn, "caching: backend failing, circuit breaker open: serving uncached"
	switch to {
	case breaker.Closed:
		level, msg = slog.LevelInfo, "caching: backend answering again, circuit breaker closed"
	case breaker.HalfOpen:
		level, msg = slog.LevelInfo, "caching: probing the backend, circuit breaker half-open"
	}
	c.log.LogAttrs(context.Background(), level, msg, slog.String("from", from.String()), slog.String("to", to.String()))
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
func (c *Cache) Backend() backend.Backend { return c.store.b }

// Close ends the Cache's background work (the refreshes of
// StaleWhileRevalidate and RefreshAhead, the retries of invalidations, and
// Warm's requests: their contexts are cancelled, and none starts
// afterwards), waits for the background goroutines to return, at most
// twice Options.Timeout, makes one last attempt at the invalidations that
// failed and still wait for their retry (Stats.PendingInvalidations), at
// most twice Options.Timeout again, then closes the backend. The wait lets
// a refresh that honours its context release its lease (see Lease):
// without it the lease would stay for its whole time, and the other
// processes sharing the backend would wait for it as for a crashed holder.
// The bounds keep Close prompt: a refresh still running past them finds
// the backend closed.
//
// The invalidations that the last attempt could not make are dropped, and
// logged at ERROR with their number of keys (and whether the clear of an
// overflowed retry set was left undone): the other processes sharing the
// backend may serve the entries they were meant to end until those expire
// (Forever: until evicted or invalidated again). Invalidate them again, or
// Clear, from a process that stays.
//
// Close is idempotent; later calls on the Cache return errors wrapping
// ErrClosed, but for those that fail open, which pass through as when the
// backend fails: the response cache runs the handler, Memoize the function,
// and Fragment, FragmentFunc and FragmentFuncIn their render, each
// returning what it made (a fragment with a nil error), uncached: nothing
// stored before Close is served, and nothing is stored. The closed
// backend's error is counted in Stats.Errors and logged, at most once per
// Options.LogInterval.
func (c *Cache) Close() error {
	c.closeOnce.Do(func() {
		c.background.stop(closeWait * c.store.timeout)
		c.closeInvalidations(closeWait * c.store.timeout)
		c.closeErr = c.store.b.Close()
	})
	return c.closeErr
}

// closeWait is how many times Options.Timeout Close waits at most for the
// background goroutines: a refresh's handler or function that honours its
// context returns, then releases its lease in one backend call.
const closeWait = 2

// now is the Cache's clock in Unix nanoseconds.
func (c *Cache) now() int64 { return c.clock().UnixNano() }

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

// failOpen records a backend error that the caller swallows to serve the
// request uncached: it is counted, and logged at most once per LogInterval
// (with the number of errors not logged since). Keys are never logged, nor
// stored values: a value that does not decode is logged as its type and
// that fact, without the codec's error, which may quote it.
func (c *Cache) failOpen(op string, err error) {
	if errors.Is(err, ErrUnavailable) {
		// The breaker refused the call: counted apart where it refused it
		// (store.admit), and not logged (the breaker logs its changes of
		// state).
		return
	}
	if !notMade(err) {
		c.stats.errors.Add(1)
	} // else counted in Unavailable (store.report), and logged: nothing else says which server is down
	ok, suppressed := c.logLimit.Allow(c.clock())
	if !ok {
		return
	}
	text := err.Error()
	if d := (*decodeFailure)(nil); errors.As(err, &d) {
		text = d.logText()
	}
	c.log.LogAttrs(context.Background(), slog.LevelWarn, "caching: backend error, serving uncached",
		slog.String("op", op), slog.String("error", text),
		slog.Int64("suppressed", suppressed))
}
