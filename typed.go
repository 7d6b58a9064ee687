package caching

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/flight"
	"github.com/go-caching/caching/internal/memsize"
)

// GetAs returns the value of type T stored under key by SetAs or GetOrSet.
// On an in-process store the value itself is returned, not a decoded copy.
// With a near cache (backend/near), once memory keeps the entry (it keeps
// what a read fetched remote), the first reader of T decodes it and keeps
// that value with it, and every later GetAs of T in the process gets that
// same value, until the entry leaves memory; the first reader's own result
// is that value too. In both cases values of reference types (maps,
// slices, pointers) are shared with every other caller of the process and
// must not be modified: copy one before changing it. On other stores, and
// for an entry a near cache does not keep, the bytes are decoded with the
// Cache's Codec into a new T. A nil value of an interface
// type (SetAs[any] of nil, or a GetOrSet[error] whose load returned nil)
// reads back as nil on every store. A stored value that the Codec fails to
// decode as a T (for an integer T, also an integer out of its range) is an
// error wrapping ErrDecode, with the codec's text (the value stays
// stored), counted as a miss in Stats. A value the Codec decodes without
// an error is returned as decoded, whatever wrote it: the JSON codec
// ignores unknown fields and leaves missing ones zero, so a value stored
// by an older release whose field was since renamed reads as a T with that
// field zero, and a string read as a []byte decodes as base64.
func GetAs[T any](ctx context.Context, c *Cache, key string) (T, error) {
	return getAs[T](ctx, c, key, nil, true)
}

// getAs is GetAs, which counts the read in Stats when count is set, and
// reports in out (when out is not nil) the versions the entry it found was
// written under (none for an integer) and its payload on a store that is
// not in-process, for the callers that join a load which found it (see
// doSince). It counts in place, not in GetAs: a hit returns its value
// once.
func getAs[T any](ctx context.Context, c *Cache, key string, out *flightOut, count bool) (T, error) {
	var zero T
	k := c.userKey(key)
	e, integer, err := c.store.lookupDirect(ctx, k)
	switch {
	case err == nil && integer != nil:
		v, err := decodeInteger[T](c, integer)
		if count {
			c.recordRead(err)
		}
		return v, err
	case err == nil && c.store.fresh(e, time.Time{}):
		v, err := decodeValueOf[T](c, e, nil, k)
		if count {
			c.recordRead(err)
		}
		if out != nil {
			out.vs = e.versions()
			if c.store.local == nil {
				out.payload = e.Payload
			}
		}
		return v, err
	case err == nil || errors.Is(err, ErrNotFound):
		err = ErrNotFound
	}
	err = fmt.Errorf("caching: get %T: %w", zero, err)
	if count {
		c.recordRead(err)
	}
	return zero, err
}

// recordRead counts a typed read of the direct API by its error: a hit
// (nil), a miss (nothing stored, or a value that did not decode, which
// GetOrSet loads over), or a bypass (the backend failed).
func (c *Cache) recordRead(err error) {
	switch {
	case err == nil:
		c.record(outHit)
	case errors.Is(err, ErrNotFound) || errors.Is(err, ErrDecode):
		c.record(outMiss)
	default:
		c.record(outBypass)
	}
}

// decodeError is the error of a stored value that does not decode as a T,
// err the codec's or the integer parser's: it wraps ErrDecode and err.
func decodeError[T any](err error) error {
	return &decodeFailure{reflect.TypeFor[T](), err}
}

// decodeFailure is a stored value that does not decode as t. Its text
// has err's, which may quote the value ("number 1234", parsing "..."): it
// is for the caller who asked for the value; a log gets logText instead.
type decodeFailure struct {
	t   reflect.Type
	err error // the codec's or the integer parser's
}

func (e *decodeFailure) Error() string   { return fmt.Sprintf("%v %v: %v", ErrDecode, e.t, e.err) }
func (e *decodeFailure) Unwrap() []error { return []error{ErrDecode, e.err} }

