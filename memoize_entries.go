package caching

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/go-caching/caching/backend/simple"
)

// Reading and writing a memoized function's entries without Get: for jobs
// that precompute results (Refresh), results computed elsewhere (Set), and
// looking at what is stored (Peek).

// Refresh calls fn for a now and stores its result, replacing a's entry,
// and returns it (a job that precomputes results uses it, or one that
// updates the data a's result is made of). A computation for a in flight
// in this process when Refresh is called (a Get's, which may have read the
// data before the update; through this Memoized or another of its name) is
// not joined and does not store its result, as for Set: each Refresh
// calls fn (of concurrent ones, the last called stores its result), and
// the Gets made while it computes join it. Nor does Refresh take its
// result from a Get's computation that began after it was called: that
// one may return an entry it found stored, older than the update, without
// calling fn (its in-process check for a result stored since its lookup,
// or Lease's wait for another process), and its result, if not stored,
// leaves the old entry in place; Refresh waits for it and then computes
// its own (joining no other Get's), which the Gets made after join. The result is stored as a Get's would be (StoreIf, SkipZero and
// ResultTTL apply); one that is not stored (refused by them, one the Codec
// cannot encode, or one the backend did not store: its tag versions could
// not be read, or the write failed, as Redis refuses writes past maxmemory
// under noeviction) removes a's entry instead, as Set does, since it no
// longer holds a's result: the next Get calls fn (but for an argument
// with more ArgTags tags than an entry holds, which is never stored nor
// read: nothing is removed, nor sent to the backend, see ArgTags). A
// backend error is counted and logged, as for Get, and not returned once
// a's entry is removed. Where the delete fails too (or is not made, the circuit breaker
// open, where Refresh joined a forced Get's computation), Refresh returns
// the result with an error that wraps the backend's: the delete is retried
// as Forget's is, and until it lands this process's lookups of a miss, but
// other processes sharing the backend may still serve the old entry.
// A Refresh superseded while fn ran by a later Set, Refresh, Forget or
// ForgetAll of a (or a Get that RefreshIf forces) still stores its result
// (or removes a's entry, as above) unless that call has written first
// (what it stored or removed then stands, as if this Refresh's result had
// been stored first; after a ForgetAll nothing is stored), and returns
// once its own write or the later call's has landed: the later call's
// write lands after its own, so that a Get made after Refresh returned is
// never served the entry of before it. fn's error is returned, and nothing
// is stored or removed, but where this Refresh superseded another Refresh
// (or a forced Get, or a background refresh that one of those joined)
// still computing, or that returned without storing:
// that one returns its result with no error, and now stores nothing, so
// a's entry is removed (the delete retried if it fails), as for a result
// not stored, unless a result was stored since (by that one before this
// one's fn failed, by a computation begun after this Refresh was called,
// or by a Set made after it) or a ForgetAll came after that one began
// (its delete removed the entry). A stale hit's background refresh that
// nobody joined is no such one: the entry is kept.
// Refresh is not counted in Stats' lookups. A Refresh made from within
// fn's computation for a's own key, with the context fn was given (or one
// made from it), computes inline as Get does there (see Get), joining
// none, and stores its result as above: it supersedes the computations of
// a in flight but those it is made within (whose fn waits for it), which,
// unless superseded before it, still store their results after its own
// (they hold it). So a Refresh of a begun before the update it is made
// for, still computing, does not store its older result after this one's.
// The same holds for a Get that RefreshIf forces made there.
func (m *Memoized[A, R]) Refresh(ctx context.Context, a A) (R, error) {
	key, err := m.Key(a)
	if err != nil {
		var zero R
		return zero, err
	}
	// A computation in flight may have read the data before an update this
	// Refresh is called for: it must neither be joined nor store its
	// result after this one's. But for the one this Refresh is made from
	// within (computed inline by m.do, as Get's: reentry.go), whose result
	// holds this one's and is stored.
	var seeker *memoEpoch // its supersede (nil: none, within itself), which its computation leads
	within := withinItself(ctx, m.calls, key, false)
	if withinDecidedHook != nil {
		withinDecidedHook(key, within)
	}
	if !within {
		held := m.shared.supersedeSeeking(key) // until it returns: see supersedeSeeking
		defer m.shared.done(&held)
		seeker = &held
		if refreshSupersededHook != nil {
			refreshSupersededHook(key)
		}
	} else {
		held := m.shared.supersedeWithin(ctx, m.calls, key)
		defer m.shared.done(&held)
	}
	lent := m.lend(ctx, a) // fn may run on after ctx ends: see Get
	joined, returned := false, false
	defer func() { m.giveBack(lent, joined || !returned) }()
	// It joins no background refresh once it leads: see leads.
	res, joined, err := m.do(ctx, key, within, true, seeker, func(ctx context.Context) (R, error) {
		if seeker != nil && seekerLeadsHook != nil {
			seekerLeadsHook(key)
		}
		arg, err := m.argOf(ctx, lent, a)
		if err != nil {
			var zero R
			return zero, err
		}
		return m.compute(ctx, key, arg, computeReplace)
	})
	returned = true
	if err == nil && res.kept != nil {
		// Retried, as a delete of Refresh's own is (dropEntry): the one of
		// a forced Get that it joined is not.
		m.c.retryInvalidation("memoize refresh", []string{key}, res.kept)
		return res.v, fmt.Errorf("caching: memoize %s: refresh: the entry replaced could not be removed: %w", m.name, res.kept)
	}
	return res.v, err
}

