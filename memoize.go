package caching

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/argkey"
	"github.com/go-caching/caching/internal/flight"
)

// Memoized is a function memoized through a Cache: Get returns the result
// stored for an argument, or calls the function once, stores its result and
// returns it. Create it with Memoize; it is safe for concurrent use.
//
// # Keys
//
// An entry's key is the Cache's KeyPrefix, the memoized function's name and
// Version, a hash of the structure of its result type, and a deterministic
// encoding of the argument (see KeyFunc for the rules and for choosing a key
// yourself): equal arguments share one entry in every process sharing the
// backend; different arguments never do. Long keys are hashed.
//
// The result type's hash spells its exported fields (names, types and tags,
// recursively; see internal/argkey's Shape), not its name or package: a
// release that renames, retypes or retags a field misses the entries of the
// releases before it, which JSON would decode without an error into values
// with zero fields, and a result type change needs no new Version (change
// Version when the results change meaning, not shape).
//
// # Results are shared
//
// Who gets which value depends on the store.
//
// On an in-process store (backend/simple) Get returns the value the
// function returned, as it is: not a copy, and nothing is decoded on a hit.
// Every caller gets that one value, the callers that join one computation
// (concurrent Gets of one argument) included. A result of a reference type
// (a map, a slice, a pointer, or a struct holding one) is shared with every
// other caller and must not be modified; copy it first. It counts against
// the store's byte bound as SetAs says: a result cut from a large buffer (a
// substring, a sub-slice) counts as the part it holds, not the whole buffer
// it keeps in memory; clone it first.
//
// On other stores a result goes through the Cache's Codec, so the result
// type must round-trip through it (JSON by default: exported fields only):
//
//   - Without a near cache, each hit decodes a value of its own.
//   - With a near cache (backend/near), the first reader of an entry that
//     memory keeps (a hit read remote) keeps the value it decoded with it,
//     and every later near hit on that entry gets that same value: one
//     decoded value per kept entry, shared by the callers of the process
//     until the entry leaves memory, and not to be modified, as on an
//     in-process store. An entry memory does not keep is decoded by each
//     hit, as without a near cache.
//   - Of the callers that join one computation, the one that ran fn gets
//     fn's value and each other one a value of its own, decoded from the
//     entry's encoding, unless the result was not encoded (StoreIf,
//     SkipZero or a negative ResultTTL refused it, or the Codec failed):
//     they then share fn's value.
//
// # Failures
//
// Errors from the function are returned and never stored. A panic in the
// function reaches every caller waiting for it, each panicking with a
// *PanicError (but for a computation whose argument changed after its caller
// left: see Memoize). A runtime.Goexit in the function (t.FailNow) is no
// result: the caller that ran it gets an error, and the callers that
// joined it compute again, each for its own. A function that returns that
// error (a nested memoized Get's) returned: the callers that joined it get
// that error, as any other, and do not run it again. When the backend
// fails or is slower than Options.Timeout, Get still returns the
// function's result,
// and the error is logged (rate-limited) and counted in Stats.Errors; so is
// a result the Codec cannot encode (it is returned, not stored).
//
// # Invalidation
//
// Forget removes one argument's entry; ForgetAll deletes the function's
// generation, a version kept in the backend without expiry and read with
// every entry in the same round trip, so that every process sharing the
// backend stops serving the old entries at once; Tags and Cache.InvalidateTags group
// entries of several functions and views. The generation and tag versions
// are read before the function runs, so a result computed while any of them
// changed is never served.
//
// # Jobs
//
// Refresh computes and stores a result now (a job that precomputes), Set
// stores a result computed elsewhere, and Peek reads what is stored without
// calling the function. RefreshAhead keeps results that are asked for often
// from expiring in front of a caller.
type Memoized[A, R any] struct {
	c    *Cache
	fn   func(context.Context, A) (R, error)
	name string

	version string
	keyHead string        // Cache.memoKeyHead(name, version, R)
	genKey  string        // the key of the function's generation
	tagKeys []string      // the keys of its tags and generation, sorted
	ttl     time.Duration // as resolved: 0 is no expiry
	swr     time.Duration
	sie     time.Duration
	ahead   time.Duration // RefreshAhead

	bypassIf  func(context.Context, A) bool
	refreshIf func(context.Context, A) bool
	skipZero  bool
	storeIf   func(R) bool
	staleIf   func(R) bool
	ttlOf     func(R) time.Duration
	tagsOf    func(A) []string // ArgTags
	keyFunc   func(A) string
	enc       argkey.Encoder[A] // without keyFunc
	copyArg   func(A) (A, bool) // argkey.CopierOf without keyFunc: nil when A holds no references (see ownArg)
	keyRefs   bool              // keyFunc is set and A holds references: the key is checked again (see ownArg)

	// shared is what the Memoized values of the name share: the epochs of their
	// keys, which change with every Forget, ForgetAll, Set and Refresh, and with
	// a Get that RefreshIf forces (a computation stores its result only if its
	// key's epoch did not change while it ran, so that an in-process Forget is
	// never undone by a computation that started before it, through this Memoized
	// or another of the name), and their computations in flight, calls (those of
	// the name's Memoized of result type R).
	shared *memoShared
	calls  *flight.Group[string, epoched[R]]

	refreshMu    sync.Mutex
	refreshing   map[string]refreshMark // keys with a background refresh running, or held (aheadHeld)
	refreshHolds uint64                 // the holds made so far (holdAhead)
	refreshSlots refreshSlots           // at most maxRefreshes, and the overdue ones

	counter *namedCounter // its counts in MemoStats (stats.go)
	lease   time.Duration // Lease, or Options.Lease: 0 is off (lease.go)
	// collapse is how long a call waits for a computation of its key it
	// joined (collapseBound): CollapseTimeout, or the lease plus
	// DefaultCollapseTimeout; 0 is no bound.
	collapse time.Duration

	// drops are the keys with a dropAfterWrite waiting for the write lock,
	// and the epoch that the latest ask for it read. Guarded by dropMu.
	dropMu sync.Mutex
	drops  map[string]*memoEpoch
}

// Memoize returns fn memoized through c under name. The name identifies the
// function's entries in the backend: two Memoized values with one name (in
// one process or in several) share their entries, so give every function its
// own name, and change Version when the function's results change meaning.
// Closures made in a loop are different functions: memoized under one name,
// the second one's calls return the first one's results (put what they
// capture in the argument, or in the name). The Cache logs a warning, once
// per name, when this process memoizes a second function under a name. A
// method value (svc.Load) is a new function each time it is evaluated:
// memoize it once, and keep the Memoized.
//
// Options: TTL, Tags, Version, StaleWhileRevalidate, StaleIfError,
// RefreshAhead, BypassIf, RefreshIf, StoreIf, StaleIf, SkipZero, ResultTTL,
// ArgTags, KeyFunc (the generic ones with A and R the function's argument and
// result types), Lease and CollapseTimeout. Singleflight is always
// on: concurrent Gets of one argument in this process call fn once. A call
// waits for a computation it joined (another Get's, a Refresh's, a
// background refresh's) until that computation has run for the
// function's CollapseTimeout, by default DefaultCollapseTimeout plus the
// function's Lease (how long a view's request waits by default), no
// longer: it then
// computes in its place (counted in Stats.CollapseTimeouts and
// CollapseTakeovers), and the calls that come since join its computation;
// the one it took over goes on for its own caller, and, ending later,
// stores nothing over the new result (nothing at all where a Get's miss:
// a replacement, such as a background refresh, stores only where nothing
// was stored since: where the taker's fn failed, or its result was not to
// be stored, the refresh's, the only one, is stored and served); one
// stuck in a backend write that outlasts
// Options.Timeout, which the taker's store then cannot wait for, has what
// it wrote removed once it lands. So a hung dependency holds the callers of a key for
// that long at most, not for as long as it hangs, and with a stuck
// background refresh of the key, not until Close. A function whose
// usual run is slower than that would, with concurrent callers, run once
// more per bound of waiting: give it a CollapseTimeout longer than its
// slowest usual run, or a negative one, with which a call waits for the
// computation it joined as long as it runs (its context's end still ends
// the wait).
//
// fn is called with a context that carries the values of the context of the
// Get that started the call, but not its cancellation or deadline: when that
// caller gives up, fn goes on for the other callers and for the cache. A
// background refresh's (StaleWhileRevalidate, RefreshAhead, StaleIf) carries
// them but timing's recorder: what fn records with timing.Add, Count or
// Start there reaches no request's Report or Server-Timing. When
// every caller has given up, it goes on while fewer than 64 other calls of
// the function do so, and its context is cancelled past that, so that
// clients that ask for many arguments and leave cannot pile up work nobody
// waits for; Close cancels a background refresh's. A result fn returns
// once its context is cancelled is handled as ctx.Err(), even without an
// error (a fallback made of the reads the cancellation failed, such as an
// empty list), and never stored. Bound fn's time inside it if it may hang.
//
// A result is computed for the argument its key was made from, even where
// fn runs on after the caller returned (its ctx ended, or a background
// refresh: StaleWhileRevalidate, RefreshAhead, StaleIf): without KeyFunc, a
// caller may reuse the slice, map or struct it passed as soon as Get
// returns. With KeyFunc the argument is used as given: a caller whose
// computation may outlive it (a ctx that ends, StaleWhileRevalidate,
// RefreshAhead, StaleIf) must not change it afterwards (see below).
//
// When A holds references (a slice, a map, a pointer or an interface), fn is
// called with a copy of the argument, made before Get returns by the caller
// whose computation runs (a caller that joins another's copies nothing) and
// for each refresh a hit starts (a hit that starts none copies nothing); fn
// does not see the caller's later changes, nor the caller fn's. The copy
// reads exactly what the key is made of: pointers, slices, maps, interfaces
// and the exported fields of structs encoded field by field. A value of a
// type keyed by its own method (CacheKey, MarshalBinary, GobEncode,
// MarshalText), at the top or nested, is not read but shared, and so is a
// pointer to one (a *big.Int); so are map keys that hold references. With
// such an argument (and under KeyFunc when A holds references) ArgTags is
// called when the copy is made, while the caller holds its argument (a
// panic of it there reaches the caller as fn's would, or, for a caller
// that has left or a hit starting a refresh, is logged and computes
// nothing), and a second copy is kept, which fn does not get, and when fn
// returns after its caller did (always, for a background refresh) its key
// is made again: a result whose key changed or can no longer be made (the
// caller changed what is shared; a panic of the key's method counts as a
// change) is not stored (counted in Stats.Errors and logged) and not handed
// to the callers that joined the computation, which compute again for their
// own argument; nor is a panic of fn in such a computation (it is logged),
// nor a runtime.Goexit of fn in any (the caller that ran it gets an error). A
// caller still waiting in Get cannot change its argument: its computation's
// key is not checked again, and a change fn makes to its argument does not
// count. A change made and undone while fn ran goes unseen: do not change
// what is shared.
//
// With KeyFunc the argument is not copied (the key function alone says
// what matters): fn gets the caller's. When A holds references the key
// function is called again in the same case, with the same rule: a result
// whose key changed is dropped, but a change the key does not show reaches
// fn. So a background refresh whose fn changes its own argument's key (it
// normalises it in place) is never stored; a Get's or a Refresh's is,
// as long as its caller waits for it.
//
// Memoize panics if the configuration is invalid (a nil c or fn, an empty
// name or one containing "/", a negative duration, a generic option of other
// types than fn's, or an argument type that cannot be encoded, such as a
// struct with unexported fields and no CacheKey method, while no KeyFunc is
// given; or a result type that cannot be stored: a func, such as an
// iter.Seq, a channel, or a type holding one in an exported field or an
// element): like regexp.MustCompile, it is meant for program start-up.
func Memoize[A, R any](c *Cache, name string, fn func(context.Context, A) (R, error), opts ...MemoOption) *Memoized[A, R] {
	m, err := newMemoized(c, name, fn, funcID(fn), opts)
	if err != nil {
		panic(err)
	}
	return m
}