// logText is e's text without err's: the type and that the stored value
// does not decode, none of the value itself (it may be personal data).
func (e *decodeFailure) logText() string {
	return fmt.Sprintf("%v %v: the stored value does not decode", ErrDecode, e.t)
}

// decodeInteger returns a bare integer (a counter, or an integer written by
// Set or SetAs) as a T: parsed for integer types, else through the codec.
// A T that cannot hold it is an error (ErrDecode), not a miss: the value
// stays stored.
func decodeInteger[T any](c *Cache, integer []byte) (T, error) {
	var v T
	rv := reflect.ValueOf(&v).Elem()
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(string(integer), 10, rv.Type().Bits())
		if err != nil {
			return v, decodeError[T](err)
		}
		rv.SetInt(n)
		return v, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(string(integer), 10, rv.Type().Bits())
		if err != nil {
			return v, decodeError[T](err)
		}
		rv.SetUint(n)
		return v, nil
	}
	if err := c.codec.Unmarshal(integer, &v); err != nil {
		return v, decodeError[T](err)
	}
	return v, nil
}

// decodeValue returns the typed value of e: its in-memory value when it has
// one of type T, else its payload decoded by the codec. It is
// decodeValueOf for a caller that does not pass the entry's key: a near
// entry's decoded value is then kept for its later readers but not
// counted against the near cache's byte bound.
func decodeValue[T any](c *Cache, e *entry) (T, error) {
	return decodeValueOf[T](c, e, nil, "")
}

// decodeValueOf is decodeValue for an entry read under the store key key
// (in kb when kb is not nil; neither: unknown). The reader that decodes a
// near entry's payload first keeps the value for the later readers and,
// knowing the key, counts it against the near cache's byte bound (see
// countDecoded).
func decodeValueOf[T any](c *Cache, e *entry, kb []byte, key string) (T, error) {
	if v, ok := e.value.(T); ok {
		return v, nil
	}
	if d, ok := e.decodedValue().(decodedAs[T]); ok {
		return d.v, nil
	}
	if e.Payload == nil && e.value == nil && reflect.TypeFor[T]().Kind() == reflect.Interface {
		// A nil interface (a nil result of an interface type), kept as it
		// is on an in-process store, which no assertion matches: nil, as
		// its encoding (JSON's null) decodes on other stores.
		var zero T // not v, which Unmarshal makes escape
		return zero, nil
	}
	var v T
	if e.Payload == nil {
		// Written by SetAs with another type on an in-process store (or a
		// nil interface, read as a concrete type): go through the codec,
		// as a remote store would.
		b, err := c.codec.Marshal(e.value)
		if err != nil {
			return v, decodeError[T](err)
		}
		e = &entry{Payload: b}
	}
	if err := c.codec.Unmarshal(e.Payload, &v); err != nil {
		return v, decodeError[T](err)
	}
	var d any = decodedAs[T]{v}
	if e.keepDecoded(d) && (kb != nil || key != "") {
		c.store.countDecoded(kb, key, e, d)
	}
	return v, nil
}

// decodedAs is a payload decoded as a T, as a near entry keeps it for its
// later readers: only a reader of the same T reuses it. A T that the value
// merely satisfies (any, an interface) decodes the payload itself, as it
// would without a near cache.
type decodedAs[T any] struct{ v T }