// refreshSupersededHook, when set, is called by Refresh with its key
// between its supersede and its computation (which it may join): a test
// starts there what a caller may start in that window (a background
// refresh). Nil outside tests; set only by a test that does not run in
// parallel, and reset when it ends.
var refreshSupersededHook func(key string)

// Set stores r as the result for a, computed elsewhere, under the
// function's tags, TTL and ResultTTL. A result that StoreIf or SkipZero
// refuses is not stored: a's entry is removed instead, since it no longer
// holds a's result. A computation for a that is running in this process
// when Set is called (through this Memoized or another of its name) does
// not overwrite r; those of other arguments are stored. Of Set and a
// Refresh, Set, Forget or ForgetAll of a made after it in this process
// (through this Memoized or another of its name), the one made last wins:
// Set stores r unless that call has already stored or removed a's entry
// (Set then stores nothing and returns nil: r is replaced by its result
// as if r had been stored first), and that call's store or delete lands
// after Set's, so that a Get made after Set returned is never served the
// entry of before Set (a Refresh still computing there does not leave it
// served). A Refresh there whose fn fails keeps r if Set stored it, and
// else removes a's entry, as for a Refresh it superseded. Its store waits
// for a store or delete of a in progress (never for those of other
// arguments). On a remote store the whole call, that wait included, is
// bounded by one Options.Timeout (and by ctx): a Set that waited for a
// slow write of a has what is left of it for its own store.
// Errors are the backend's (and the Codec's), returned, not failed open;
// where Set superseded a Refresh still computing (which, once Set has
// settled, stores nothing and returns its result), a failed Set removes
// a's entry too (the delete, within the same Timeout but not cut short by
// ctx's end, is retried in the background if it fails or has no time
// left), which may hold the result of the data before that Refresh.
func (m *Memoized[A, R]) Set(ctx context.Context, a A, r R) error {
	key, err := m.Key(a)
	if err != nil {
		return err
	}
	ttl, ok := m.storable(r)
	if !ok {
		return m.Forget(ctx, a)
	}
	// One deadline, Options.Timeout from now, for the whole call on a
	// remote store: the read of the tag versions, the wait for a write of
	// a in progress, the store, and the delete of an entry owed after a
	// failure (below), which its caller's end does not cut short (cleanup)
	// but the deadline does, handing it to the retries (dropFailed). Each
	// bounded by a Timeout of its own, a backend that hangs cost a Set one
	// Timeout for the wait, one for its store and one more for the delete.
	cleanup := context.WithoutCancel(ctx)
	if m.c.store.local == nil {
		deadline := time.Now().Add(m.c.store.timeout)
		var cancel, cancelCleanup context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
		cleanup, cancelCleanup = context.WithDeadline(cleanup, deadline)
		defer cancelCleanup()
	}
	// A computation in flight must not overwrite r; a replacement that
	// begins after this and fails must not remove it (settle, below). Set
	// is pending as a replacement is until it settles: one that supersedes
	// it before it stores, and fails, removes the entry Set did not
	// replace (memoShared.owed).
	held := m.shared.supersedeHeldMode(key, true)
	defer m.shared.done(&held)
	// A Set that fails past its supersede has still made the replacement in
	// flight (a Refresh called before it) store nothing: that one returns
	// its result as if it had replaced the entry. The entry of the data
	// before them is removed then, as a failing replacement removes it
	// (dropOwed), under a context the caller's end does not cut short.
	stored := false
	defer func() {
		if !stored {
			m.dropOwed(cleanup, key, &held, nil)
		}
	}()
	tags, argKeys := m.tagKeysWith(a)
	vs, err := m.versions(ctx, tags, argKeys, ttl)
	if err != nil {
		return fmt.Errorf("caching: memoize %s: set: %w", m.name, err)
	}
	// Read after the versions: a ForgetAll whose count changed before the
	// read ended may have deleted the generation before it (see below).
	lateGen := m.shared.allSince(&held)
	e := newEntry(m.c.now(), ttl, max(m.swr, m.sie))
	if err := m.c.store.setValue(e, r, m.c.codec.Marshal); err != nil {
		return fmt.Errorf("caching: memoize %s: set: encode: %w", m.name, err)
	}
	// Ordered as a computation's store is, by key's write lock, against the
	// calls made after Set's supersede (a Refresh after another update,
	// another Set, Forget): made unless one of them has written already
	// (mayReplace, where the invariant is), or r, older than theirs, would
	// be stored over what they stored; one still computing writes after
	// it. The wait for a write of key in progress and Set's own are
	// bounded together by the deadline above on a remote store; those of
	// other keys and the supersedes of the name do not wait for them.
	if err := m.lockWrite(ctx, &held); err != nil {
		return fmt.Errorf("caching: memoize %s: set: %w", m.name, err)
	}
	// Told to OnEvict once the lock is released, as a computation's are
	// (computeTo).
	var evicted simple.Evictions
	defer func() { evicted.Notify() }()
	defer m.shared.unlockWrite(&held) // before the deferred dropOwed, which takes it
	if !m.shared.mayReplace(&held, m.generation()) {
		// A later call has stored or removed the entry: r is replaced by
		// its result as if r had been stored first (nil is returned), and
		// it settled the replacements Set superseded.
		stored = true
		return nil
	}
	// r is newer than the results of the replacements it superseded: one
	// still computing, which now stores nothing, or one that returned its
	// result unstored, is owed no delete any more
	// (memoShared.owed), though a replacement begun after the supersede
	// may fail. Settled before the store is made, not after it lands: a
	// replacement whose fn fails (which checks holding the write lock,
	// after Set's store) would otherwise find the superseded one still
	// owed, and remove r, which Set's caller is told was stored. Where
	// the store fails, Set removes the entry itself if one was owed (what
	// a later replacement no longer does), so that the entry of the data
	// before the superseded replacement is never served: a failure loses
	// at most the entry, never keeps a stale one.
	owed := m.shared.owed(&held, m.generation())
	m.shared.settle(&held)
	stored = true // settled: the deferred dropOwed would find nothing owed
	if lateGen && m.shared.forgotSince(&held, m.genKey) {
		// A ForgetAll of m's generation came after Set's supersede and
		// before its versions were read, and its delete failed
		// (mayReplace made the write, as the entry of before is still
		// served elsewhere): its retry may have landed before the read
		// (mayReplace tells only once the retry set no longer holds the
		// generation, which another ForgetAll that failed since adds
		// again), and the read then created the generation after it,
		// under which r would be served in every process as if no
		// ForgetAll had come after Set. The entry is removed instead, as
		// Forget does: a miss, whichever landed first. A ForgetAll of
		// another name's generation sharing OtherName's memoShared (past
		// maxNamedCounters names) deleted that one only: r is stored
		// (forgotSince, read after mayReplace waited for its delete).
		opCtx, cancel := m.c.store.bound(ctx)
		defer cancel()
		if err := m.c.store.del(opCtx, key); err != nil {
			m.c.retryInvalidation("memoize set", []string{key}, err)
			return fmt.Errorf("caching: memoize %s: set: %w", m.name, err)
		}
		return nil
	}
	opCtx, cancel := m.c.store.bound(ctx)
	defer cancel()
	if err := m.c.store.saveDeferred(opCtx, key, e, vs, &evicted); err != nil {
		if owed {
			m.dropEntry(cleanup, key, true, nil)
		}
		return fmt.Errorf("caching: memoize %s: set: %w", m.name, err)
	}
	return nil
}