// newMemoized is Memoize, returning its error; id is the function the
// caller memoizes (funcID), told apart from others under the same name.
func newMemoized[A, R any](c *Cache, name string, fn func(context.Context, A) (R, error), id uintptr, opts []MemoOption) (*Memoized[A, R], error) {
	switch {
	case c == nil:
		return nil, fmt.Errorf("%w: Memoize: nil *Cache", ErrInvalidOption)
	case fn == nil:
		return nil, fmt.Errorf("%w: Memoize %q: nil function", ErrInvalidOption, name)
	case name == "":
		return nil, fmt.Errorf("%w: Memoize: empty name", ErrInvalidOption)
	case strings.Contains(name, "/"):
		return nil, fmt.Errorf("%w: Memoize %q: the name must not contain \"/\"", ErrInvalidOption, name)
	}
	var cfg memoConfig
	for _, o := range opts {
		if o != nil {
			o.applyMemo(&cfg)
		}
	}
	m := &Memoized[A, R]{
		c: c, fn: fn, name: name, version: cfg.version,
		swr: cfg.swr, sie: cfg.sie, ahead: cfg.ahead, skipZero: cfg.skipZero,
	}
	who := fmt.Sprintf("Memoize %q", name)
	var err error
	if m.ttl, err = c.resolveTTL(cfg.ttl); err != nil {
		return nil, fmt.Errorf("%w: %s: TTL: %w", ErrInvalidOption, who, err)
	}
	if cfg.swr < 0 || cfg.sie < 0 || cfg.ahead < 0 {
		return nil, fmt.Errorf("%w: %s: StaleWhileRevalidate, StaleIfError and RefreshAhead must not be negative", ErrInvalidOption, who)
	}
	if m.bypassIf, err = checkFunc[func(context.Context, A) bool](who, "BypassIf", cfg.bypass); err != nil {
		return nil, err
	}
	if m.refreshIf, err = checkFunc[func(context.Context, A) bool](who, "RefreshIf", cfg.refresh); err != nil {
		return nil, err
	}
	if m.storeIf, err = checkFunc[func(R) bool](who, "StoreIf", cfg.storeIf); err != nil {
		return nil, err
	}
	if m.staleIf, err = checkFunc[func(R) bool](who, "StaleIf", cfg.staleIf); err != nil {
		return nil, err
	}
	if m.ttlOf, err = checkFunc[func(R) time.Duration](who, "ResultTTL", cfg.ttlOf); err != nil {
		return nil, err
	}
	if m.keyFunc, err = checkFunc[func(A) string](who, "KeyFunc", cfg.keyFunc); err != nil {
		return nil, err
	}
	if m.tagsOf, err = checkFunc[func(A) []string](who, "ArgTags", cfg.tagsOf); err != nil {
		return nil, err
	}
	if m.keyFunc == nil {
		if err := argkey.Check(reflect.TypeFor[A]()); err != nil {
			return nil, fmt.Errorf("%w: %s: argument: %w (or give a KeyFunc)", ErrInvalidOption, who, err)
		}
		m.enc = argkey.EncoderOf[A]()
		m.copyArg = argkey.CopierOf[A]()
	} else {
		m.keyRefs = argkey.HoldsRefs(reflect.TypeFor[A]())
	}
	if err := checkResultType(reflect.TypeFor[R]()); err != nil {
		return nil, fmt.Errorf("%w: %s: result: %w", ErrInvalidOption, who, err)
	}
	if err := checkLease(who, cfg.commonConfig); err != nil {
		return nil, err
	}
	m.lease = c.leaseOf(cfg.commonConfig)
	m.collapse = m.lease + DefaultCollapseTimeout
	if cfg.collapseSet {
		m.collapse = max(cfg.collapse, 0) // negative: no bound
	}
	m.counter = c.named.counter(&c.named.funcs, name)
	m.shared = c.named.memo(name)
	m.calls = memoCalls[R](m.shared, c.now)
	if c.named.reused(name, id) {
		c.log.LogAttrs(context.Background(), slog.LevelWarn,
			"caching: Memoize: a second function registered again under one name shares the first's entries; give each its own name",
			slog.String("name", name))
	}
	m.keyHead = c.memoKeyHead(name, m.version, reflect.TypeFor[R]())
	m.genKey = c.genKey(name)
	m.tagKeys = append(c.tagKeys(cfg.tags), m.genKey)
	slices.Sort(m.tagKeys)
	return m, nil
}

// Name returns the name the function was memoized under.
func (m *Memoized[A, R]) Name() string { return m.name }

// Key returns the backend key of a's entry. It fails only if a cannot be
// encoded (a value of an unsupported type inside an interface, a cycle, or
// a value nested or shared too deeply); see KeyFunc.
func (m *Memoized[A, R]) Key(a A) (string, error) {
	var kb [keyBufLen]byte
	key, err := m.appendKey(kb[:0], a)
	return string(key), err
}

// appendKey appends the backend key of a's entry to dst.
func (m *Memoized[A, R]) appendKey(dst []byte, a A) ([]byte, error) {
	var scratch [128]byte
	var arg []byte
	if m.keyFunc != nil {
		// A leading 0 keeps these keys apart from encoded arguments, which
		// start with their format version.
		arg = append(append(scratch[:0], 0), m.keyFunc(a)...)
	} else {
		var err error
		if arg, err = m.enc.Append(scratch[:0], a); err != nil {
			return dst, fmt.Errorf("caching: memoize %s: key: %w", m.name, err)
		}
	}
	return m.c.appendMemoKey(dst, m.keyHead, arg), nil
}

// Get returns the result of fn for a: the stored one if there is a fresh
// entry for a, else a stale one where StaleWhileRevalidate allows (with one
// refresh started in the background), else fn's result, stored for the next
// calls. Concurrent calls for one argument call fn once; each returns with
// its own ctx.Err() as soon as its ctx is done, while fn goes on for the
// others. A call that RefreshIf forces joins no computation begun before
// it, as Refresh (see RefreshIf). A call made from within fn's computation
// for a's own key, with the context fn was given (or one made from it),
// does not join that computation, which waits for it: it calls fn inline,
// as without a cache, and stores nothing (with another context,
// context.Background(), it would join and wait for its own computation,
// then, past the collapse bound (see Memoize), compute in its place,
// whose fn asks again: a recursion that never returns); one that RefreshIf forces
// stores its result there as Refresh does (see Refresh).
func (m *Memoized[A, R]) Get(ctx context.Context, a A) (R, error) {
	if m.bypassIf != nil && m.bypassIf(ctx, a) {
		m.record(outBypass)
		return m.fn(ctx, a)
	}
	// The key is built on the stack, and made a string only for a miss.
	var kb [keyBufLen]byte
	kbuf, err := m.appendKey(kb[:0], a)
	if err != nil {
		var zero R
		return zero, err
	}
	forced := m.refreshIf != nil && m.refreshIf(ctx, a)
	var (
		stale    R
		hasStale bool
		down     bool      // the lookup failed: fn runs without the backend, as for a view
		seen     entryMark // what the lookup found, for the lease (acquireLease)
	)
	if !forced {
		e, err := m.lookupArg(ctx, kbuf, a)
		switch {
		case err == nil:
			v, err := decodeValueOf[R](m.c, e, kbuf, "")
			switch {
			case err != nil:
				// A codec that cannot read it (a result of another shape
				// has another key: see resultShape): recompute.
				m.failOpen("memoize decode", err)
			case m.c.store.fresh(e, time.Time{}) && (m.staleIf == nil || !m.staleIf(v)):
				m.record(outHit)
				if m.ahead > 0 {
					m.refreshAhead(ctx, kbuf, a, e)
				}
				return v, nil
			default:
				past := pastFresh(e, e.clockAt(m.c.clock()))
				if m.swr > 0 && past < m.swr {
					m.record(outStale)
					m.refreshInBackground(ctx, kbuf, a, e, false, 0)
					return v, nil
				}
				if m.sie > 0 && past < m.sie {
					stale, hasStale = v, true
				}
			}
		case callerEnded(ctx, err):
			// The caller left: not the backend's error, neither counted
			// nor logged (as for the breaker: store.report). m.do returns
			// its ctx.Err().
			down = true
		case !errors.Is(err, ErrNotFound):
			m.failOpen("memoize get", err)
			down = true
		default:
			m.counter.countLookup(err)
		}
		seen = markOf("", e, err) // its key is set below
	}
	key := string(kbuf)
	seen.key = key
	// Asked for from within its own computation (reentry.go): computed
	// inline by m.do, with no supersede of that computation and no lease,
	// which it holds.
	self := withinItself(ctx, m.calls, key, false)
	if withinDecidedHook != nil {
		withinDecidedHook(key, self)
	}
	var seeker *memoEpoch // a forced Get's supersede (nil: none), which its computation leads
	switch {
	case forced && !self:
		// As for Refresh: a computation in flight may have read the data
		// before the update this call is forced for. It is neither joined
		// nor lets its result be stored after this one's.
		held := m.shared.supersedeSeeking(key) // until it returns: see supersedeSeeking
		defer m.shared.done(&held)
		seeker = &held
	case forced:
		// Computed inline, and stored: the others but the computations it
		// is made within are superseded (see Refresh).
		held := m.shared.supersedeWithin(ctx, m.calls, key)
		defer m.shared.done(&held)
	}
	var served *memoStale // for the run this caller may lead (nil: none)
	wait := ctx           // what m.do waits with
	if hasStale && m.lease > 0 && !self {
		held, look := m.leaseHeld(ctx, key)
		if held {
			m.record(outStale) // another process computes it (lease.go)
			return stale, nil
		}
		// The run may find this process's release that marks the lease
		// in flight, begun since leaseHeld's look: it ends this caller's
		// wait, which then serves the stale result (ctx not done), and
		// goes on for the callers that joined it (memoStale).
		var serve context.CancelFunc
		wait, serve = context.WithCancel(ctx)
		defer serve()
		served = &memoStale{serve: serve, look: look}
	}
	// fn may run on after this caller returns (its ctx ends): it gets an
	// argument of its own, made if this caller leads the computation.
	lent := m.lend(ctx, a)
	joined, returned := false, false // as m.do reports them (see giveBack)
	defer func() { m.giveBack(lent, joined || !returned) }()
	var peer atomic.Bool // the result came from another process (lease.go)
	// A forced Get joins no background refresh once it leads: see leads.
	res, joined, err := m.do(wait, key, self, forced, seeker, func(ctx context.Context) (R, error) {
		if seeker != nil && seekerLeadsHook != nil {
			seekerLeadsHook(key)
		}
		arg, err := m.argOf(ctx, lent, a)
		if err != nil {
			var zero R
			return zero, err
		}
		if down {
			// The lookup just failed: fn runs, and nothing more is asked
			// of that backend (no versions read, no store), as for a view.
			out, _ := ctx.Value(flightOutKey{}).(*flightOut)
			v, changed, err := m.callFn(ctx, key, arg, out)
			if changed && err == nil {
				m.failOpen("memoize set", m.errArgChanged())
			}
			return v, err
		}
		switch {
		case forced:
			return m.compute(ctx, key, arg, computeForced)
		case m.lease > 0 && !self:
			return m.computeLeased(ctx, key, arg, seen, &peer, served)
		}
		return m.compute(ctx, key, arg, computeMiss)
	})
	returned = true
	v := res.v
	switch {
	case hasStale && err != nil && ctx.Err() == nil:
		m.record(outStale)
		return stale, nil
	case (joined || peer.Load()) && err == nil:
		m.record(outHit) // another call computed it: this one did not run fn
	default:
		m.record(outMiss)
	}
	return v, err
}