// SetAs stores v under key for ttl (see Set). On an in-process store v is
// kept as it is, not encoded: do not modify it after the call if it is a
// map, slice or pointer; a value the Codec cannot encode (a NaN), which
// other stores refuse, is kept too, and reads back by GetAs of its type,
// while Get returns the encoding error and GetMany leaves it out. It
// counts against the store's byte bound as a walk of it finds (see
// README.md, backend/simple): a substring at its own length and a
// sub-slice at its own capacity, though either keeps the whole string or
// array it was cut from in memory; copy a small part of a large buffer
// before storing it (strings.Clone, slices.Clone). Elsewhere v is encoded
// with the Cache's Codec.
// A value too big for the store, or on an in-process store too big to
// measure (such as a linked list of many thousand nodes: see README.md,
// backend/simple), is not stored, removes the older value under key, and
// gets an error wrapping backend.ErrValueTooLarge.
func SetAs[T any](ctx context.Context, c *Cache, key string, v T, ttl time.Duration, opts ...SetOption) error {
	ttl, err := c.resolveTTL(ttl)
	if err != nil {
		return err
	}
	vs, err := c.setVersions(ctx, ttl, opts)
	var w write
	if err == nil {
		w, err = prepareAs(c, key, v, ttl, vs)
	} else {
		c.store.dropNear(c.userKey(key)) // refused: see store.dropNear
	}
	if err == nil {
		err = c.writeDirect(ctx, w)
	}
	if err != nil {
		return fmt.Errorf("caching: set %T: %w", v, err)
	}
	return nil
}

// prepareAs prepares the write of v under key for ttl (as resolved) under
// the tag versions vs, which the caller read before it had v.
func prepareAs[T any](c *Cache, key string, v T, ttl time.Duration, vs versionSet) (write, error) {
	return c.prepareWrite(key, ttl, vs, func(e *entry) error {
		return c.store.setValue(e, v, c.codec.Marshal)
	}, integerText(v))
}

// integerText is v in decimal when it is of an integer kind, else nil.
func integerText(v any) []byte {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(nil, rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n := rv.Uint(); n <= math.MaxInt64 { // counters are int64
			return strconv.AppendUint(nil, n, 10)
		}
	}
	return nil
}

// sizeOf estimates the memory v holds, for an in-process store's byte
// bound: what a walk of the value finds (see internal/memsize), so that a
// large result counts as large whatever its type. It reports false for a
// value too big to measure (a linked structure of many thousand nodes),
// which no store keeps in memory: see errUnmeasured.
func sizeOf(v any) (int, bool) { return memsize.Measure(v) }