// Peek returns the result stored for a without calling fn, and whether it
// is fresh: Get would return it without calling fn (within its TTL, and not
// declared stale by StaleIf). A stale result is returned while its entry is
// kept (StaleWhileRevalidate, StaleIfError). When nothing usable is stored
// (no entry, expired, invalidated by a tag or ForgetAll, or not decodable
// as R), the error wraps ErrNotFound (and, for a result that does not
// decode as R, ErrDecode too); a backend error is returned as it is.
// Peek is not counted in Stats.
func (m *Memoized[A, R]) Peek(ctx context.Context, a A) (r R, fresh bool, err error) {
	var kb [keyBufLen]byte
	key, err := m.appendKey(kb[:0], a)
	if err != nil {
		return r, false, err
	}
	e, err := m.lookupArg(ctx, key, a)
	if err != nil {
		return r, false, fmt.Errorf("caching: memoize %s: peek: %w", m.name, err)
	}
	if r, err = decodeValueOf[R](m.c, e, key, ""); err != nil {
		return r, false, fmt.Errorf("caching: memoize %s: peek: %w (%w)", m.name, ErrNotFound, err)
	}
	return r, m.c.store.fresh(e, time.Time{}) && (m.staleIf == nil || !m.staleIf(r)), nil
}

// Refresh calls the function now and stores its value; see
// Memoized.Refresh.
func (v *MemoizedValue[R]) Refresh(ctx context.Context) (R, error) {
	return v.m.Refresh(ctx, struct{}{})
}