// epoched is a result shared in flight, with the count of the store's
// invalidations when its computation began and, for a memoized function,
// the tag versions it was computed under (none: nothing to check) and its
// encoding for the callers that joined it (see flightOut).
type epoched[V any] struct {
	v       V
	epoch   uint64
	vs      versionSet
	payload []byte
	check   *versionCheck // of vs, shared by the callers that joined
	// argChanged: v was computed for another argument than its key's (see
	// flightOut).
	argChanged bool
	// returned: the computation returned (set by doSinceRejoining's work,
	// which flight leaves zero when it ends by runtime.Goexit instead).
	returned bool
	// replaced and kept: see flightOut.
	replaced bool
	kept     error
}

// newEpoched is the result v of a computation that began at epoch and
// reported out, with the check its joined callers share.
func newEpoched[V any](v V, epoch uint64, out flightOut) epoched[V] {
	res := epoched[V]{v: v, epoch: epoch, vs: out.vs, payload: out.payload, argChanged: out.argChanged,
		replaced: out.replaced, kept: out.kept}
	if len(out.vs.keys) > 0 {
		res.check = new(versionCheck)
	}
	return res
}

// flightOut is what a computation in flight reports besides its result,
// for the callers that joined it.
type flightOut struct {
	// vs are the versions the result was computed under (none: nothing to
	// check).
	vs versionSet
	// payload is the result as the Codec encoded it for a store that is
	// not in-process (nil: not encoded), from which each joined caller
	// decodes a value of its own, as a hit would: a caller that modifies
	// its result must not write into another caller's.
	payload []byte
	// argChanged reports a result (an error, or a panic of fn, see callFn)
	// that is not the key's: the argument fn was called with no longer had
	// the key when fn returned, after its caller returned (the caller
	// changed what its copy shares with it, see ownArg, or what fn got
	// under KeyFunc). The callers that joined it compute again, each for
	// its own argument; the caller that ran it, if still there, gets it,
	// as an uncached call would.
	argChanged bool
	// replaced reports a result computed to replace key's entry
	// (computeReplace): fn was called after the computation began, and its
	// result was stored, or key's entry removed (or, where the backend
	// refused that too, put in the retry set). Refresh and a Get that
	// RefreshIf forces accept no other result from a computation they
	// joined (see doSinceRejoining): a Get's may be an entry it found
	// stored without calling fn (its in-process recheck, the lease's
	// result of another process), older than the update they are called
	// for, or one whose store failed and left the old entry in place.
	replaced bool
	// kept is the backend's error where key's entry could be neither
	// replaced nor removed (computeReplace): it may still be served by
	// other processes until the retry removes it (this process's lookups
	// miss meanwhile). Refresh returns it.
	kept error
	// outlived reports a result stored to leave the store too soon for
	// the lease's waiters to read it (leaseOutlived): its lease's "not
	// stored" marker is as short-lived (releaseLease).
	outlived bool
}

// maxRejoins is how many computations in flight that began before an
// invalidation a caller that came after it joins, and leaves, before it
// computes on its own.
const maxRejoins = 3

// do runs work for key once for its concurrent callers (see doSince), or,
// if within is set, inline (see doSinceRejoining).
// work reports the versions its result was computed under, and its
// encoding, through its ctx (flightOutKey), for the callers that joined it
// to check and to decode (copyOf). A computation that ended by
// runtime.Goexit is not handed to the callers that joined it: they join,
// or start, another (see doSinceRejoining).
//
// replace is set for Refresh and a Get that RefreshIf forces: they accept
// only the result of a computation that replaced key's entry
// (flightOut.replaced), and the result they return tells whether the
// entry could be removed where it could not be replaced (epoched.kept).
// seeker is their supersede (supersedeSeeking; nil: none), which the
// caller's computation leads (memoShared.leads) from the moment the
// caller becomes its leader.
func (m *Memoized[A, R]) do(ctx context.Context, key string, within, replace bool, seeker *memoEpoch, work func(context.Context) (R, error)) (epoched[R], bool, error) {
	var onLead func()
	if seeker != nil {
		onLead = func() { m.shared.leads(seeker) }
	}
	return doSinceRejoining(ctx, &m.c.store, m.calls, key, func(ctx context.Context) (R, flightOut, error) {
		var out flightOut
		v, err := work(context.WithValue(ctx, flightOutKey{}, &out))
		return v, out, err
	}, m.copyOf, true, false, within, replace, onLead, m.collapseBound())
}

// collapseBound is how long a caller waits for a computation of its key
// it joined (see doSinceRejoining): until the computation has run for the
// function's CollapseTimeout, by default what a view's is,
// DefaultCollapseTimeout, plus the function's Lease (its slowest usual
// run, and how long its leader may wait for another process's) under
// one, as for a refresh's being overdue (takeRefresh); a negative
// CollapseTimeout, for as long as it runs. A computation that runs longer
// (a hung dependency, or a background refresh that nothing ends but
// Close) is taken over (tookOver): the caller computes in its place, and
// leads the key's computation, which the callers that come since join.
func (m *Memoized[A, R]) collapseBound() collapseBound {
	return collapseBound{age: m.collapse, onTake: m.tookOver}
}

// tookOver is called, holding the flight's lock, when a caller took the
// place of key's overdue computation (collapseBound): that computation is
// superseded (memoShared.overtake), so that, ending later, it stores
// nothing over the taker's result (a replacement, only where nothing was
// written since: mayWrite), as a view's run taken over writes nothing.
// It counts in Stats.CollapseTimeouts and CollapseTakeovers.
func (m *Memoized[A, R]) tookOver(key string) {
	m.shared.overtake(key)
	m.c.stats.collapseTimeouts.Add(1)
	m.c.stats.collapseTakeovers.Add(1)
}

// collapseBound bounds a caller's wait for a computation it joined:
// flight.Group.DoBounded's age and onTake (an age of 0: no bound).
type collapseBound struct {
	age    time.Duration
	onTake func(key string)
}

// withinDecidedHook, when set, is called by Get and Refresh with their key
// once they have decided whether they are made from within its own
// computation (within, see withinItself), before they supersede or join
// any: a test lets that computation return there. Nil outside tests; set
// only by a test that does not run in parallel, and reset when it ends.
var withinDecidedHook func(key string, within bool)

// seekerLeadsHook, when set, is called with its key by the computation of a
// Refresh or forced Get that supersedes (supersedeSeeking) as it begins,
// in the goroutine of its flight: a test makes there what a caller may
// make between that caller's becoming the computation's leader and the
// computation's start (a Set, a stale hit's background refresh). Nil
// outside tests; set only by a test that does not run in parallel, and
// reset when it ends.
var seekerLeadsHook func(key string)

// copyOf is the value of its own that a caller who joined a computation
// gets on a store that is not in-process: payload, the result v as the
// Codec encoded it, decoded. v itself if the decode fails (logged).
func (m *Memoized[A, R]) copyOf(v R, payload []byte) R {
	var c R
	if err := m.c.codec.Unmarshal(payload, &c); err != nil {
		m.failOpen("memoize decode", decodeError[R](err))
		return v
	}
	return c
}

// flightOutKey is the context key under which Memoized.do gives the work
// it runs in flight a *flightOut, where compute reports the versions its
// result was computed under and its encoding. A nested memoized call's do
// gives its own.
type flightOutKey struct{}

// doSince runs work for key once for its concurrent callers in g (see
// flight.Do), and returns its result unless the computation this caller
// joined began before an invalidation that returned before this caller
// came (one that failed too: it waits for its retry, and the versions it
// left in place still read as current, so a view's waiters ask the retry
// set; store.invalidations counts it all the same), or was computed under
// tag versions that are no longer current (an
// invalidation in another process while it ran, which this process does
// not count: checked as a view's waiters check theirs, with one read of
// the versions on a remote store), or was computed for another argument
// than the key's (flightOut.argChanged). Its result may predate the
// invalidation, or be another argument's, so the caller joins, or starts,
// a newer one. work returns
// the versions its result was computed under (none: nothing to check) and
// its encoding (flightOut.payload): the caller that ran it gets the value
// it returned, and each caller that joined it gets copyOf(that value, the
// encoding) instead, a value of its own; without an encoding (or a
// copyOf) they share the value work returned.
func doSince[V any](ctx context.Context, s *store, g *flight.Group[string, epoched[V]], key string, work func(context.Context) (V, flightOut, error), copyOf func(V, []byte) V, byStack bool) (V, bool, error) {
	res, joined, err := doSinceRejoining(ctx, s, g, key, work, copyOf, false, byStack, withinItself(ctx, g, key, byStack), false, nil, collapseBound{})
	return res.v, joined, err
}

// doSinceRejoining is doSince, where, if goexit is set, a caller that
// joined a computation that ended by runtime.Goexit (flight.ErrGoexit)
// joins, or starts, another, as for one computed for another argument
// (flightOut.argChanged): a Goexit leaves no result, not even whether the
// argument had changed (a Goexit of fn after its caller left and changed
// it, see callFn), so it is not handed to a caller that came with its own
// argument. The caller whose work called it gets ErrGoexit; each caller
// runs work at most once (a caller that leads returns), as maxRejoins
// bounds the rest. A computation that returned an error, ErrGoexit too
// (that of a nested memoized call whose fn called Goexit), ran to its
// end: its joiners get that error, unchanged (epoched.returned tells it
// apart). If replace is set, a caller that joined a computation whose
// result did not replace key's entry (flightOut.replaced) joins, or
// starts, another, as for argChanged. onLead, if not nil, is called when
// the caller leads the computation whose result it returns (its own: see
// flight.Group.DoLeading). within is the caller's withinItself of key,
// decided once, before the caller made what depends on it (Refresh's and a
// forced Get's supersede, which spares the computations it is made within:
// supersedeWithin): the caller then computes inline, even where the
// computation it was made within has returned since, and, if replace is
// set, stores its result (the work's ctx is not marked inline). Checked again here, a Refresh or forced Get made with
// the context of a computation returning in between skipped its supersede
// and then joined another computation, whose result may have been read
// before the update it was called for. It returns the result with what
// its computation reported (the caller's value in v: copyOf's for a
// caller that joined).
func doSinceRejoining[V any](ctx context.Context, s *store, g *flight.Group[string, epoched[V]], key string, work func(context.Context) (V, flightOut, error), copyOf func(V, []byte) V, goexit, byStack, within, replace bool, onLead func(), bound collapseBound) (epoched[V], bool, error) {
	if within {
		// Asked for from within its own computation: joined, it would
		// wait for itself (see reentry.go). Computed here, as without a
		// cache; stored only by a replacement (Refresh, a forced Get),
		// whose caller superseded the other computations of key
		// (memoShared.supersedeWithin).
		if onLead != nil {
			onLead()
		}
		ictx, c := withComputation(ctx, g, key, byStack)
		defer c.finish()
		if !replace {
			ictx = inline(ictx, g, key)
		}
		v, out, err := work(ictx)
		return newEpoched(v, 0, out), false, err
	}
	since := s.invalidations.Load()
	run := func(ctx context.Context) (epoched[V], error) {
		epoch := s.invalidations.Load()
		var (
			v   V
			out flightOut
			err error
		)
		ctx, c := withComputation(ctx, g, key, byStack)
		defer c.finish()
		computing(func() { v, out, err = work(ctx) })
		res := newEpoched(v, epoch, out)
		res.returned = true
		return res, err
	}
	lead := false // see below
	for range maxRejoins {
		var (
			res    epoched[V]
			joined bool
			err    error
		)
		if lead {
			if onLead != nil {
				onLead() // it joins no other from here
			}
			res, err = g.Lead(ctx, key, run)
		} else {
			res, joined, _, err = g.DoBounded(ctx, key, run, onLead, bound.age, bound.onTake)
		}
		if joined && (res.argChanged || goexit && !res.returned && errors.Is(err, flight.ErrGoexit)) {
			continue // another argument's result (or error), or none: not this caller's
		}
		if joined && replace && !res.replaced {
			// Not a replacement of the entry (a Get's miss, which may
			// have found the older entry stored): not this caller's. It
			// now leads a computation of its own, which the callers that
			// come after it join, rather than wait for another Get's
			// (there may be one in flight already, begun since).
			lead = true
			continue
		}
		if !joined || err != nil || res.epoch >= since && res.check.current(ctx, s, res.vs) {
			if joined && err == nil && res.payload != nil && copyOf != nil {
				res.v = copyOf(res.v, res.payload)
			}
			return res, joined, err
		}
	}
	// Computations that kept going stale: this caller's own, which runs as
	// a flight's does (its deadline does not bound it; the caller returns
	// when its context ends).
	if onLead != nil {
		onLead()
	}
	res, err := g.DoAlone(ctx, func(ctx context.Context) (epoched[V], error) {
		ctx, c := withComputation(ctx, g, key, byStack)
		defer c.finish()
		return computeAlone(ctx, work)
	})
	return res, false, err
}