// GetOrSet returns the value of type T under key, or calls load, stores its
// result for ttl and returns it. Concurrent calls for one key on this Cache
// call load once; each caller still returns when its own context is done.
// In Stats the call that ran load counts a miss, and a call served another's
// result (or a value stored meanwhile) a hit; one whose read failed on the
// backend counts a bypass.
// An error from load is returned and nothing is stored. If the backend
// fails, the error is returned (use Memoize for a fail-open memoized call).
// A stored value that the Codec fails to decode as a T (see GetAs) is a
// miss: load's value is stored over it. Its decode error is counted in
// Stats.Errors and logged, as Memoize's are, naming T but not the value,
// which the codec's text may quote. A value the Codec decodes without an
// error is a hit, as GetAs returns it: with the JSON codec, a value of an
// older shape whose field was renamed reads with that field zero. When a
// release changes the shape of the type stored under a key, put a version
// in the key ("price:v2:" + id); Memoize's keys hold a hash of the result
// type's structure and need none.
// A negative ttl is an error (ErrInvalidTTL), returned before key is read
// or load is called, so that it never reaches the other callers of key.
//
// load runs on for the other callers and for the cache when its caller
// leaves (as Memoize's function does: see Memoize), with a context that
// carries its caller's values but not its deadline: the backend calls made
// for it (the read of the tag versions before it, the store of its value)
// are each bounded by Options.Timeout instead. A store that fails or times
// out is returned to the callers with load's value. When every caller has
// left, load's context is cancelled past the bound Memoize describes; a
// value it returns after that, even without an error (a fallback made of
// the reads the cancellation failed), is never stored.
// load is a closure the cache cannot copy, so it may read what it
// captured after GetOrSet returned: a caller that reuses a captured
// variable (a slice refilled for the next request, a loop variable's
// pointee) must not change it while load can run, or load's result may
// be stored under key for an argument key does not name. Capture values
// of their own (copy a slice before the call), or use Memoize, which
// copies the argument of a computation that outlives its caller.
//
// A call that finds the value stored returns what GetAs returns: on an
// in-process store, and with a near cache once memory keeps the entry, a
// value shared by the callers of the process, not to be modified.
// The callers that join a load get what GetAs would give them: on an
// in-process store, the one value load returned, shared; on other stores
// (with a near cache too), load's value for the caller that ran it and, for
// each other one, a value decoded from what was stored (shared only when
// there is none: an integer, or a value the Codec could not encode).
//
// A write or delete of key through this Cache (Set, SetAs, Add, SetMany,
// Incr, Delete, DeleteMany, Clear) supersedes the loads of key in flight:
// a load that began before the write returned does not store its value
// over it (it may predate the write: "update the database, then delete
// the cache key"), and a GetOrSet made after the write returned does not
// get that value but loads anew. The callers that were already waiting
// for that load still get its value. This holds within this Cache (this
// process): a load running in another process when the key is written or
// deleted may still store its older value afterwards; where that matters,
// write under Tags and invalidate the tag (InvalidateTags reaches every
// process, as described below) rather than delete the key.
//
// The versions of the Tags in opts are read before load runs: if one of
// them is invalidated while load runs, the value is returned to the
// callers waiting for it but later lookups miss it, as it may predate the
// invalidation.
//
// A caller that joins a concurrent load of key for another type gets what
// it would have got had it come just after that load: the stored value
// read as a T (see GetAs), or, if no value is stored any more or it does
// not decode as a T, the result of a load of T, stored over it. The
// callers of T that joined that load share one load of T, as any
// concurrent callers do, which reads key again once it is registered: a
// value stored meanwhile (by SetAs, or by another caller) is returned, not
// loaded over. An error or a panic of the other type's load is not its
// own: it goes on the same way (a panic of a load of T reaches the callers
// of T as a *PanicError, as Memoize's does). It never gets a zero T in place of a value. Callers of
// two types that cannot read each other's values thus load in turn, each
// over the other's value: give each type a key of its own. After three
// loads of other types in a row a caller runs a load of its own, as a
// flight runs it (its deadline does not bound it) but joined by no other
// caller.
//
// A call made with the context load was given (or one made from it) for
// load's own key does not join that load, which waits for it: it loads
// inline, as without a cache, and stores nothing. A call for it with
// another context (context.Background()) would wait for ever.
func GetOrSet[T any](ctx context.Context, c *Cache, key string, ttl time.Duration, load func(context.Context) (T, error), opts ...SetOption) (T, error) {
	// An invalid TTL is refused before anything is read or loaded: a load
	// it started would be shared with the valid callers of key.
	ttl, err := c.resolveTTL(ttl)
	if err != nil {
		var zero T
		return zero, err
	}
	// The read is counted once this caller knows whether it ran load
	// (a miss) or was served another's result (a hit).
	v, err := getAs[T](ctx, c, key, nil, false)
	undecodable := errors.Is(err, ErrDecode)
	switch {
	case undecodable:
		c.failOpen("getorset decode", err) // a miss: loaded over
	case err == nil || !errors.Is(err, ErrNotFound):
		c.recordRead(err)
		return v, err
	}
	var ran atomic.Bool // this caller's work called load
	v, err = loadShared(ctx, c, key, ttl, load, opts, undecodable, &ran)
	if ran.Load() || err != nil {
		c.record(outMiss)
	} else {
		c.record(outHit) // served the result of another's load
	}
	return v, err
}