// Set stores r as the value, computed elsewhere; see Memoized.Set.
func (v *MemoizedValue[R]) Set(ctx context.Context, r R) error { return v.m.Set(ctx, struct{}{}, r) }

// Peek returns the stored value without calling the function, and whether
// it is fresh; see Memoized.Peek.
func (v *MemoizedValue[R]) Peek(ctx context.Context) (r R, fresh bool, err error) {
	return v.m.Peek(ctx, struct{}{})
}

// checkResultType returns an error when values of type t cannot be stored:
// t is, or holds in an exported field, an element, a key or a pointee, a
// func (an iter.Seq is one), a channel or an unsafe pointer. A store would
// keep the function or channel itself in process (an iterator is often
// good for one use) and fail to encode it elsewhere. Interfaces are not
// looked into: what they hold is known only at run time.
func checkResultType(t reflect.Type) error {
	return walkResultType(t, t.String(), map[reflect.Type]bool{})
}

func walkResultType(t reflect.Type, path string, seen map[reflect.Type]bool) error {
	if seen[t] {
		return nil
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		what := map[reflect.Kind]string{reflect.Func: "a func", reflect.Chan: "a channel", reflect.UnsafePointer: "an unsafe pointer"}[t.Kind()]
		return fmt.Errorf("%s is %s (%s): a result must be data that can be stored", path, what, t)
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return walkResultType(t.Elem(), path, seen)
	case reflect.Map:
		if err := walkResultType(t.Key(), path+" (map key)", seen); err != nil {
			return err
		}
		return walkResultType(t.Elem(), path, seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				if err := walkResultType(f.Type, path+"."+f.Name, seen); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