// computeAlone runs work, a computation that no other caller joins,
// through computing's frame (see reentry.go).
func computeAlone[V any](ctx context.Context, work func(context.Context) (V, flightOut, error)) (epoched[V], error) {
	var (
		v   V
		out flightOut
		err error
	)
	computing(func() { v, out, err = work(ctx) })
	return newEpoched(v, 0, out), err
}

// tagKeysOf returns the keys of the tags a's result is written under: the
// function's tags and generation, sorted, and those ArgTags makes of a.
// Without ArgTags it is m.tagKeys itself, and allocates nothing.
func (m *Memoized[A, R]) tagKeysOf(a A) []string {
	keys, _ := m.tagKeysWith(a)
	return keys
}

// tagKeysWith is tagKeysOf, which also returns the keys of the tags ArgTags
// made of a, sorted: they are created to expire (store.versionsExpiring).
func (m *Memoized[A, R]) tagKeysWith(a A) (keys, argKeys []string) {
	if m.tagsOf == nil {
		return m.tagKeys, nil
	}
	argKeys = m.c.tagKeys(m.tagsOf(a))
	if len(argKeys) == 0 {
		return m.tagKeys, nil
	}
	keys = make([]string, 0, len(argKeys)+len(m.tagKeys))
	keys = append(append(keys, argKeys...), m.tagKeys...)
	slices.Sort(keys)
	return slices.Compact(keys), argKeys
}

// versions reads (or creates) the versions of tags, a's tag keys from
// tagKeysWith, before a result for a is computed or stored.
func (m *Memoized[A, R]) versions(ctx context.Context, tags, argKeys []string, ttl time.Duration) (versionSet, error) {
	return m.c.store.versionsExpiring(ctx, tags, lifeOf(ttl, max(m.swr, m.sie)), argKeys)
}

// lookup reads key's entry and the versions of tags, its tag keys
// (tagKeysOf), bounded by Options.Timeout on a remote store: lookup sees
// to it. More tags than an entry records (see unstorable) are a miss,
// read from nowhere.
func (m *Memoized[A, R]) lookup(ctx context.Context, key string, tags []string) (*entry, error) {
	if unstorable(tags) {
		return nil, ErrNotFound
	}
	return m.c.store.lookup(ctx, key, tags, time.Time{})
}

// lookupBytes is lookup for a key built in a byte slice, which it does not
// keep (on the in-process store, it makes no string of it).
func (m *Memoized[A, R]) lookupBytes(ctx context.Context, key []byte, tags []string) (*entry, error) {
	if unstorable(tags) {
		return nil, ErrNotFound
	}
	return m.c.store.lookupBytes(ctx, key, tags, time.Time{})
}

// unstorable reports whether tags, an argument's tag keys, are more than
// an entry records (maxEntryTags): no result is ever stored under them
// (versionsExpiring refuses it), so that looking one up is a miss without
// reading the backend. ArgTags made of what a client sends (an id list of
// 100,000) would otherwise make every call read as many versions from a
// remote store, in one round trip, none of which can make a hit.
func unstorable(tags []string) bool {
	return len(tags) > maxEntryTags
}

// lookupArg is lookupBytes of a's entry under key, for Get and Peek. On the
// in-process store and in a near cache, it checks the entry against the
// tags the entry records it was written under, whose versions are held in
// memory: the keys ArgTags makes of a are not computed and the tag
// function is not called, so that a hit allocates nothing for them. For a
// deterministic tag function those are the keys tagKeysWith makes of a;
// for one that is not, the entry is still a miss once any tag it was
// written under is invalidated. The one difference: an entry that a
// function of the same name and Version wrote under other tags (other
// Tags, or no ArgTags) is a hit here, where a check against a's keys makes
// it a miss. Only a read of a remote store needs the keys first, to read
// the entry and the versions in one round trip.
func (m *Memoized[A, R]) lookupArg(ctx context.Context, key []byte, a A) (*entry, error) {
	s := &m.c.store
	switch {
	case m.tagsOf == nil:
		return m.lookupBytes(ctx, key, m.tagKeys)
	case s.local != nil:
		return m.lookupBytes(ctx, key, nil)
	case s.near != nil:
		k := string(key)
		if e, err := s.lookupLocal(k, nil, time.Time{}); err == nil {
			return e, nil
		}
		// Not all in memory: the remote store, with the keys (looking in
		// memory again with them would find nothing more).
		tags := m.tagKeysOf(a)
		if unstorable(tags) {
			return nil, ErrNotFound
		}
		return s.lookupRemote(ctx, k, tags, time.Time{}, s.near.NearToken())
	}
	return m.lookupBytes(ctx, key, m.tagKeysOf(a))
}

// computeMode says what a computation of a result is for.
type computeMode uint8

const (
	// computeMiss is a Get's miss: on the in-process store, a result that
	// another computation stored since the Get's lookup is used.
	computeMiss computeMode = iota
	// computeMissChecked is a Get's miss whose caller has just looked for
	// a stored result itself (the lease's check).
	computeMissChecked
	// computeReplace replaces the stored entry (Refresh), which may hold
	// the result of the data before an update: a result that is not stored
	// (refused, or the backend failing) removes it, as it no longer holds
	// a's result; a delete that fails is retried (see dropEntry).
	computeReplace
	// computeForced is computeReplace for a Get that RefreshIf forces,
	// which a client may ask for with any argument: a delete that fails is
	// not retried, and none is made while the breaker is open, nor for an
	// argument whose result is never stored (unstorable): reads must not
	// fill the invalidation retry set (whose overflow clears the
	// namespace) nor make a round trip for nothing (see backendFailed).
	computeForced
	// computeRefresh is a background refresh (StaleWhileRevalidate,
	// RefreshAhead, StaleIf): it replaces the entry as computeReplace
	// does, but a result the backend failed to store leaves the entry,
	// which nothing declared out of date (StaleIf's is stale already, and
	// served only within StaleWhileRevalidate): its TTL still holds, and
	// under a backend that refuses writes a removed entry would make
	// every later Get a miss. Its result is then not one that replaced the
	// entry (flightOut.replaced). Its fn failing removes the entry only
	// where a superseded replacement is owed that (memoShared.owed), as a
	// Refresh's does: a Refresh that joined it gets its error. It is owed
	// that itself only where a Refresh or forced Get may have joined it
	// (epochBackground).
	computeRefresh
)

// epochModeOf is what a computation in mode is to its key's entry.
func epochModeOf(mode computeMode) epochMode {
	switch mode {
	case computeReplace, computeForced:
		return epochReplace
	case computeRefresh:
		return epochBackground
	}
	return epochMiss
}

// compute calls fn for a and stores its result under key. It runs once for
// all the concurrent callers of one key, in Memoized.do, to which it
// reports the versions it read (flightOutKey).
func (m *Memoized[A, R]) compute(ctx context.Context, key string, a ownedArg[A], mode computeMode) (R, error) {
	v, _, err := m.computeStored(ctx, key, a, mode, nil)
	return v, err
}

// computeStored is compute, which also reports whether the result is stored
// (see computeTo), for a computation under lease when not nil.
func (m *Memoized[A, R]) computeStored(ctx context.Context, key string, a ownedArg[A], mode computeMode, lease *memoLease) (R, bool, error) {
	out, _ := ctx.Value(flightOutKey{}).(*flightOut)
	return m.computeTo(ctx, key, a, mode, out, lease)
}