// loadShared is GetOrSet after its read missed (undecodable: found a value
// that did not decode as a T): it joins or starts the load of key, and
// sets ran when this caller's work called load.
func loadShared[T any](ctx context.Context, c *Cache, key string, ttl time.Duration, load func(context.Context) (T, error), opts []SetOption, undecodable bool, ran *atomic.Bool) (T, error) {
	bk := c.userKey(key)
	var exited atomic.Bool // this caller's work called runtime.Goexit
	work := func(ctx context.Context) (any, flightOut, error) {
		if computedInline(ctx, &c.loads, bk) {
			// Asked for from within its own load: loaded, not stored
			// (reentry.go).
			ran.Store(true)
			v, err := load(ctx)
			return loaded[T]{v}, flightOut{}, err
		}
		l := c.inFlight.begin(bk) // before anything is read
		defer c.inFlight.end(bk, l)
		// Another caller may have stored it while this one waited. ctx is
		// the flight's, which no caller's deadline bounds: Options.Timeout
		// does, as for every backend call of the load (loadAndStoreUnder).
		rctx, cancel := c.store.bound(ctx)
		var out flightOut
		v, err := getAs[T](rctx, c, key, &out, false)
		cancel()
		switch {
		case err == nil:
			return loaded[T]{v}, out, nil // checked by the callers that joined
		case !undecodable && errors.Is(err, ErrDecode):
			c.failOpen("getorset decode", err) // stored since: loaded over
		}
		// A panic of load reaches every caller that joined it, of any
		// type: tagged with T, so that only T's re-panic (typedLoad). Its
		// runtime.Goexit reaches them as flight.ErrGoexit: exited tells
		// this caller's own apart.
		returned := false
		defer func() {
			if r := recover(); r != nil {
				panic(loadPanic{reflect.TypeFor[T](), r})
			}
			if !returned {
				exited.Store(true)
			}
		}()
		ran.Store(true)
		v, out, err = loadAndStoreUnder(ctx, c, key, ttl, load, opts, l)
		returned = true
		return loaded[T]{v}, out, err
	}
	// A load that began before an invalidation that returned before this
	// caller came is not joined (see doSince), nor one that a write of key
	// superseded (see Cache.writing). The flight of key is shared by the
	// callers of every type: one that joined a load of another type joins
	// or starts another, whose work reads key again first, as it would had
	// it come just after, and is then shared with the callers of T that
	// joined it.
	var zero T
	for range maxRejoins {
		res, err := typedLoad[T](func() (any, error) {
			res, _, err := doSince(ctx, &c.store, &c.loads, bk, work, copyLoaded[T](c), false)
			return res, err
		})
		switch r, ok := res.(loaded[T]); {
		case ok:
			return r.v, err // load's value even if storing it failed
		case ctx.Err() != nil:
			return zero, ctx.Err() // this caller's context ended
		case errors.Is(err, flight.ErrGoexit) && exited.Load():
			return zero, err // its own load's: not run again
		}
		// Another type's result, or its error or panic: what this caller
		// would have met just after that load.
	}
	// Loads of other types, one after the other (each type loading over
	// the other's values): this caller's own, run as a flight's is (its
	// deadline does not bound load; the caller returns when its context
	// ends), but not joined by other callers of T.
	res, err := typedLoad[T](func() (any, error) {
		res, err := c.loads.DoAlone(ctx, func(ctx context.Context) (epoched[any], error) {
			return computeAlone(ctx, work)
		})
		return res.v, err
	})
	if r, ok := res.(loaded[T]); ok {
		return r.v, err
	}
	return zero, err
}

// loadPanic is the panic of a GetOrSet load of type t, with the value v
// that load panicked with, as its flight re-panics it in every caller
// that joined it (a *flight.PanicError holding it).
type loadPanic struct {
	t reflect.Type
	v any
}