// computeTo is compute, which reports in out (nil: nowhere) the versions
// its result was computed under, for the callers that joined it to check,
// and the result's encoding when it has one, for them to decode.
// stored reports whether the result is in the store for the next callers,
// as the lease's release needs it (lease.go): false for an error and for a
// result not to be stored (StoreIf, SkipZero, a negative ResultTTL) or that
// could not be (the versions not read, the codec or the backend refusing
// it); true, too, for a result forgotten while fn ran, which another caller
// is to compute again; false, too, for a result stored to leave the store
// too soon for the lease's waiters to read it (leaseOutlived). With
// computeReplace, a result not to be stored, or
// that the codec or the backend refuses (its versions not read, its write
// failed), removes key's entry (see dropReplaced), and out.replaced is set
// for the callers that joined (Refresh and forced Gets accept no other).
// A replacement (computeReplace, computeForced, and computeRefresh, whose
// result a Refresh or forced Get that joined it returns) superseded while
// fn ran still stores, or removes the entry, unless a later call has
// written first or a ForgetAll came (memoShared.mayWrite), deciding
// holding key's write lock: it returns only once the entry is its result
// or a later call's. A Get's miss superseded stores nothing, and does not
// wait to; nor does one run under lease (computeLeased, nil: none) that
// finds an entry another process stored since its last look under the
// lease (Memoized.storedSinceLease).
func (m *Memoized[A, R]) computeTo(ctx context.Context, key string, arg ownedArg[A], mode computeMode, out *flightOut, lease *memoLease) (v R, stored bool, err error) {
	if computedInline(ctx, m.calls, key) {
		// Asked for from within its own computation: computed, not
		// stored (reentry.go).
		v, _, err = m.callFn(ctx, key, arg, out)
		return v, false, err
	}
	tags, argKeys := m.argTagKeys(&arg)
	replacing := mode == computeReplace || mode == computeForced || mode == computeRefresh
	if replacing && out != nil {
		// Every way it ends below replaces key's entry, removes it, or
		// leaves it to whoever changed key's epoch or cleared the store
		// since; but one whose argument changed, which no caller joined
		// accepts (flightOut.argChanged), and a background refresh that
		// the backend failed (see computeRefresh).
		out.replaced = true
	}
	if mode == computeMiss && m.c.store.local != nil {
		// A computation that finished between this caller's lookup and its
		// joining the flight has stored the result: use it.
		if e, err := m.lookup(ctx, key, tags); err == nil && m.c.store.fresh(e, time.Time{}) {
			if v, err := decodeValue[R](m.c, e); err == nil && (m.staleIf == nil || !m.staleIf(v)) {
				if out != nil {
					out.vs = e.versions() // in process: no encoding, shared
				}
				return v, true, nil
			}
		}
	}
	// A replacement (Refresh, a forced Get, and a background refresh,
	// which a Refresh or forced Get may have joined instead of computing,
	// and whose result it then returns as replacing the entry) is told
	// from a Get's miss: superseded, it decides holding the write lock
	// (memoShared.mayWrite), and one whose fn fails may have to remove
	// key's entry (see below).
	epoch := m.shared.epochOfMode(key, epochModeOf(mode))
	defer func() { m.shared.done(&epoch) }()
	// Kept current by the Refreshes and forced Gets made from within it
	// (supersedeWithin), whose results its own holds.
	m.shared.enclose(&epoch, ownComputation(ctx, m.calls, key))
	cleared := m.c.store.clears.Load() // a Clear since: not stored (store.clears)
	// The tag versions are read before fn runs: if a tag is invalidated (or
	// ForgetAll is called, in any process) while fn runs, the result is
	// stored under the old versions, and so is a miss.
	// The versions are read before the result's life is known: with
	// ResultTTL, its ArgTags keys are made for the longest (0: pathLife's
	// bound), or they would end a result at four times the function's TTL.
	life := m.ttl
	if m.ttlOf != nil && len(argKeys) > 0 {
		life = 0
	}
	opCtx, cancel := m.c.store.bound(ctx)
	vs, verr := m.versions(opCtx, tags, argKeys, life)
	cancel()
	if verr != nil {
		m.failOpen("memoize tag versions", verr)
	} else if out != nil {
		out.vs = vs
	}
	if len(vs.created) > 0 {
		// Tracked until this call decides for them: a result stored under
		// one meanwhile (another argument's with the same ArgTags tag,
		// another function's) keeps it (createdKeys). Kept (they expire)
		// unless forgetCreated deletes them: a stored result, a panic.
		m.c.store.created.track(vs.created)
		defer func() {
			if vs.created != nil {
				m.c.store.keepCreated(vs.created)
			}
		}()
	}
	// changed: the argument's key changed while fn ran, after its caller
	// returned: v (or err) may be another argument's. It is neither stored
	// nor handed to the callers that joined (flightOut.argChanged), and
	// key's entry, if any, is left as it is.
	v, changed, err := m.callFn(ctx, key, arg, out)
	if err == nil && !changed && ctx.Err() != nil {
		// fn returned after its context ended: its flight cancelled it
		// (every caller left, past flight.MaxDetached), or Close did (a
		// background refresh). A result without an error may then be a
		// fallback made of the reads the cancellation failed (an empty
		// list): handled as the context's error, as fn returning it
		// would be, and never stored, as a view never stores a response
		// made after its request's context ended.
		err = ctx.Err()
	}
	if err != nil || verr != nil {
		m.forgetCreated(ctx, &vs, out)
		switch {
		case err == nil && !changed:
			// Not stored, as its versions could not be read: the entry
			// it was to replace is removed, as for a failed store.
			m.backendFailed(mode, tags, verr, out, func(retry bool) { m.dropReplaced(ctx, key, &epoch, retry, out) })
		case err != nil && epoch.replacing && !changed && !unstorable(tags):
			// fn failed: where a replacement this one superseded stored
			// nothing (or will not), though its caller (a Refresh) gets
			// its new result and no error, the entry, which may hold the
			// result of the data before the update, is removed, and the
			// delete retried if it fails, as for Refresh. One that stored
			// before this one's caller superseded it, or another stored
			// since, is kept (memoShared.owed). A background refresh
			// does the same, and, where a Refresh or forced Get may
			// have joined it (and so return its result), is owed it as
			// a replacement is (epochBackground), as a Refresh that
			// supersedes and then joins it gets its error and does not
			// compute: the entry is settled by whichever computation it
			// joins.
			m.dropOwed(ctx, key, &epoch, out)
		}
		return v, false, err
	}
	if changed {
		m.failOpen("memoize set", m.errArgChanged())
		m.forgetCreated(ctx, &vs, out)
		return v, false, nil
	}
	ttl, ok := m.storable(v)
	if !ok {
		// The version keys of ArgTags this call created are deleted again:
		// arguments a client chooses (a user id made up) whose results are
		// not stored must leave no key behind. A Get's miss (not
		// replacing) removes nothing: key's entry stays, though a
		// background refresh of it that joined this computation, which
		// counts only its error (refreshInBackground), ends the
		// RefreshAhead hold it took the place of: at most one more run of
		// fn, at the held entry's next due hit.
		m.forgetCreated(ctx, &vs, out)
		if replacing {
			m.dropReplaced(ctx, key, &epoch, mode == computeReplace, out)
		}
		return v, false, nil
	}
	e := newEntry(m.c.now(), ttl, max(m.swr, m.sie))
	if err := m.c.store.setValue(e, v, m.c.codec.Marshal); err != nil {
		m.failOpen("memoize encode", err)
		m.forgetCreated(ctx, &vs, out)
		if replacing { // a Get's miss removes nothing, as above
			m.dropReplaced(ctx, key, &epoch, mode == computeReplace, out)
		}
		return v, false, nil
	}
	if out != nil {
		out.payload = e.Payload // nil in process, where the value is shared
	}
	if !epoch.replacing && !m.shared.current(&epoch) {
		// Forgotten while fn ran: computed again by the next caller.
		// Checked before the wait for a write of key in progress too:
		// one superseded stores nothing, and does not wait to. A
		// replacement superseded decides holding the lock (mayWrite): its
		// caller, told its result replaced the entry, returns once the
		// entry is its result or a later call's, not while the later
		// call's write is still in progress (a call settles before its
		// write lands).
		return v, true, nil
	}
	if m.storedSinceLease(ctx, key, tags, lease, &epoch) {
		// Another process's result was stored since this computation's
		// look under its lease (a newer one, or, past the lease, that of
		// a computation under a later lease that ended first): this one
		// answers its callers only. The version keys this call
		// created are kept: that entry may be stored under them. Looked
		// up before the write lock is taken: a write of key in this
		// process does not wait for the round trip.
		return v, true, nil
	}
	if lerr := m.lockWrite(ctx, &epoch); lerr != nil {
		// A write of key in progress did not land within Options.Timeout
		// (a hung backend): this store would not either. Not stored, as
		// for a failed write, but the entry it was to replace cannot be
		// removed holding the lock: its delete is retried, as a failed
		// one is (dropLater), counted once, as the store's failure. The
		// write it waited for (one that ignores its deadline: a
		// computation taken over past the collapse bound, stuck in its
		// write) is older than this result: removed once it lands
		// (dropAfterWrite), unless a call has changed the key since.
		m.failOpen("memoize set", lerr)
		m.backendFailed(mode, tags, lerr, out, func(retry bool) { m.dropLater(key, retry, out, lerr) })
		if !unstorable(tags) && m.shared.current(&epoch) {
			m.dropAfterWrite(key)
		}
		return v, false, nil
	}
	// The evictions of the store below are told to OnEvict once the lock
	// is released (deferred first, run last): an OnEvict that forgets the
	// evicted argument waits for its key's write lock, which a write that
	// evicted this key may hold while it waits in its own OnEvict for this
	// lock.
	var evicted simple.Evictions
	defer func() { evicted.Notify() }()
	defer m.shared.unlockWrite(&epoch)
	if !m.shared.mayWrite(&epoch, m.generation()) {
		// Forgotten, or superseded by a call that has written (what it
		// wrote has landed: it held the lock), or by ForgetAll (whose
		// delete mayReplace waited for).
		epoch.unstored = true
		return v, true, nil
	}
	opCtx, cancel = m.c.store.bound(ctx)
	defer cancel()
	var serr error
	if !m.c.store.unlessCleared(cleared, func() { serr = m.c.store.saveDeferred(opCtx, key, e, vs, &evicted) }) {
		// Cleared while fn ran: computed again by the next caller, which
		// does not join this computation (doSince).
		return v, true, nil
	}
	if serr != nil {
		m.failOpen("memoize set", serr)
		// The backend refused the write (Redis's OOM under noeviction
		// refuses SET and answers DEL), or failed: the entry it was to
		// replace, which may hold the result of the data before an
		// update, is removed (the write lock held, the epoch current).
		m.backendFailed(mode, tags, serr, out, func(retry bool) {
			m.shared.settle(&epoch)
			m.dropEntry(ctx, key, retry, out)
		})
		return v, false, nil
	}
	m.shared.settle(&epoch) // a replacement that fails after this keeps it (memoShared.owed)
	if out != nil && leaseOutlived(e) {
		out.outlived = true
	}
	return v, !leaseOutlived(e), nil
}

// lockWrite takes the write lock of epoch's key (keyEpoch.wmu) for a store
// or delete, waiting for a write of the key in progress at most
// Options.Timeout on a remote store (a write there is bounded so, and a
// wait past it finds a backend that hangs), or until ctx ends; in process,
// where writes do not block, for as long as it takes. No OnEvict runs
// holding the lock: the OnEvict calls of a write's evictions are made
// once it is released (store.saveDeferred), or an OnEvict that
// forgets (or sets) the evicted argument would wait for its lock, held by
// a write of that key waiting, in its own OnEvict, for this one.
func (m *Memoized[A, R]) lockWrite(ctx context.Context, epoch *memoEpoch) error {
	if m.c.store.local != nil {
		return m.shared.lockWrite(context.WithoutCancel(ctx), epoch, 0)
	}
	return m.shared.lockWrite(ctx, epoch, m.c.store.timeout)
}

// dropAfterWrite deletes key's entry once the write of it in progress, for
// which a computation waited in vain (lockWrite), has landed or failed: in
// the background, holding the write lock, until Close. That write checked
// its epoch before the computation began (a computation taken over, stuck
// in a write that ignores its deadline), and the computation's newer result
// could not be stored after it: the older one is not served for its TTL,
// and the next call computes. The delete is skipped where a Forget,
// ForgetAll, Set or Refresh of key came since the latest ask (what they
// wrote stands), and retried if it fails (dropEntry). One goroutine waits
// per key: every computation of key times out behind the stuck write while
// it hangs, and each asks again; a goroutine each would grow without bound
// with the calls of a key during a long hang.
func (m *Memoized[A, R]) dropAfterWrite(key string) {
	held := m.shared.epochOf(key) // keeps key's epoch, and its write lock, until done
	m.dropMu.Lock()
	if latest := m.drops[key]; latest != nil {
		latest.n, latest.all = held.n, held.all // the one waiting checks this epoch
		m.dropMu.Unlock()
		m.shared.done(&held)
		return
	}
	if m.drops == nil {
		m.drops = make(map[string]*memoEpoch)
	}
	latest := &memoEpoch{key: key, ke: held.ke, n: held.n, all: held.all}
	m.drops[key] = latest
	m.dropMu.Unlock()
	settled := func() memoEpoch {
		m.dropMu.Lock()
		defer m.dropMu.Unlock()
		delete(m.drops, key) // an ask from now on waits anew
		return *latest
	}
	if !m.c.goBackground(func() {
		defer m.shared.done(&held)
		err := m.shared.lockWrite(m.c.life, &held, 0)
		check := settled()
		if err != nil {
			return // closed
		}
		defer m.shared.unlockWrite(&held)
		if m.shared.current(&check) {
			m.dropEntry(m.c.life, key, true, nil)
		}
	}) {
		settled()
		m.shared.done(&held)
	}
}

// dropReplaced deletes key's entry, which a computation that began at epoch
// was to replace with a result that is not stored (refused by StoreIf,
// SkipZero, ResultTTL or the Codec, or by the backend: its versions not
// read, its write failed): the entry no longer holds a's result, and would
// be served until its TTL. As a store is, the delete is skipped when
// Forget, ForgetAll, Set or Refresh (or a forced Get, or a refresh that
// superseded it) changed key's epoch while fn ran and, for a replacement
// (Refresh's, a forced Get's, a background refresh's), has written since
// or was a ForgetAll (memoShared.mayWrite: what is under key now is
// theirs), and ordered against the writes of theirs by key's write lock.
// See dropEntry for a delete that fails, and retry.
func (m *Memoized[A, R]) dropReplaced(ctx context.Context, key string, epoch *memoEpoch, retry bool, out *flightOut) {
	if !epoch.replacing && !m.shared.current(epoch) { // a replacement decides holding the lock, as computeTo
		return
	}
	if err := m.lockWrite(ctx, epoch); err != nil {
		m.dropFailed(key, retry, out, err)
		return
	}
	defer m.shared.unlockWrite(epoch)
	if !m.shared.mayWrite(epoch, m.generation()) {
		epoch.unstored = true // see memoShared.owed
		return
	}
	m.shared.settle(epoch)
	m.dropEntry(ctx, key, retry, out)
}

// dropOwed is dropReplaced for a replacement whose fn failed: it deletes
// key's entry only where a replacement it superseded returned, or is to
// return, a result it did not store, and nothing was stored or removed
// since (memoShared.owed). A replacement still computing then stores
// nothing: this delete settles it. The delete is retried if it fails, as
// Refresh's.
func (m *Memoized[A, R]) dropOwed(ctx context.Context, key string, epoch *memoEpoch, out *flightOut) {
	if !m.shared.mayWrite(epoch, m.generation()) || !m.shared.owed(epoch, m.generation()) { // checked again holding the lock
		return
	}
	if err := m.lockWrite(ctx, epoch); err != nil {
		m.dropFailed(key, true, out, err)
		return
	}
	defer m.shared.unlockWrite(epoch)
	if !m.shared.mayWrite(epoch, m.generation()) || !m.shared.owed(epoch, m.generation()) {
		return
	}
	m.shared.settle(epoch)
	m.dropEntry(ctx, key, true, out)
}

// backendFailed is what a computation in mode does when the backend did
// not store its result (berr: the versions read's error, or the write's):
// drop, which removes the entry, for Refresh (computeReplace), with a
// delete that is retried if it fails; for a forced Get (computeForced),
// drop with no retry, and nothing where the breaker is open (berr wraps
// ErrUnavailable: the delete would fail too) or tags are unstorable (no
// entry is ever stored under them); for a background refresh
// (computeRefresh), nothing, and its result is not one that replaced the
// entry. Where a forced Get made no delete, berr is reported in out
// (flightOut.kept), for a Refresh that joined it.
func (m *Memoized[A, R]) backendFailed(mode computeMode, tags []string, berr error, out *flightOut, drop func(retry bool)) {
	switch {
	case mode == computeRefresh:
		if out != nil {
			out.replaced = false
		}
	case unstorable(tags):
		// No entry is ever stored under them, nor read (lookup): nothing
		// to remove, for Refresh too.
	case mode == computeReplace:
		drop(true)
	case mode == computeForced && errors.Is(berr, ErrUnavailable):
		if out != nil {
			out.kept = berr
		}
	case mode == computeForced:
		drop(false)
	}
}

// dropEntry is dropReplaced's delete, for a caller that holds key's write
// lock and found its epoch current. The delete is bounded by
// Options.Timeout on a remote store. A backend error is counted and
// logged, and reported in out (flightOut.kept) for Refresh to return; with
// retry (Refresh's), the delete is retried as Forget's is
// (invalidate_retry.go): until it lands, this process's lookups of key
// miss; other processes may still read the entry. A forced Get's is not
// retried (computeForced): Refresh retries it if it joined that Get.
func (m *Memoized[A, R]) dropEntry(ctx context.Context, key string, retry bool, out *flightOut) {
	opCtx, cancel := m.c.store.bound(ctx)
	defer cancel()
	if err := m.c.store.del(opCtx, key); err != nil {
		m.dropFailed(key, retry, out, err)
	}
}

// dropFailed is what dropEntry does when its delete of key fails with err,
// or when key's write lock was not had in time (lockWrite) for it.
func (m *Memoized[A, R]) dropFailed(key string, retry bool, out *flightOut, err error) {
	m.failOpen("memoize delete", err)
	m.dropLater(key, retry, out, err)
}

// dropLater is dropFailed for a delete of key not made, whose cause err
// the caller counted already (a computation's wait for the write lock,
// counted as its store's failure): the delete is retried, with retry, and
// err reported in out, but not counted and logged a second time.
func (m *Memoized[A, R]) dropLater(key string, retry bool, out *flightOut, err error) {
	if retry {
		m.c.retryInvalidation("memoize refresh", []string{key}, err)
	}
	if out != nil {
		out.kept = err
	}
}

// forgetCreated deletes the version keys that the read of vs created
// (tracked by computeTo), for a result that is not stored, but for those
// under which a result was stored in this process since (createdKeys): a
// slow call of a made-up argument that fails must not make a miss of every
// other result of its tag (user:42's) stored while it ran. It clears
// vs.created: the keys are no longer tracked. The callers that joined the
// computation then check none of vs (out) if a key was deleted: they could
// not tell that delete from an invalidation, and would each compute again.
func (m *Memoized[A, R]) forgetCreated(ctx context.Context, vs *versionSet, out *flightOut) {
	if len(vs.created) == 0 {
		return
	}
	unsaved := m.c.store.created.untrack(vs.created)
	vs.created = nil
	if len(unsaved) == 0 {
		return
	}
	if out != nil {
		out.vs = versionSet{}
	}
	m.c.store.forgetKeys(ctx, unsaved)
}

// storable reports whether v is to be stored, and for how long.
func (m *Memoized[A, R]) storable(v R) (time.Duration, bool) {
	if m.storeIf != nil && !m.storeIf(v) {
		return 0, false
	}
	if m.skipZero && reflect.ValueOf(&v).Elem().IsZero() {
		return 0, false
	}
	if m.ttlOf == nil {
		return m.ttl, true
	}
	d := m.ttlOf(v)
	switch {
	case d < 0:
		return 0, false
	case d == 0:
		return m.ttl, true
	}
	ttl, _ := m.c.resolveTTL(d) // d > 0 cannot fail
	return ttl, true
}

// refreshInBackground starts one background goroutine that recomputes
// kb's entry, unless one is running for kb already, or maxRefreshes are
// running for the function (less the overdue ones: refreshSlots), or the
// Cache is closed. The
// function runs with ctx's values and the Cache's life (see background.go).
// kb, the key built on the hit's stack, is made a string only for a
// refresh that starts: a hit that starts none allocates nothing.
//
// e is the entry to replace; stored, below, is when it was stored
// (entry.Created). The refresh joins a computation of kb in flight only if it began since (its
// result is no older than the entry's, and it is stored, or not, as
// itself decides); one that began before may have read older data than
// the entry's (the entry was stored by another process meanwhile): the
// refresh supersedes it, as Refresh does, so that its result is neither
// the refresh's nor stored after it, and computes its own. A refresh that
// finds kb's entry stored again since (another refresh, or a write, stored
// after the hit read it) computes nothing (replacedSince). ahead marks
// RefreshAhead's refresh of e read at now (e.clockAt: the hit's reading),
// counted in Stats.AheadRefreshes once it runs; one that fails holds off
// the next for aheadHoldFor(e), and keeps a hold it took the place of
// until that one's end (holdAhead). A refresh fails when its own
// computation stores nothing, or a computation it joined returns an
// error: one it joined that returns a result and stores nothing (StoreIf
// refused it) is no failure, and holds nothing off. One that runs nothing
// in place of a hold (it found its entry replaced, or never started: it
// takes no lease, unlike a view's), or a stale entry's that fails, puts it
// back, as a view's does (putBackHold); one that runs and does not fail
// ends it.
func (m *Memoized[A, R]) refreshInBackground(ctx context.Context, kb []byte, a A, e *entry, ahead bool, now int64) {
	stored, hold, aim := e.Created, aheadHoldFor(m.ahead, e), aimAt(e, now)
	if memoRefreshAskedHook != nil {
		memoRefreshAskedHook(string(kb)) // a copy: kb, on the hit's stack, must not escape
	}
	// The slot is taken before the argument is copied: the hits that come
	// while this one copies start nothing and copy nothing.
	key, mark, ok := m.takeRefresh(kb, ahead, aim)
	if !ok {
		return // a hit while key's refresh runs copies nothing
	}
	// The hold this refresh takes the place of, if any: copied past the
	// return above, as done, below, keeps it on the heap, which a hit
	// that starts nothing must not pay for.
	displaced := mark
	ran := false // fn ran, or a computation of key was joined
	// failed: it ran and stored nothing (a joined computation failed).
	done := func(failed bool) {
		m.refreshMu.Lock()
		m.refreshSlots.give(m.refreshing[key].id)
		switch {
		case failed && ahead:
			m.holdAhead(key, hold, aim, displaced)
		case (!ran || failed) && displaced.id != 0 && !displaced.hold.over():
			// The hold this refresh took the place of, which it ran
			// nothing in place of, or a stale entry's refresh failed in
			// place of (putBackHold): its timer removes it.
			m.refreshing[key] = displaced
		default:
			delete(m.refreshing, key)
		}
		m.refreshMu.Unlock()
	}
	started := false
	defer func() {
		// However this ends short of the goroutine: ArgTags panicked
		// (!ok), or called runtime.Goexit, or the Cache is closed.
		if !started {
			done(false)
		}
	}()
	// Copied now, before the hit that started it returns: the caller may
	// change a as soon as it has. A panic of ArgTags (withTags) starts no
	// refresh, and is logged as a refresh's panic is: the hit is served.
	arg, ok := m.ownArgSafely(a, "memoize refresh")
	if !ok {
		return
	}
	bg := m.c.detach(ctx)
	started = m.c.goBackground(func() {
		failed := false // it ran and stored nothing
		defer func() {
			done(failed)
			if r := recover(); r != nil {
				// Nobody waits for this call: a panic in fn must not crash
				// the process. It is logged (with the value, not the key).
				m.failOpen("memoize refresh", fmt.Errorf("caching: memoize %s: refresh panicked: %v", m.name, panicValue(r)))
			}
		}()
		replaced := m.replacedSince(bg, key, arg, stored)
		if memoRefreshCheckedHook != nil {
			memoRefreshCheckedHook(key, replaced)
		}
		if replaced {
			return // another refresh (or a write) stored it meanwhile
		}
		if ahead {
			m.c.stats.ahead.Add(1) // RefreshAhead's, counted as it runs
		}
		ran = true
		if m.calls.StartedBefore(key, stored) {
			held := m.shared.supersedeHeld(key) // older than the entry: see above
			defer m.shared.done(&held)
		}
		// fn runs with bg, not with the flight's uncancellable context:
		// Close ends it. A computation of key it joins it waits for
		// within the function's collapse bound, as a Get does, then
		// computes in its place (collapseBound): bg ends only at Close,
		// and it would hold its refresh slot, and leave the entry stale,
		// for as long as a stuck computation hangs.
		b := m.collapseBound()
		failed = true // until it stores; a panic or runtime.Goexit leaves it so
		// Set by the computation's goroutine, which may outlive the wait
		// (Close ends bg): read once the wait ended.
		var stored atomic.Bool
		_, joined, _, err := m.calls.DoBounded(bg, key, func(context.Context) (epoched[R], error) {
			epoch := m.c.store.invalidations.Load()
			var (
				out flightOut
				v   R
				err error
			)
			ctx, c := withComputation(bg, m.calls, key, false)
			defer c.finish()
			var ok bool
			computing(func() { v, ok, err = m.computeTo(ctx, key, arg, computeRefresh, &out, nil) })
			// A result stored to leave the store too soon for a lease's
			// waiters (out.outlived) is not stored for them, but it is
			// stored: the entry is renewed, and nothing is held off.
			stored.Store(ok || out.outlived)
			return newEpoched(v, epoch, out), err
		}, nil, b.age, b.onTake)
		// A computation it joined (a Get's) stores its result, or not, as
		// it decides: only its error counts.
		failed = joined && err != nil || !joined && !stored.Load()
	})
}