// typedLoad runs do, a GetOrSet[T] caller's wait for a flight of its key,
// and returns its result. A panic of a load of T reaches the caller as a
// *flight.PanicError of the value load panicked with; that of a load of
// another type, which the caller joined, is not its own: typedLoad then
// returns errOtherPanic, and the caller goes on as after that load.
func typedLoad[T any](do func() (any, error)) (res any, err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		pe, ok := r.(*flight.PanicError)
		if !ok {
			panic(r)
		}
		lp, ok := pe.Value.(loadPanic)
		switch {
		case !ok:
			panic(r)
		case lp.t == reflect.TypeFor[T]():
			panic(&flight.PanicError{Value: lp.v, Stack: pe.Stack})
		}
		res, err = nil, errOtherPanic
	}()
	return do()
}

// errOtherPanic is what typedLoad returns for a panic of a load of
// another type.
var errOtherPanic = errors.New("caching: a load of another type panicked")

// loaded is the result of a GetOrSet[T] load, as its flight shares it. The
// flight of a key is shared by callers of every type: the wrapper tells a
// T from another type even when the value is a nil interface.
type loaded[T any] struct{ v T }

// copyLoaded returns the copyOf of GetOrSet[T]'s flight (see doSince): a
// caller that joined a load of a T gets the value decoded from its
// payload, a value of its own, as GetAs would; a load of another type is
// left as it is (GetOrSet then joins or starts another), and a payload
// that does not decode (logged) leaves the shared value.
func copyLoaded[T any](c *Cache) func(any, []byte) any {
	return func(v any, payload []byte) any {
		if _, ok := v.(loaded[T]); !ok {
			return v
		}
		var t T
		if err := c.codec.Unmarshal(payload, &t); err != nil {
			c.failOpen("getorset decode", decodeError[T](err))
			return v
		}
		return loaded[T]{t}
	}
}

// loadAndStoreUnder calls load and stores its value under key for ttl (as
// resolved) under the versions the tags of opts had before load ran, as
// the load l, registered by the caller: a write of key while load runs
// supersedes it (see Cache.writing). The value is returned even if it
// cannot be stored, with the error SetAs would return, and so are the
// versions it was loaded under (none when they could not be read) and, on
// a store that is not in-process, its payload when it was encoded (see
// flightOut).
//
// Its backend calls are bounded by Options.Timeout (as well as by ctx):
// in a flight ctx has no deadline, and a write or delete of key waits for
// l's store under way (see supersede), which on a backend that hung would
// otherwise hold it up for ever, whatever the writer's own context.
func loadAndStoreUnder[T any](ctx context.Context, c *Cache, key string, ttl time.Duration, load func(context.Context) (T, error), opts []SetOption, l *loading) (T, flightOut, error) {
	vctx, cancel := c.store.bound(ctx)
	vs, err := c.setVersions(vctx, ttl, opts)
	if err != nil {
		vs = versionSet{} // not read: nothing for the joiners to check
	}
	cancel()
	out := flightOut{vs: vs}
	v, lerr := load(ctx)
	if lerr == nil && ctx.Err() != nil {
		// load returned after its flight cancelled it (every caller left,
		// past flight.MaxDetached): a value without an error may be a
		// fallback made of the reads the cancellation failed. Handled as
		// the context's error, never stored (see Memoized.computeTo).
		lerr = ctx.Err()
	}
	switch {
	case lerr != nil:
		return v, out, lerr
	case err == nil:
		var w write
		if w, err = prepareAs(c, key, v, ttl, vs); err == nil {
			if c.store.local == nil && w.e != nil {
				out.payload = w.e.Payload
			}
			// OnEvict is told of the store's evictions once l's lock is
			// released: an OnEvict that writes the evicted key (or
			// clears) waits for the lock of that key's load, which may
			// be this one, or one whose store evicted this key.
			notifyAfter(func(evicted *simple.Evictions) {
				err = l.store(func() error {
					sctx, cancel := c.store.bound(ctx)
					defer cancel()
					return c.store.writeDeferred(sctx, evicted, w)
				})
			})
		}
	}
	if err != nil {
		return v, out, fmt.Errorf("caching: set %T: %w", v, err)
	}
	return v, out, nil
}