// replacedSince reports whether key holds an entry stored after stored
// (the entry.Created of the one a background refresh was started for),
// read now, in the refresh's goroutine. A hit that read the entry just
// before another refresh of it stored, and took the refresh slot just
// after that one ended, starts a refresh of an entry already replaced:
// without this, fn ran once more for every hot argument at each refresh
// under load. The same holds across processes, for a refresh another
// process ran. A read that fails (bounded by Options.Timeout) or finds no
// entry lets the refresh run; an entry newer but stale already is
// refreshed by the next hit that reads it. Created is its writer's wall
// clock: across processes whose clocks differ, "stored after" has the
// limits view.replacedSince describes (an older entry dated later, read
// from a replica that lags, makes the refresh compute nothing).
func (m *Memoized[A, R]) replacedSince(ctx context.Context, key string, arg ownedArg[A], stored int64) bool {
	opCtx, cancel := m.c.store.bound(ctx)
	defer cancel()
	tags, _ := m.argTagKeys(&arg)
	e, err := m.lookup(opCtx, key, tags)
	return err == nil && e.Created > stored
}

// memoRefreshAskedHook, when set, is called by refreshInBackground with
// the key of the refresh asked for, before it takes the refresh slot: a
// test serves there the hits that may come in that window (one that starts
// a refresh of the same entry, which ends before this one takes the slot).
// Nil outside tests; set only by a test that does not run in parallel, and
// reset when it ends.
var memoRefreshAskedHook func(key string)

// memoRefreshCheckedHook, when set, is called by a background refresh with
// its key once it has read the entry again (replacedSince), with what it
// found: a test orders a write after that read. Nil outside tests; set
// only by a test that does not run in parallel, and reset when it ends.
var memoRefreshCheckedHook func(key string, replaced bool)

// takeRefresh takes key's refresh slot (refreshInBackground gives it back)
// for a refresh of its entry aim, and returns
// key as a string, with the hold the refresh takes the place of (a zero
// mark if none), or reports false when a refresh of key runs already, a
// hold keeps it off (aheadHold.keepsOff), or every slot is taken. The
// lookup makes no string of key: only a refresh that may start does. A
// refresh is overdue (refreshSlots) past the function's collapse bound
// (collapseBound: its CollapseTimeout, by default DefaultCollapseTimeout
// plus its Lease), as a view's are past its CollapseTimeout; under a
// negative CollapseTimeout never.
func (m *Memoized[A, R]) takeRefresh(key []byte, ahead bool, aim aheadAim) (string, refreshMark, bool) {
	m.refreshMu.Lock()
	defer m.refreshMu.Unlock()
	mark, busy := m.refreshing[string(key)]
	if busy && (mark.id&aheadHeld == 0 || ahead && mark.hold.keepsOff(aim)) {
		// Running, or held: a stale entry's refresh, or a newer entry's,
		// takes a hold's place.
		return "", refreshMark{}, false
	}
	slot, ok := m.refreshSlots.take(time.Now(), m.collapse)
	if !ok {
		return "", refreshMark{}, false
	}
	if m.refreshing == nil {
		m.refreshing = map[string]refreshMark{}
	}
	k := string(key)
	m.refreshing[k] = refreshMark{id: slot}
	return k, mark, true
}

// refreshMark is the value of Memoized.refreshing for a key: the slot of
// its refresh that runs, or a hold (aheadHeld).
type refreshMark struct {
	id   uint64    // the slot's id, or aheadHeld and the hold's number
	hold aheadHold // for a hold, what it keeps off, as a view's does
}

// aheadHeld marks the id of a Memoized.refreshing value for a key whose
// refresh of RefreshAhead's failed: no RefreshAhead refresh of the entry
// it refreshed starts for aheadBackoff (holdAhead). Its other bits tell one
// hold from another. A slot's id never has it.
const aheadHeld = 1 << 63

// holdAhead holds off RefreshAhead's refreshes of key's entry aim for d
// (aheadHoldFor), in place of the refresh that ends, and those the hold
// displaced kept off, if it is one that refresh took the place of, until
// it would have ended (newAheadHold), unless something takes the hold's
// place meanwhile (a stale entry's refresh, or another entry's, which it
// does not keep off: aheadHold.keepsOff). Called with refreshMu held.
func (m *Memoized[A, R]) holdAhead(key string, d time.Duration, aim aheadAim, displaced refreshMark) {
	var prev *aheadHold
	if displaced.id&aheadHeld != 0 {
		prev = &displaced.hold
	}
	m.refreshHolds++
	mark := refreshMark{id: aheadHeld | m.refreshHolds, hold: newAheadHold(aim, d, prev)}
	m.refreshing[key] = mark
	time.AfterFunc(mark.hold.wait(d), func() {
		m.refreshMu.Lock()
		defer m.refreshMu.Unlock()
		if m.refreshing[key] == mark {
			delete(m.refreshing, key)
		}
	})
}

// ownedArg is the argument of a computation that may outlive its caller
// (see ownArg).
type ownedArg[A any] struct {
	a A
	// recheck: a shares something its key is made of with the caller's
	// argument, and check's key is checked again when fn returns, if the
	// caller returned before (argChanged). check is a second copy, which
	// fn is not given (a itself under KeyFunc): a change fn makes to its
	// own copy is not one the caller made.
	recheck bool
	check   A
	// lent is the loan a was made from: nil for a background refresh,
	// whose caller has returned (or for an A that holds no references).
	lent *lentArg[A]
	// tags and argKeys are tagKeysWith's of the caller's argument, made
	// with a when a shares something with it (recheck) and ArgTags is
	// set: ArgTags, the user's code, reads what a shares, which the caller
	// may change (recycle) once it has returned.
	tags, argKeys []string
	tagged        bool
}

// argTagKeys returns tagKeysWith's keys of arg's argument: those made with
// it (ownArg) when it shares something with its caller's.
func (m *Memoized[A, R]) argTagKeys(arg *ownedArg[A]) (tags, argKeys []string) {
	if arg.tagged {
		return arg.tags, arg.argKeys
	}
	return m.tagKeysWith(arg.a)
}

// outlived reports whether the computation's caller has returned, and so
// may have changed what a shares with its argument: a caller still
// waiting in Get or Refresh cannot.
func (o *ownedArg[A]) outlived() bool {
	if o.lent == nil {
		return true
	}
	o.lent.mu.Lock()
	defer o.lent.mu.Unlock()
	return o.lent.back
}

// ownArg is a for a computation that may run on after its caller returned
// (a Get or Refresh whose ctx ended, a background refresh), made while the
// caller still holds a unchanged: a caller that reuses a slice, a map or a
// struct it passed as the argument must not change what fn computes for
// the key made of it. When A holds references, a is copied as far as the
// key encoder reads it (argkey.CopierOf); where the copy shares part of
// what the key is made of with a (a value keyed by its own method, such as
// CacheKey, or a pointer to one), a second copy is kept, whose key the
// computation checks again when fn returns if its caller returned
// (argChanged). Under KeyFunc, a is not copied (the key function alone
// says what matters, and the encoder reads nothing of a), and its key is
// checked again in the same case when A holds references. A that holds
// none is used as it is: nothing is allocated.
func (m *Memoized[A, R]) ownArg(a A) ownedArg[A] {
	if m.keyRefs {
		return m.withTags(ownedArg[A]{a: a, recheck: true, check: a})
	}
	if m.copyArg == nil {
		return ownedArg[A]{a: a}
	}
	c, complete := m.copyArg(a)
	if complete {
		return ownedArg[A]{a: c}
	}
	check, _ := m.copyArg(a)
	return m.withTags(ownedArg[A]{a: c, recheck: true, check: check})
}

// ownArgSafely is ownArg for a caller that must not panic (a hit starting
// a refresh, a caller returning): a panic of ArgTags, the user's code, is
// logged for op and reported as !ok.
func (m *Memoized[A, R]) ownArgSafely(a A, op string) (o ownedArg[A], ok bool) {
	defer func() {
		if r := recover(); r != nil {
			m.failOpen(op, fmt.Errorf("caching: memoize %s: ArgTags panicked: %v", m.name, panicValue(r)))
			ok = false
		}
	}()
	return m.ownArg(a), true
}

// withTags is o, which shares something with its caller's argument, with
// the keys of its tags made now, while the caller holds it unchanged
// (see ownedArg.tags).
func (m *Memoized[A, R]) withTags(o ownedArg[A]) ownedArg[A] {
	if m.tagsOf != nil {
		o.tags, o.argKeys = m.tagKeysWith(o.a)
		o.tagged = true
	}
	return o
}

// lentArg is a caller's argument lent to the computation it may lead: the
// computation takes it (ownArg) when it starts, or the caller makes it
// (giveBack) as it returns if the computation has not started yet. A
// caller that joins another's computation copies nothing.
type lentArg[A any] struct {
	mu    sync.Mutex
	a     A
	taken bool         // the computation made its argument of a
	owned *ownedArg[A] // made by giveBack: the caller left before the computation started
	back  bool         // the caller returned: a is not to be read any more
	// failed: giveBack could not make the argument (ArgTags panicked):
	// the computation has none, and fails (errArgUnowned).
	failed bool
}

// errArgUnowned is the error of a computation whose caller returned before
// it started and whose argument could not be made then (ArgTags
// panicked): it has no argument to compute for, and the callers that
// joined it compute again, each for its own (flightOut.argChanged).
var errArgUnowned = errors.New("caching: memoize: the argument of a computation whose caller left could not be made")

// lend lends a to the computation its caller may lead, or returns nil
// when A holds no references (a is then used as it is, and its key never
// checked again).
func (m *Memoized[A, R]) lend(ctx context.Context, a A) *lentArg[A] {
	if m.copyArg == nil && !m.keyRefs || ctx.Err() != nil {
		// With ctx done, no computation starts (flight.Do): nothing is
		// lent, so that giveBack copies nothing.
		return nil
	}
	return &lentArg[A]{a: a}
}

// giveBack ends the loan l (nil: none) as the caller returns, joined as
// m.do reported it: the argument of a computation this caller leads that
// has not taken it yet is made now, while the caller holds a unchanged,
// and the computation, which may start later, uses it (argOf). A caller
// that joined another's computation makes nothing: its own never runs.
// Nor does a caller that m.do left by a panic (its callers pass joined
// true then): a panic reaches a caller only from a computation that ran,
// whose work took its argument first (argOf) if this caller led it, or
// from one it joined; copying then (ArgTags too) would be for nothing.
func (m *Memoized[A, R]) giveBack(l *lentArg[A], joined bool) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer func() { // however ownArg ends: a runtime.Goexit of ArgTags too
		l.back = true
		var zero A
		l.a = zero
		l.mu.Unlock()
	}()
	if !joined && !l.taken && l.owned == nil {
		l.failed = true // until made: the caller returns as it would have
		if o, ok := m.ownArgSafely(l.a, "memoize"); ok {
			l.owned, l.failed = &o, false
		}
	}
}

// argOf is the argument of the computation a caller leads, the work of its
// flight: the one giveBack made if the caller returned already, else
// ownArg of lent's argument (of a when lent is nil).
func (m *Memoized[A, R]) argOf(ctx context.Context, lent *lentArg[A], a A) (ownedArg[A], error) {
	if lent == nil {
		return m.ownArg(a), nil
	}
	lent.mu.Lock()
	defer lent.mu.Unlock()
	var o ownedArg[A]
	switch {
	case lent.failed:
		if out, _ := ctx.Value(flightOutKey{}).(*flightOut); out != nil {
			out.argChanged = true // the joiners compute for their own
		}
		return o, errArgUnowned
	case lent.owned != nil:
		o = *lent.owned
	default:
		// Taken before ownArg runs: if ArgTags panics (the flight's
		// panic, the caller's *PanicError), giveBack makes nothing more.
		lent.taken = true
		o = m.ownArg(lent.a)
	}
	o.lent = lent
	return o, nil
}

// callFn calls fn with arg's argument and reports whether its key changed
// while fn ran, in a computation that outlived its caller (always false
// for one whose caller still waits: it could not change it). A panic of fn
// in a computation whose argument's key changed is another argument's: it
// is logged and returned as an error, with out.argChanged set, so that
// the callers that joined compute again rather than panic with it. out
// (nil: none) reports changed to them (flightOut.argChanged).
func (m *Memoized[A, R]) callFn(ctx context.Context, key string, arg ownedArg[A], out *flightOut) (v R, changed bool, err error) {
	if arg.recheck {
		returned := false
		defer func() {
			if returned {
				return
			}
			r := recover()
			if r == nil || !arg.outlived() || !m.argChanged(key, arg.check) {
				if r != nil {
					panic(r)
				}
				return // runtime.Goexit: the joiners compute again (Memoized.do)
			}
			err = fmt.Errorf("caching: memoize %s: the function panicked after its argument changed: %v", m.name, panicValue(r))
			m.failOpen("memoize", err)
			changed = true
			if out != nil {
				out.argChanged = true
			}
		}()
		v, err = m.fn(ctx, arg.a)
		returned = true
		changed = arg.outlived() && m.argChanged(key, arg.check)
		if changed && out != nil {
			out.argChanged = true
		}
		return v, changed, err
	}
	v, err = m.fn(ctx, arg.a)
	return v, false, err
}

// errArgChanged is the error logged for a result not stored because its
// argument's key changed while fn ran.
func (m *Memoized[A, R]) errArgChanged() error {
	return fmt.Errorf("caching: memoize %s: the argument changed while the function ran: result not stored", m.name)
}

// argChanged reports whether a's key is no longer key, or can no longer be
// made: an error, or a panic of the key function, of a CacheKey method or
// of the encoder (a caller that left may have recycled what a shares with
// its argument, leaving a nil pointer that the key function follows).
func (m *Memoized[A, R]) argChanged(key string, a A) (changed bool) {
	defer func() {
		if recover() != nil {
			changed = true
		}
	}()
	var kb [keyBufLen]byte
	k, err := m.appendKey(kb[:0], a)
	return err != nil || string(k) != key
}

func panicValue(r any) any {
	if pe, ok := r.(*PanicError); ok {
		return pe.Value
	}
	return r
}

// Forget removes a's entry, so that the next Get calls fn. A computation for
// a that is running in this process is not stored, and a Get made after
// Forget returned does not get its result: that of this Memoized and of any
// other of its name in the Cache (the same function memoized twice shares
// its entries). The computations of other arguments go on and store their
// results. Other processes may still store
// a result they were computing, and, under a Lease, a Get of a made in
// this process after Forget returned may wait for such a computation
// (another process holds a's lease) and be handed its result: where that
// matters, tag results by their argument (ArgTags) and invalidate the
// tag, or use ForgetAll. Of Forget and
// a Set, Refresh or Forget of a (or a ForgetAll) made after it in this
// process, the one made last wins: one that has stored or deleted before
// Forget's delete makes Forget delete nothing and return nil (its result
// is kept, as if the delete had been made first); one still computing
// stores after Forget's delete, and a Refresh there whose fn fails removes
// a's entry, as for a Refresh it superseded. On a remote store the whole
// call, its wait for a write of a in progress included, is bounded by one
// Options.Timeout (and by ctx). When the backend fails, the error is
// returned and the delete is retried in the background (see
// Cache.InvalidateTags); so is ForgetAll's.
func (m *Memoized[A, R]) Forget(ctx context.Context, a A) error {
	key, err := m.Key(a)
	if err != nil {
		return err
	}
	if m.c.store.local == nil {
		// One deadline for the wait and the delete, as for Set: each
		// bounded by a Timeout of its own, a backend that hangs cost a
		// Forget two.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, m.c.store.timeout)
		defer cancel()
	}
	// Pending as a replacement is (as Set is) until it deletes: a call
	// made after this one stores, or deletes, in its place, and a
	// replacement that supersedes it and whose fn fails removes the entry
	// (memoShared.owed).
	held := m.shared.supersedeHeldMode(key, true)
	defer m.shared.done(&held)
	if forgetSupersededHook != nil {
		forgetSupersededHook(key)
	}
	err = m.forgetEntry(ctx, key, &held)
	// A computation that began while the delete ran may have found the
	// entry still there (the lease's check, the in-process recheck) and
	// hold it as its result: a Get made after Forget returned must not
	// join it. (Its store, if any, is of a result fn computed after the
	// epoch changed: no need to change it again.)
	m.shared.forget(key)
	if err != nil {
		m.c.retryInvalidation("memoize forget", []string{key}, err)
		return fmt.Errorf("caching: memoize %s: forget: %w", m.name, err)
	}
	return nil
}

// forgetEntry is Forget's delete of key, whose supersede read held: made
// as Set's store is, holding key's write lock, while no call made after
// Forget's supersede has written (memoShared.mayReplace), so that a Set
// (or Refresh) made after it stores after the delete, and one that stored
// before it is not deleted. It is bounded by Forget's deadline, as the
// wait for the lock is: a hung backend must not hold the next write of key
// for as long as the caller's context.
func (m *Memoized[A, R]) forgetEntry(ctx context.Context, key string, held *memoEpoch) error {
	if err := m.lockWrite(ctx, held); err != nil {
		return err
	}
	defer m.shared.unlockWrite(held)
	if !m.shared.mayReplace(held, m.generation()) {
		// A call made after Forget's supersede has stored or deleted: its
		// result (or its delete) stands, as if Forget's delete had been
		// made first.
		return nil
	}
	m.shared.settle(held)
	opCtx, cancel := m.c.store.bound(ctx)
	defer cancel()
	return m.c.store.del(opCtx, key)
}

// generation is m's generation key, with its Cache's retry set and life,
// for memoShared.mayReplace.
func (m *Memoized[A, R]) generation() generation {
	return generation{m.genKey, &m.c.store.pending, m.c.life}
}

// forgetSupersededHook, when set, is called by Forget with its key between
// its supersede and its delete: a test makes there the calls a caller may
// make in that window (a Set). Nil outside tests; set only by a test that
// does not run in parallel, and reset when it ends.
var forgetSupersededHook func(key string)

// forgetAllSupersededHook, when set, is called by ForgetAll with the key
// of the function's generation between its supersede and its delete
// (holding saveMu), as forgetSupersededHook is by Forget.
var forgetAllSupersededHook func(genKey string)

// ForgetAll makes every entry of the function a miss, in every process
// sharing the backend, by deleting the function's generation (the next write
// creates a new one): one delete, whatever the number of entries (which
// expire in their own time). Results being computed anywhere when it is
// called are not served afterwards. A Set or Refresh made after it in this
// process stores under the new generation: the later call wins. The
// delete is bounded by Options.Timeout on a remote store.
func (m *Memoized[A, R]) ForgetAll(ctx context.Context) error {
	var err error
	m.shared.supersedeAll(m.genKey, func() error {
		if forgetAllSupersededHook != nil {
			forgetAllSupersededHook(m.genKey)
		}
		// Bounded by Options.Timeout, as Set's store is: saveMu is held.
		opCtx, cancel := m.c.store.bound(ctx)
		defer cancel()
		err = m.c.invalidateRetried(opCtx, "memoize forget all", []string{m.genKey})
		return err
	})
	if err != nil {
		return fmt.Errorf("caching: memoize %s: forget all: %w", m.name, err)
	}
	return nil
}

// Uncached calls fn for a without reading or writing the cache.
func (m *Memoized[A, R]) Uncached(ctx context.Context, a A) (R, error) {
	return m.fn(ctx, a)
}

// MemoizedValue is a memoized function of no argument: a value computed once
// and kept in the cache for its TTL, shared by every process using the
// backend. Create it with MemoizeValue; it is safe for concurrent use.
type MemoizedValue[R any] struct {
	m *Memoized[struct{}, R]
}

// MemoizeValue is Memoize for a function of no argument (a configuration
// read from a database, an exchange rate). It takes the same options and
// panics on the same errors.
func MemoizeValue[R any](c *Cache, name string, fn func(context.Context) (R, error), opts ...MemoOption) *MemoizedValue[R] {
	var wrapped func(context.Context, struct{}) (R, error)
	if fn != nil {
		wrapped = func(ctx context.Context, _ struct{}) (R, error) { return fn(ctx) }
	}
	m, err := newMemoized(c, name, wrapped, funcID(fn), opts)
	if err != nil {
		panic(err)
	}
	return &MemoizedValue[R]{m: m}
}

// Get returns the stored value, or calls the function; see Memoized.Get.
func (v *MemoizedValue[R]) Get(ctx context.Context) (R, error) { return v.m.Get(ctx, struct{}{}) }

// Forget removes the stored value, in every process sharing the backend.
func (v *MemoizedValue[R]) Forget(ctx context.Context) error { return v.m.ForgetAll(ctx) }

// Uncached calls the function without reading or writing the cache.
func (v *MemoizedValue[R]) Uncached(ctx context.Context) (R, error) {
	return v.m.Uncached(ctx, struct{}{})
}

// Key returns the backend key of the value.
func (v *MemoizedValue[R]) Key() string {
	k, _ := v.m.Key(struct{}{}) // struct{} always encodes
	return k
}

// Name returns the name the function was memoized under.
func (v *MemoizedValue[R]) Name() string { return v.m.name }

// funcID identifies a func value: the address of its code and, for a
// closure, of the variables it captured, so that two closures of one
// literal made in a loop differ while their code is the same. It is an
// address, not a pointer: the registry that compares them keeps no
// function alive (one collected may see its address reused, and a second
// registration then go unreported: a warning missed, nothing worse).
func funcID[F any](f F) uintptr { return uintptr(*(*unsafe.Pointer)(unsafe.Pointer(&f))) }
