package caching

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/boottime"
	"github.com/go-caching/caching/internal/connerr"
	"github.com/go-caching/caching/internal/httpcache"
)

// The lease: one run of a handler or function for every process sharing a
// backend.
//
// In one process, concurrent misses of a key already run the work once (the
// flight of a view, Memoize's singleflight). With a lease, the leader of
// each process's flight first adds the key's lease (l/<key>) to the backend,
// with the backend's atomic Add (Redis SET NX PX, memcached add, the
// filesystem store's lock, the in-process store's own Add), for the lease's
// time d:
//
//   - The process that adds it looks the entry up once more (another
//     process's run may have stored it and released the lease between
//     this one's miss and its Add: that entry answers it as it answers the
//     waiters below, unless its miss read a near cache's copy, which may
//     be behind, or it is under another key than the miss read: see
//     entryMark), then runs the work (under the lease it
//     holds, also when that entry answers others but not it), stores the
//     result, and
//     deletes the lease; when the result is not stored (an error, a
//     response that may not be stored, a result the codec or the backend
//     refused; a SharedCache response stored to be revalidated before
//     every reuse, no-cache or max-age=0, which answers no waiter, as soon
//     as its header says so; and a memoized result that leaves the store
//     within 70 ms, before a waiter may read the lease again:
//     leaseOutlived), it replaces the lease with a marker, "not
//     stored", that lives for min(d, 1s) (min(d, 70 ms) for that memoized
//     result), so that the waiters run the work at once instead of taking
//     turns. The marker is kept as this process's while it lives
//     (ownedLeases): its next miss of the key reads it once, before any
//     Add (which the marker would refuse), without the wait and the poll
//     that a marker of another process costs, and runs at once without
//     the lease (a view's request with a stale entry to serve serves it,
//     reading nothing, as another process's request does once the marker
//     refused its Add; a memoized call with a stale result reads the
//     marker as no lease held, as another process's call does
//     (Memoized.leaseHeld), and calls the function, its stale result
//     answering a failure; while the release that sets the marker is
//     still in flight, both answer stale at once, the memoized
//     computation the call led, if it found that release, going on for
//     the calls without a stale result that joined it); it is
//     never taken over (set), since on
//     memcached it may have ended early and another process's lease
//     replaced it. A run nobody in its process waits
//     for any more (a view's client left, a memoized call the flight
//     cancelled) deletes the lease instead: one of the waiters takes it
//     over.
//   - The others wait: they read the lease (one GET), first after 2 ms,
//     then twice as long each time, at most 50 ms apart, jittered. When the
//     lease is gone they look the entry up and serve it (a hit: they did
//     not run the work). The entry stored since the waiter's miss (another
//     than the one its lookup found then: see entryMark) is the answer of
//     the run it waited for, and answers it as that run's
//     result answers the waiters of its process, even when no longer
//     fresh by now (its TTL ended, or StaleIf declared it stale); not,
//     as in that process, when it is a SharedCache response whose
//     freshness ended (a body made more slowly than its max-age), nor
//     when the request's own directives refuse a stale response
//     (HonorRequestCacheControl): such a waiter runs the work at once,
//     without the lease, rather than take the lease in turn. When the
//     lease is gone without an entry (expired, its holder crashed), they
//     add it again, and one of them leads, once it has looked the entry up
//     again (another process may have run and stored it meanwhile, within
//     the Add's round trip). A view's
//     page not yet known to vary waits on its base key's lease; when the
//     holder stored another variant, each waiter adds its own variant's
//     lease instead (also when the Vary record comes between its Add and
//     its look after it), so that the variants run at once, not in turn. A waiter
//     that has a stale entry (within StaleWhileRevalidate or StaleIfError)
//     serves it at once instead of waiting (a memoized call also where
//     another process took the lease after its look found it free: the
//     computation it led goes on for the calls without a stale result
//     that joined it). With HonorRequestCacheControl,
//     a request's own stale-if-error does not count, and a request that
//     refuses stale responses (max-age, min-fresh) waits even when the run
//     it joined in its process served the stale entry.
//   - Failing open: a waiter waits at most d from its first look, then runs
//     the work itself (a lease timeout), so that a holder that crashed, hung
//     or was cut off delays the others by at most d. A backend error (the
//     circuit breaker open included) means no lease: the work runs, as it
//     would without one; but an Add whose reply came too late (a
//     timeout), which the backend may have made, is released after the
//     run as a held lease is (mayHaveLanded). A waiter whose own context
//     ends stops waiting: a view's runs nothing when its client left
//     (context.Canceled), and runs the handler for its request otherwise
//     (a deadline: view.ended); a memoized call returns its context's
//     error.
//
// The lease is a best effort, not a lock: a holder that runs longer than d
// may see another process run the work too (the writes of both are whole
// entries; but a holder, a view's or a memoized function's, writes nothing
// over an entry stored since its last look under the lease, and answers
// its own callers only: view.newerSinceLease, Memoized.storedSinceLease. A
// holder past d that finds nothing new stores its result, also while
// another process holds the key's lease: the first of the two runs to end
// is stored, the other keeps it, a run older than its own at most). A
// holder makes that look within d too: another process's write that takes no lease (a memoized
// function's Set or Refresh, a view's RefreshIf request or Warm) may have
// stored a newer result while it ran. Its release, which cannot
// tell whose lease is under the key, is made only while it reaches the
// backend before its own lease can have ended (d from its Add's sending,
// on the monotonic clock, a suspend of the machine counted, less a margin:
// releaseLease); later it leaves
// the key alone, so that it neither deletes nor marks the lease another
// process took since.

// Lease makes concurrent misses of one key in every process sharing the
// backend run the handler (Cached, CachedMux) or function (Memoize) once:
// the first one takes a lease on the key for d and runs it; the others
// wait for its entry, up to d, serving a stale entry meanwhile if they have
// one, and run it themselves if no entry comes (fail open: a crashed
// holder delays them by at most d). Choose d a little longer than the
// handler's or function's slowest usual run.
//
// A waiter whose context ends stops waiting. A view's request whose client
// left (its context cancelled, as net/http does when the connection
// closes) gets nothing: its handler does not run. One whose context ends
// otherwise (a deadline: a timeout middleware's, http.TimeoutHandler's, a
// server's BaseContext; or a cancellation with a cause of its own) runs its
// handler with that ended context and gets its answer, as without the
// cache (BYPASS, not stored): never an empty 200 OK. A memoized call
// returns its context's error.
//
// Without it, a view or function uses the Cache's Options.Lease (off by
// default); Lease(0) turns it off for this view or function. A negative d is
// an error. Background refreshes (StaleWhileRevalidate) of a view take the
// lease too, and are skipped when another process holds it; Cache.Close
// waits a bounded time for them to release it, and for the releases a run
// makes after its caller got its answer. RefreshIf calls take no
// lease, nor do Warm and a memoized function's Set and Refresh: a holder
// looks its entry up once before it writes (one backend lookup more per
// miss under the lease; a hit pays nothing) and stores nothing over one
// such a write stored while it ran, its result going to its own callers
// only. A run that ends past d stores its result, also while another
// process, which found the lease expired while it waited or came after d,
// runs the work under the key's lease: that run finds the entry and keeps it, its newer result
// going to its own callers only. Under a handler or function slower than
// d, the entry is thus up to one run older than the newest result; in
// exchange, requests spaced so that each comes while the last run goes on
// are answered from the cache rather than each running the work. In one process, concurrent misses run the work once with or
// without it. A memoized call that gives up on a stuck computation past a
// CollapseTimeout shorter than d still waits for that computation's lease,
// as another process's call does (see CollapseTimeout).
func Lease(d time.Duration) Option {
	return commonOption(func(c *commonConfig) { c.lease, c.leaseSet = d, true })
}

// The lease's poll intervals and the life of the "not stored" marker.
const (
	leaseFirstPoll = 2 * time.Millisecond
	leaseMaxPoll   = 50 * time.Millisecond
	leaseMarkLife  = time.Second
	// leaseMaxGap is a waiter's longest gap between two reads of the
	// lease: leaseMaxPoll with its jitter (acquireLease).
	leaseMaxGap = leaseMaxPoll + leaseMaxPoll/4
	// leaseRoundTrips is a margin for the round trips between an entry's
	// write and its waiter's look (the holder's release, the waiter's read
	// of the lease and its lookup of the entry), a LAN's.
	leaseRoundTrips = 7500 * time.Microsecond
	// leaseShortLife: an entry that leaves the store sooner than this
	// after it was written (70 ms) is released as "not stored"
	// (leaseOutlived); the marker then lives this long, for the waiters
	// to read it.
	leaseShortLife = leaseMaxGap + leaseRoundTrips
)

// leaseOutlived reports whether e, an entry just stored, leaves the store
// too soon for the lease's waiters, which read the lease up to leaseMaxGap
// apart, to find it: they would mostly find the lease gone with no entry,
// and take it in turn, each run a poll gap after the last (4 processes, a
// TTL of 5 ms, a 100 ms run: 466 ms, against 108 ms with no lease). Its
// lease is released as "not stored" instead: they run the work at once, as
// without a lease. A longer life is not outlived: every waiter reads the
// lease again before the entry leaves, finds it, and serves it (one run
// for all; 2 x leaseMaxPoll here made each of 4 processes run a result of
// TTL 80 ms). The marker lives leaseShortLife, not leaseMarkLife: long
// enough for every waiter to read it, and gone soon after, so that the
// misses that come later take the lease again rather than each run the
// work for a second.
func leaseOutlived(e *entry) bool {
	return e.StaleUntil != 0 && e.StaleUntil-e.Created < int64(leaseShortLife)
}

// The values under a lease key: held, or released without an entry stored.
var (
	leaseHeldValue   = []byte("h")
	leaseMarkedValue = []byte("x")
)

// leaseOf is the lease of a view or function configured with cfg: its Lease
// option, or the Cache's default.
func (c *Cache) leaseOf(cfg commonConfig) time.Duration {
	if cfg.leaseSet {
		return cfg.lease
	}
	return c.lease
}

// checkLease reports a negative Lease.
func checkLease(who string, cfg commonConfig) error {
	if cfg.lease < 0 {
		return fmt.Errorf("%w: %s: Lease is %v; want 0 (off) or positive", ErrInvalidOption, who, cfg.lease)
	}
	return nil
}

// heldLease is a lease this process took.
type heldLease struct {
	key string // the lease's backend key
	d   time.Duration
	// end is the earliest the lease may end, on this process's monotonic
	// clock (a step of the wall clock back does not move it), a suspend of
	// the machine counted (boottime.Until): when its Add was sent, plus d. The backend starts the lease when the Add reaches it,
	// later, by its own clock (see releaseLease for memcached's). margin is
	// how long before end a release is still made (releaseMargin).
	end    time.Time
	margin time.Duration
	// short: the entry was stored, to leave the store too soon for the
	// waiters (leaseOutlived): the marker lives leaseShortLife.
	short bool
	// unsure: its Add failed, and may have been made (mayHaveLanded): the
	// lease under the key may be another process's from the start, and is
	// never kept as this process's (ownedLeases).
	unsure bool
	// mark: not a lease but the "not stored" mark this process's release
	// set over its lease (endLease), kept while it lives (ownedLeases): no
	// run holds it, and nothing takes it over (Cache.takeOver).
	mark bool
	// cleared is the store's count of Clears (store.clears) when its Add
	// was sent: a Clear since then, or one in progress then, may have
	// deleted it, and another process may hold the key's lease since, so
	// it is not kept as this process's (ownedLeases, uncleared).
	cleared uint64
}

// uncleared reports whether no Clear of this process may have deleted l:
// none began since its Add was sent (clears is the store's count of them
// now), and none was in progress then (store.clears counts a Clear as it
// begins and once it returned: an odd count is one in progress, which may
// delete the lease after the Add landed).
func (l *heldLease) uncleared(clears uint64) bool {
	return l.cleared == clears && clears%2 == 0
}

// leaseOutcome is what acquireLease came to.
type leaseOutcome uint8

const (
	leaseRun   leaseOutcome = iota // run the work without the lease (error, marker, timeout)
	leaseLead                      // the lease is ours: run the work, then release it
	leaseFound                     // the entry is there: check found it
	leaseStale                     // another process holds the lease: serve the stale entry
	leaseGone                      // the caller's context ended while it waited
)

// leaseLook is what the check of acquireLease found.
type leaseLook uint8

const (
	lookNone  leaseLook = iota // no entry to serve: wait, or lead
	lookFound                  // an entry to serve
	// lookOther: the entry the run the caller waited for stored, which
	// may not answer it (stale, and the caller may not take it stale): it
	// runs the work itself, as a waiter of that run in its process does;
	// without the lease when another process holds it, under it when the
	// caller just added it.
	lookOther
)

// entryMark tells one stored entry from another: its key and the times it
// was written with. It compares an entry read by a look of acquireLease
// with the one its miss read, for equality only, never one process's clock
// with another's: an entry that differs was stored meanwhile. known is
// false when the lookup failed (nothing known: no entry counts as new). A
// miss that read a near cache's copy may have read one older than the
// remote entry (the news of a write on its way, bounded by the near
// cache's MaxStale): once the caller found the lease held, that remote
// entry counts as new, as the entry of a run that ended just before the
// miss. near says the miss may have read such a copy: acquireLease takes
// it for unknown after an Add that succeeded at once, since no run was
// seen in progress, and the remote entry may be one stored long before
// the miss (a StaleIf-degraded one), which is no run's answer to it.
type entryMark struct {
	known bool
	near  bool
	// sameKey: only an entry under key counts as new. It is set for the
	// look after an Add that succeeded: no run holds the lease then, and
	// an entry under another key (a view's variant, whose
	// Vary record the miss did not find: evicted while the variant
	// stayed, then stored again, listing it, by another variant's run)
	// may be one stored long before the miss, as for a near mark.
	sameKey                         bool
	key                             string
	created, freshUntil, staleUntil int64
}

// markOf returns the mark of a lookup of key that found e (nil: none) or
// failed with err. An entry kept in a near cache (read from it, or kept
// there by the remote read that found it) is marked near: which of the two
// is not told apart, and a miss that found none read the remote store.
func markOf(key string, e *entry, err error) entryMark {
	switch {
	case err == nil && e != nil:
		return entryMark{known: true, near: e.near != nil, key: key, created: e.Created, freshUntil: e.FreshUntil, staleUntil: e.StaleUntil}
	case err == nil || errors.Is(err, ErrNotFound):
		return entryMark{known: true, key: key}
	}
	return entryMark{}
}

// storedSince reports whether m, the mark of an entry found by a look of
// acquireLease, is an entry stored since before, the mark of what the
// caller's miss found.
func (m entryMark) storedSince(before entryMark) bool {
	if before.sameKey && m.key != before.key {
		return false
	}
	m.near, before.near = false, false // where it was read, not which entry
	before.sameKey = false
	return before.known && m.known && m.created != 0 && m != before
}

// acquireLease takes the lease of key (the backend key of an entry) for d,
// or waits for the process that holds it, as the comment at the top of this
// file says. seen is the mark of what the caller's miss found (the lookup
// that found no fresh entry, and brought it here). check looks the entry
// up and reports what it found; it bounds its own backend calls. It is
// called once the caller added the lease,
// found it held, saw it free (its holder released it, having stored the
// entry or not), or reached its deadline: the holder's writes are in the
// remote store then, but the news of them may still be on its way to this
// process's near cache, whose copies are what the miss refused. check drops
// the near copies of every key it reads (a view's Vary record as well as
// its variant's entry), so that it reads the remote store rather than run
// the work a second time; they were no answer anyway. check tells an entry
// by since, seen or, after an Add that succeeded before any was found held
// when seen is near, nothing known: an entry other than that one was
// stored by a run in progress in another process since that miss (or
// another since), which answers the caller as that run's result answers a
// waiter of its process (viewFlight, Memoize's singleflight), fresh or not
// by now, under the same rules (lookFound), or not at all (lookOther). That
// run may have stored its entry and released the lease before the caller's
// Add was made (the Add then succeeds), or before its first look after a
// failed Add: so the mark is the miss's, not that of a look after it, which
// would take that entry for one seen before. A near copy is no such mark
// when no run was found in progress: the remote entry that differs from it
// may have been stored long before the miss (see entryMark). hasStale is whether the
// caller has a stale entry to serve rather than wait. keyNow, when not nil,
// is the key of the entry as check last learnt it: a view's miss of a page
// not yet known to vary waits on the base key's lease, and once a run stores
// the Vary record, its variant's key. The waiter takes that key's lease
// instead (once), so that a variant does not wait for the runs of others.
func (c *Cache) acquireLease(ctx context.Context, key string, d time.Duration, hasStale bool, stale *memoStale, seen entryMark, check func(ctx context.Context, since entryMark) leaseLook, keyNow func() string) (*heldLease, leaseOutcome) {
	lk := c.leaseKey(key)
	var onMarking func() // a marking release in flight found (settle, take)
	if stale != nil {
		onMarking = stale.serve
	}
	rekeyed := false
	// rekey switches lk to the lease of keyNow, and reports whether it did.
	rekey := func() bool {
		if keyNow == nil || rekeyed {
			return false
		}
		if k := c.leaseKey(keyNow()); k != lk {
			lk, rekeyed = k, true
		}
		return rekeyed
	}
	// add adds the lease lk and, when it did, looks the entry up again
	// (the one round trip a miss with a lease costs more than one
	// without): another process may have taken the lease, run the work,
	// stored the entry and released the lease between this caller's last
	// look and its Add (a fast run, a slow link). Its entry answers this
	// caller as it answers one whose Add found the lease held, fresh or
	// not by now: it was stored since the caller's miss, by a run in
	// progress then or begun since. When the entry turns out to vary
	// (the Vary record was stored meanwhile), the run is its variant's,
	// under that variant's lease: the base key's is released, and the
	// variant's added (once). An entry that answers others but not this
	// caller (lookOther) is run again under the lease: released, it would
	// let the miss of a third process run the work too. decided is false
	// when another process holds the lease: the caller waits for it.
	//
	// Where this process keeps its own "not stored" mark of lk alive
	// (ownedLeases), no run holds the key, and an Add would be refused by
	// that very mark: the lease is read first instead, once, without the
	// wait and the poll another process's lease or mark costs (a memoized
	// caller with a stale result read it just before its run, which takes
	// that read for its own: memoStale.ownRead). Still
	// marked, the caller runs at once without the lease, as a waiter that
	// reads a mark does, and writes nothing; else the mark ended (early,
	// on memcached, or lost), and is forgotten: the lease is free again,
	// and added, or another process's, and waited for. A caller with a
	// stale entry to serve (hasStale) reads nothing and serves it, as
	// another process's caller does once the mark refused its Add; nor
	// does it wait for a release of lk in flight that sets the mark,
	// found before its Add or after it (ownedLeases.take): it
	// would serve its stale entry after it too (or lead, in the rare
	// cases that release leaves the lease free or this process's: it
	// ends too late, or fails without reaching the backend, while another
	// process's caller serves its stale entry on the lease still held).
	// A memoized caller with a stale result (stale), whose run callers
	// without one may share, is told of such a release (memoStale.serve),
	// and serves it; the run waits for the release as for them. It is
	// told too of a lease held elsewhere, taken since its look found it
	// free, once a look finds no entry stored since the Add.
	add := func(since entryMark) (l *heldLease, out leaseOutcome, decided bool) {
		for {
			// A release of lk in flight, which may set the mark, is
			// waited for first (the one settle of this caller's Add:
			// addLease), but for one that sets the mark by a caller
			// with a stale entry, which serves it (told in one look:
			// a release begun between two would be waited for; a
			// memoized one's run waits for it once it is told).
			if !c.owned.settle(ctx, lk, hasStale, onMarking) {
				return nil, leaseRun, false
			}
			if mark := c.owned.liveMark(lk, c.store.clears.Load()); mark != nil {
				if hasStale {
					// A caller with a stale entry serves it, as another
					// process's does once the mark refused its Add: the
					// run that marked the key just failed.
					return nil, leaseRun, false
				}
				var (
					held, marked bool
					err          error
				)
				if own, ok := stale.ownRead(mark); ok {
					marked = own // its caller's look, made just before
				} else {
					held, marked, err = c.readLease(ctx, lk)
				}
				switch {
				case err != nil && ctx.Err() != nil:
					return nil, leaseGone, true
				case err != nil, marked:
					return nil, leaseRun, true
				}
				c.owned.forgetMark(mark)
				if held {
					return nil, leaseRun, false
				}
			}
			l, added, err := c.addLease(ctx, lk, d)
			switch {
			case err != nil && ctx.Err() != nil:
				return nil, leaseGone, true
			case err != nil && mayHaveLanded(err):
				// The backend may have made the Add (see mayHaveLanded):
				// the work runs, as for any backend error, and releases
				// the lease it may hold, so that other processes' waiters
				// do not wait for the whole lease.
				return l, leaseLead, true
			case err != nil:
				return nil, leaseRun, true
			case !added:
				// Held: by another process, or still by this one (its
				// release in flight or failed, or its "not stored" mark:
				// ownedLeases). A release that sets the mark, in flight
				// since the look before the Add (this process's holder
				// outside the caller's flight failed meanwhile), is not
				// waited for by a caller with a stale entry, as that
				// look does not wait for it (ownedMarking), nor by a
				// memoized one, told before its run waits for it.
				own, found := c.takeOver(ctx, lk, hasStale, onMarking)
				switch found {
				case ownedAgain, ownedMark:
					// ownedMark: this process's own mark, kept since the
					// look before the Add (a release that returned
					// meanwhile), is read as that look reads it.
					continue
				case ownedNone, ownedMarking:
					return nil, leaseRun, false
				}
				l = own
			}
			after := since
			after.sameKey = true // see entryMark
			// The lease is deleted off the caller's path, as a stored
			// run's is (releaseLeaseLater): nothing the caller does next
			// waits for it, and the key's next leader in this process
			// waits for it in flight (ownedLeases.settle, before its
			// Add: addLease).
			if check(ctx, after) == lookFound {
				c.releaseLeaseLater(l, true)
				return nil, leaseFound, true
			}
			if !rekey() {
				return l, leaseLead, true
			}
			c.releaseLeaseLater(l, true)
		}
	}
	// Before any lease was found held, a near mark is no mark: see
	// entryMark.
	first := seen
	if seen.near {
		first = entryMark{}
	}
	for {
		if l, out, decided := add(first); decided {
			return l, out
		}
		if hasStale {
			return nil, leaseStale
		}
		// The run that holds the lease may have ended since the Add.
		switch check(ctx, seen) {
		case lookFound:
			return nil, leaseFound
		case lookOther:
			return nil, leaseRun
		}
		if !rekey() {
			break
		}
		// The variant's lease may be free.
	}
	// Held elsewhere (another process's lease, taken since the memoized
	// caller's look found it free, or a release of this process's in
	// flight), and no entry stored since the Add (check): a memoized
	// caller with a stale result serves it, as on a lease its look found
	// held (Memoized.leaseHeld); the run waits as for the callers without
	// one that joined it.
	if stale != nil {
		stale.serve()
	}
	c.stats.leaseWaits.Add(1)
	// The wait counts a suspend of the machine (boottime.Until), as the
	// backend's lease does: the monotonic clock alone would wait one more
	// lease after it.
	deadline := time.Now().Add(d)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for poll := leaseFirstPoll; ; poll = min(2*poll, leaseMaxPoll) {
		// Jitter of ±25%, so that the waiters of several processes do not
		// read in step.
		wait := poll - poll/4 + rand.N(poll/2+1)
		left := boottime.Until(deadline)
		if left < wait {
			wait = max(left, 0)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil, leaseGone
		case <-timer.C:
		}
		if boottime.Until(deadline) <= 0 {
			switch check(ctx, seen) {
			case lookFound:
				return nil, leaseFound
			case lookNone:
				c.stats.leaseTimeouts.Add(1)
			}
			return nil, leaseRun
		}
		held, marked, err := c.readLease(ctx, lk)
		switch {
		case err != nil && ctx.Err() != nil:
			// The client left while the backend answered: as between
			// two polls, not a backend error.
			return nil, leaseGone
		case err != nil, marked:
			return nil, leaseRun
		case held && !c.owned.has(lk, c.store.clears.Load()):
			continue
		}
		// Gone, or this process's own (ownedLeases: its run ended, and
		// its release is in flight or never reached the backend), which
		// no run holds: read held, it would be waited out whole.
		switch check(ctx, seen) {
		case lookFound:
			return nil, leaseFound
		case lookOther:
			return nil, leaseRun
		}
		// Gone with no entry: expired, or released by a holder whose
		// client left, or the entry varies and its holder stored another
		// variant (then the waiter takes its own variant's lease). One of
		// the waiters leads now; the others wait for it.
		rekey()
		if l, out, decided := add(seen); decided {
			return l, out
		}
	}
}

// addLease adds the lease lk for d, and counts it when it did. An error
// after ctx ended (the caller left) is not the backend's: not counted. l is
// the lease the Add made, or may have made (mayHaveLanded), for its
// release.
//
// Its caller waits first for a release of lk in flight (releaseLeaseLater,
// ownedLeases.settle): an Add sent before it lands finds the lease held,
// and the release may end before the look at ownedLeases after the Add
// (take), which would then take this process's lease for another's (a
// refresh skipped). acquireLease waits before its look at its own mark,
// which that release may set, takeLease before its Add.
func (c *Cache) addLease(ctx context.Context, lk string, d time.Duration) (l *heldLease, added bool, err error) {
	bctx, cancel := c.store.bound(ctx)
	defer cancel()
	cleared := c.store.clears.Load()
	sent := time.Now()
	added, err = c.store.addRaw(bctx, lk, leaseHeldValue, d)
	l = &heldLease{key: lk, d: d, end: sent.Add(d), margin: c.releaseMargin(time.Since(sent)), unsure: err != nil, cleared: cleared}
	if err != nil {
		if ctx.Err() == nil {
			c.failOpen("lease", err)
		}
		return l, false, err
	}
	if added {
		c.stats.leases.Add(1)
		c.owned.forget(lk) // one it kept is gone
	}
	return l, added, nil
}

// releaseMargin is how long before a lease's earliest end its release is
// still made (releaseLease), given rtt, the time its Add took: twice that,
// for the release's own trip to the backend and its jitter, at least
// leaseRoundTrips (the scheduling of this process), at most
// Options.Timeout, which bounds the release's call. An Add that timed out
// (mayHaveLanded) took as long as its timeout: its release is made only
// while about a whole Timeout is left.
func (c *Cache) releaseMargin(rtt time.Duration) time.Duration {
	return min(max(2*rtt, leaseRoundTrips), c.store.timeout)
}

// readLease reads the lease lk: held by a process, or marked "not stored".
func (c *Cache) readLease(ctx context.Context, lk string) (held, marked bool, err error) {
	bctx, cancel := c.store.bound(ctx)
	defer cancel()
	v, err := c.store.get(bctx, lk)
	switch {
	case errors.Is(err, ErrNotFound):
		return false, false, nil
	case err != nil:
		if ctx.Err() == nil { // else the caller left: not the backend's error
			c.failOpen("lease", err)
		}
		return false, false, err
	}
	return string(v) == string(leaseHeldValue), string(v) != string(leaseHeldValue), nil
}

// takeLease takes key's lease for a background refresh, which nobody waits
// for: ok is false when another process holds it (the refresh is skipped),
// and l is nil when d is 0 or the backend failed (the refresh runs
// without), but for an Add the backend may have made (mayHaveLanded),
// released after the refresh as a held one.
func (c *Cache) takeLease(ctx context.Context, key string, d time.Duration) (l *heldLease, ok bool) {
	if d <= 0 {
		return nil, true
	}
	lk := c.leaseKey(key)
	for {
		c.owned.settle(ctx, lk, false, nil) // a release in flight first (addLease)
		l, added, err := c.addLease(ctx, lk, d)
		switch {
		case err != nil && ctx.Err() == nil && mayHaveLanded(err):
			return l, true // released as a held one
		case err != nil:
			return nil, true
		case added:
			return l, true
		}
		// Held: this process's own lease may be (ownedLeases); its own
		// "not stored" mark skips the refresh, as another process's lease
		// or mark does: the run it marked just failed.
		switch own, found := c.takeOver(ctx, lk, false, nil); found {
		case ownedAgain:
			continue
		case ownedTaken:
			return own, true
		}
		return nil, false
	}
}

// takeOver is ownedLeases.take for a leader whose Add found the lease lk
// held (hasStale: it has a stale entry to serve rather than wait;
// onMarking: see take): what it
// found, and l, this process's lease that it takes (found
// ownedTaken), counted, and set again for its whole time (renewLease); or
// its "not stored" mark (found ownedMark: heldLease.mark), which is never
// taken over: the key holds it, or, once it ended (on memcached a 1 s item
// may end within a tick of its Set), another process's lease, which a Set
// would overwrite, its run beside this one.
func (c *Cache) takeOver(ctx context.Context, lk string, hasStale bool, onMarking func()) (l *heldLease, found ownedFind) {
	l, found = c.owned.take(ctx, lk, c.store.clears.Load(), hasStale, onMarking)
	if found == ownedTaken {
		c.stats.leases.Add(1)
		l = c.renewLease(ctx, l)
	}
	return l, found
}

// renewLease sets l, a lease of this process that a leader takes over, for
// a whole d again, and returns it so renewed. Taken over with what was left
// of it, a run longer than that outlived it, and another process's miss
// after its end ran the work beside it, where a miss that waited the lease
// out led alone. The Set is made while the lease is this process's, as a
// release is (take returns none that ends within its margin). One that
// fails leaves l as it was: its release is made only before that end (one
// that may have landed ends later, which the waiters wait for at most).
func (c *Cache) renewLease(ctx context.Context, l *heldLease) *heldLease {
	bctx, cancel := c.store.bound(ctx)
	defer cancel()
	cleared := c.store.clears.Load()
	sent := time.Now()
	if err := c.store.set(bctx, l.key, leaseHeldValue, l.d); err != nil {
		if ctx.Err() == nil {
			c.failOpen("lease", err)
		}
		return l
	}
	return &heldLease{key: l.key, d: l.d, end: sent.Add(l.d), margin: c.releaseMargin(time.Since(sent)), cleared: cleared}
}

// mayHaveLanded reports whether err, the error of a lease's Add, may be
// that of an Add the backend made all the same: its reply did not come in
// time (a deadline, a network timeout: Options.Timeout ended the call
// after it was sent). A process that took such an Add for a failure ran
// the work without releasing the lease the backend held for it, so that
// the other processes' waiters, which look for the entry only once the
// lease is gone, waited for the whole lease after the result was stored.
// The run that follows it releases the lease as its holder would, under
// the same rule of time (releaseLease), which the Add's round trip, as
// long as the timeout that ended it, makes stricter. What remains: when
// the Add was not made, the lease under the key may be another process's
// from the start, and the release, within that time, deletes or marks it
// (its waiters then look the entry up, or run the work at once, as
// without the lease).
// A refusal before the call (the circuit breaker's ErrUnavailable, a
// server marked down) is no such error.
func mayHaveLanded(err error) bool {
	var ne net.Error
	return !backend.Neutral(err) && !errors.Is(err, ErrUnavailable) &&
		(errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout())
}

// releaseLease ends a lease this process took: deleted when the entry was
// stored (or another process is to lead), else marked "not stored", so that
// the waiters run the work at once.
//
// Backends have no compare-and-delete, and the lease's value says nothing
// of its holder (older releases, in a rolling deploy, read any other value
// as "not stored"): a release cannot check that the lease is still this
// process's. Once this one's has ended, another process may hold the key's
// lease: deleted, its waiters would find no entry and one of them would run
// the work beside it; marked, they would all run it at once. So the release
// is made only while it reaches the backend before the lease can have
// ended: l.margin (releaseMargin) before l.end, on the monotonic clock,
// counting the time the machine was suspended, which that clock does not
// and the backend's does (boottime.Until): a holder suspended past its
// lease leaves the key alone on resume.
// Later, the lease is left as it is: it has ended or ends within the
// margin, and the waiters, finding it gone, look the entry up, as for a
// lease that expired. Two cases remain open: a lease on memcached, whose
// clock ticks in whole seconds, may end up to a second before l.end; and
// the lease under the key of an Add that timed out (mayHaveLanded) and was
// not made may be another process's from the start.
//
// A release that fails (a timeout included) is not made again: a call that
// timed out has most often reached the backend, and answered late; made
// again, it could end a lease another process took since the first one
// landed, and it would cost whoever waits for it (a retry's waiters, which
// wake after it; Close) a second Timeout on a slow backend. The waiters look
// again when the lease ends, at most d from their first look. A release
// that surely did not reach the backend (releaseUnmade: the circuit
// breaker open, a server marked down, a refused connection) leaves the
// lease this process's until it ends, since no other process can take a
// lease that has not ended: it is kept (ownedLeases), and the next
// leader of its key in this process takes it as its own rather than wait
// for it, set for a whole d again (Cache.takeOver). One that may have landed is not kept: another
// process may hold the key's lease since. The "not stored" mark a release
// sets is kept too, until it ends (from its Set's sending;
// heldLease.mark), but never taken over: this process's next miss of the
// key, which would otherwise wait for it and poll it once (a LeaseWaits),
// reads it once, before any Add, and runs at once without the lease
// (acquireLease); a
// refresh is skipped, as for any held lease (Cache.takeLease).
func (c *Cache) releaseLease(l *heldLease, stored bool) {
	if l != nil {
		c.owned.released(l, nil, c.endLease(l, stored))
	}
}

// endLease is releaseLease's call to the backend. It returns what is
// still this process's under the key once it returned, to keep
// (ownedLeases), or nil: the lease, when the release failed without
// reaching the backend (releaseUnmade), while the lease, one this process
// surely took, has not ended, and no Clear may have deleted it
// (heldLease.uncleared); or the "not stored" mark it set, as a lease that
// ends with the mark, unless the lease was unsure (the mark may then have
// replaced another process's lease, whose holder's release may end it) or
// a Clear may have deleted the mark.
func (c *Cache) endLease(l *heldLease, stored bool) (keep *heldLease) {
	if boottime.Until(l.end) <= l.margin {
		return nil
	}
	ctx, cancel := c.store.bound(context.Background())
	defer cancel()
	cleared := c.store.clears.Load()
	sent := time.Now()
	var err error
	life := time.Duration(0)
	if stored {
		err = c.store.del(ctx, l.key)
	} else {
		life = leaseMarkLife
		if l.short {
			life = leaseShortLife
		}
		life = min(l.d, life)
		err = c.store.set(ctx, l.key, leaseMarkedValue, life)
	}
	switch {
	case err == nil && life > 0 && !l.unsure:
		mark := &heldLease{key: l.key, d: l.d, end: sent.Add(life), margin: c.releaseMargin(time.Since(sent)), mark: true, cleared: cleared}
		if mark.uncleared(c.store.clears.Load()) {
			return mark
		}
	case err != nil:
		c.failOpen("lease release", err)
		if !l.unsure && releaseUnmade(err) && l.uncleared(c.store.clears.Load()) {
			return l
		}
	}
	return nil
}

// releaseUnmade reports whether err, a lease release's, is the error of a
// call that surely did not reach the backend: refused before it was made
// (the circuit breaker's ErrUnavailable, a server marked down), or a
// connection the server refused. Any other error, a timeout above all
// (mayHaveLanded), may be that of a call the backend made. A backend that
// retries a call must not report a refusal of its retry after a try that
// may have landed as a refusal: the Redis and memcached backends' is then
// the error of that try (its lost connection).
func releaseUnmade(err error) bool {
	return err != nil && (notMade(err) || connerr.Refused(err))
}

// releaseLeaseLater is releaseLease off the caller's path, for a release
// that nothing the caller answers waits for: the entry, if any, is stored,
// the waiters of this process were handed the result; or the caller's
// look after its Add found the entry stored by another process, or took
// its variant's lease instead (acquireLease). A request or call
// would otherwise wait for its round trip (a whole Timeout on a hung
// backend). It runs as background work, which Close waits for before it
// closes the backend (background.stop); inline once the Cache is closed.
//
// Until the release returns, the lease is still this process's: its next
// leader of the key, which would find the lease held, waits for the
// release instead (ownedLeases.settle before its Add, addLease;
// ownedLeases.take after one), as it did when the release was made before
// the response was; but for a request with a stale entry to serve, which
// serves it at once while the release sets the "not stored" mark
// (acquireLease, ownedLeases.marking).
func (c *Cache) releaseLeaseLater(l *heldLease, stored bool) {
	if l != nil {
		c.releaseRecorded(l, c.owned.releasing(l, stored), stored)
	}
}

// releaseRecorded is releaseLeaseLater for l, whose release r was already
// recorded as in flight (ownedLeases.releasing); nil: not recorded.
func (c *Cache) releaseRecorded(l *heldLease, r *ownedLease, stored bool) {
	release := func() {
		var keep *heldLease
		defer func() { c.owned.released(l, r, keep) }() // a panic included
		keep = c.endLease(l, stored)
	}
	if !c.background.goBackground(func() {
		defer func() {
			// A Backend's panic on a goroutine of the Cache's: it would
			// end the program.
			if p := recover(); p != nil {
				c.failOpen("lease release", fmt.Errorf("caching: backend panic: %v", p))
			}
		}()
		release()
	}) {
		release()
	}
}

// maxOwnedLeases bounds the leases ownedLeases keeps after their release
// failed, and, apart, the "not stored" marks it keeps: past it, the one
// kept first is dropped, a mark for a mark, a lease for a lease (marks set
// within their second for many keys, a scan of URLs that fail, would
// otherwise push out a kept lease, whose key's next leader would then wait
// for the whole lease). Releases in flight are neither counted nor dropped
// (the key's next leader waits for them): the requests, calls and
// background work in flight bound them.
const maxOwnedLeases = 1024

// ownedLeases are the leases this process took and released, kept while
// the lease is still its own: its release is in flight (releaseLeaseLater),
// or failed without reaching the backend (releaseUnmade), until the lease
// ends; or set the "not stored" mark, until the mark ends (endLease;
// heldLease.mark: read before an Add, never taken: acquireLease,
// Cache.takeOver). A leader of this process whose Add finds the key's lease held
// takes such a lease as its own (take; Cache.takeOver sets it for a whole
// d again) rather than wait for it as for
// another process's run, which nobody runs: the lease has not ended, so no
// other process can hold the key's lease; a waiter of this process that
// reads it held (acquireLease) stops waiting, and adds it so. A lease whose Add may not have
// been made (heldLease.unsure) is never kept, nor one whose Add came
// before or while a Clear of this Cache ran (heldLease.uncleared), which
// may have deleted it.
// Two cases remain, as they do for the release itself (releaseLease): the
// backend lost the lease otherwise (a restart, an eviction, another
// process's Clear) and another process took it since; and a lease on
// memcached, which may end up to a second before its end here.
// Then both processes run the work, as under a holder past its lease.
type ownedLeases struct {
	mu    sync.Mutex
	m     map[string]*ownedLease // by lease key
	kept  list.List              // the kept leases of m (done nil, not marks), the first kept first
	marks list.List              // the kept marks of m (heldLease.mark), the first kept first
}

// ownedLease is a lease of ownedLeases: done, when not nil, is closed
// once its release in flight returned (marks: that release sets the "not
// stored" mark); else it is kept, at elem in ownedLeases.kept
// (ownedLeases.marks for a mark: ownedLeases.list).
type ownedLease struct {
	l     *heldLease
	done  chan struct{}
	marks bool
	elem  *list.Element
}

// releasing records that l's release is in flight; stored is the
// release's (releaseLease): false, it sets the mark.
func (o *ownedLeases) releasing(l *heldLease, stored bool) *ownedLease {
	r := &ownedLease{l: l, done: make(chan struct{}), marks: !stored}
	o.mu.Lock()
	o.put(r)
	o.mu.Unlock()
	return r
}

// released records that the release of l (r, when it was recorded as in
// flight) returned; keep, when not nil, is what is still this process's
// under its key (endLease): l, its release failed without reaching the
// backend before the lease ended, or the "not stored" mark it set.
func (o *ownedLeases) released(l *heldLease, r *ownedLease, keep *heldLease) {
	if r == nil && keep == nil {
		return // the common case: no lock
	}
	o.mu.Lock()
	if r != nil && o.m[l.key] == r {
		o.drop(l.key)
	}
	if keep != nil {
		o.put(&ownedLease{l: keep})
	}
	o.mu.Unlock()
	if r != nil {
		close(r.done) // after the kept lease is recorded: take finds it
	}
}

// put records r, in place of any lease of its key; o.mu is held. A kept
// lease (or mark) past maxOwnedLeases drops the lease (mark) kept first.
func (o *ownedLeases) put(r *ownedLease) {
	if o.m == nil {
		o.m = make(map[string]*ownedLease)
	}
	o.drop(r.l.key)
	if r.done == nil {
		l := o.list(r)
		if l.Len() >= maxOwnedLeases {
			o.drop(l.Front().Value.(*ownedLease).l.key)
		}
		r.elem = l.PushBack(r)
	}
	o.m[r.l.key] = r
}

// list is the list r is kept in: marks for a mark, kept for a lease.
func (o *ownedLeases) list(r *ownedLease) *list.List {
	if r.l.mark {
		return &o.marks
	}
	return &o.kept
}

// drop removes the lease lk, if any; o.mu is held.
func (o *ownedLeases) drop(lk string) {
	if r := o.m[lk]; r != nil {
		delete(o.m, lk)
		if r.elem != nil {
			o.list(r).Remove(r.elem)
		}
	}
}

// ownedFind is what ownedLeases.take found of this process's under a lease
// key that an Add found held.
type ownedFind uint8

const (
	// ownedNone: nothing of this process's (none kept, or the one kept
	// ended, ends within its margin, or may have been cleared): the lease
	// is another process's, to wait for.
	ownedNone ownedFind = iota
	// ownedAgain: its release was in flight, and returned: the caller
	// adds the lease again (and takes it if the release failed without
	// reaching the backend).
	ownedAgain
	// ownedTaken: this process's lease, taken from ownedLeases for the
	// caller to lead under.
	ownedTaken
	// ownedMark: this process's "not stored" mark, alive
	// (heldLease.mark): kept, not taken.
	ownedMark
	// ownedMarking: its release in flight sets the "not stored" mark
	// (ownedLease.marks), not waited for by a caller with a stale entry
	// to serve, which serves it, as it does on the mark.
	ownedMarking
)

// take reports what of this process's is under lk, found held by an Add:
// its lease, which it returns for a leader to take as its own; its "not
// stored" mark while it lives, which it returns kept; a release in flight,
// which it waits for (for at most the Cache's Timeout, which bounds that
// call; ownedAgain), but for a release that sets the mark when hasStale
// (ownedMarking: the caller has a stale entry to serve, and would serve it
// after that release too); or nothing (ownedNone, also when ctx ends
// while it waits). onMarking (nil: none) is called before the wait for a
// release that sets the mark (a memoized caller's stale result: see
// memoStale.serve).
//
// clears is the store's count of Clears now: a lease kept that a Clear
// may have deleted (heldLease.uncleared) is dropped, not taken.
func (o *ownedLeases) take(ctx context.Context, lk string, clears uint64, hasStale bool, onMarking func()) (l *heldLease, found ownedFind) {
	o.mu.Lock()
	r := o.m[lk]
	if r == nil {
		o.mu.Unlock()
		return nil, ownedNone
	}
	if r.done != nil {
		o.mu.Unlock()
		if hasStale && r.marks {
			return nil, ownedMarking
		}
		if onMarking != nil && r.marks {
			onMarking()
		}
		select {
		case <-r.done:
			return nil, ownedAgain
		case <-ctx.Done():
			return nil, ownedNone
		}
	}
	if r.l.mark && r.kept(clears) {
		o.mu.Unlock()
		return r.l, ownedMark // kept while it lives: not taken (Cache.takeOver)
	}
	o.drop(lk)
	o.mu.Unlock()
	if !r.kept(clears) {
		return nil, ownedNone // ended, about to, or cleared: as another process's
	}
	// The lease as its Add made it: its end, not a new one; this run's own
	// result decides how it is released.
	return &heldLease{key: r.l.key, d: r.l.d, end: r.l.end, margin: r.l.margin, cleared: r.l.cleared}, ownedTaken
}

// settle waits for the release of lk in flight, if any (for at most the
// Cache's Timeout, which bounds that call), or for ctx to end; but where
// skipMarking and that release sets the "not stored" mark, it waits for
// nothing and reports false (as take's ownedMarking: the caller serves
// its stale entry). onMarking (nil: none) is called before the wait for
// a release that sets the mark, as in take.
func (o *ownedLeases) settle(ctx context.Context, lk string, skipMarking bool, onMarking func()) bool {
	o.mu.Lock()
	r := o.m[lk]
	o.mu.Unlock()
	if r == nil || r.done == nil {
		return true
	}
	if skipMarking && r.marks {
		return false
	}
	if onMarking != nil && r.marks {
		onMarking()
	}
	select {
	case <-r.done:
	case <-ctx.Done():
	}
	return true
}

// marking reports whether a release of lk is in flight that sets the
// "not stored" mark (acquireLease, Memoized.leaseHeld).
func (o *ownedLeases) marking(lk string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.m[lk]
	return r != nil && r.done != nil && r.marks
}

// liveMark returns this process's "not stored" mark lk (heldLease.mark),
// kept while it lives (as kept tells it; clears is the store's count of
// Clears now), or nil: a leader reads the lease under it rather than add
// it (acquireLease).
func (o *ownedLeases) liveMark(lk string, clears uint64) *heldLease {
	o.mu.Lock()
	defer o.mu.Unlock()
	if r := o.m[lk]; r != nil && r.done == nil && r.l.mark && r.kept(clears) {
		return r.l
	}
	return nil
}

// forgetMark drops mark, a "not stored" mark of this process kept, once
// it is found ended (acquireLease).
func (o *ownedLeases) forgetMark(mark *heldLease) {
	o.mu.Lock()
	if r := o.m[mark.key]; r != nil && r.l == mark {
		o.drop(mark.key)
	}
	o.mu.Unlock()
}

// forget drops lk, a lease that this process just added: the one it kept
// under that key ended, or the backend lost it.
func (o *ownedLeases) forget(lk string) {
	o.mu.Lock()
	o.drop(lk)
	o.mu.Unlock()
}

// has reports whether lk is surely a lease of this process: in release, or
// kept and not ended (as take tells it; one that ended stays kept until
// then); no Clear may have deleted it (heldLease.uncleared; clears is the
// store's count of them now). A release in flight of a lease whose Add may not have been made
// (heldLease.unsure) is not: the lease under the key may be another
// process's, which a memoized call with a stale result is to serve it
// rather than wait for (Memoized.leaseHeld).
func (o *ownedLeases) has(lk string, clears uint64) bool {
	o.mu.Lock()
	r := o.m[lk]
	o.mu.Unlock()
	return r != nil && !r.l.unsure && !r.l.mark && (r.done != nil && r.l.uncleared(clears) || r.kept(clears))
}

// kept reports whether r, a lease kept after its release failed, is still
// this process's: it has not ended (nor ends within its release's margin),
// and no Clear may have deleted it (heldLease.uncleared; clears is the
// store's count of them now).
func (r *ownedLease) kept(clears uint64) bool {
	return r.l.uncleared(clears) && boottime.Until(r.l.end) > r.l.margin
}

// awaitLease is the lease of a view's miss, for the leader of this
// process's flight: it reports whether r was answered (from another
// process's run, a stale entry, or as view.ended says when its context
// ended while it waited); otherwise the handler is to run, with the lease
// when this process took it.
func (v *view) awaitLease(w http.ResponseWriter, hr *http.Request, st *runState, call *viewCall) bool {
	r := st.client(hr) // hr is the request the handler is to get (SharedCache)
	var again found
	// st.f is what the miss found (check changes its key). A waiter of
	// this process moved to its variant's key (view.miss) keeps the entry
	// its miss found, marked under the key it was read from: marked under
	// the variant's, the entry its miss refused, still under the base key,
	// would count as stored since, and answer it.
	from := st.f.key
	if st.f.from != "" {
		from = st.f.from
	}
	seen := markOf(from, st.f.e, nil)
	// The Vary record, read from a near cache or kept there, may be behind
	// the remote one too (entryMark).
	seen.near = seen.near || st.f.spec != nil && v.c.store.near != nil
	var last entryMark // what the last look found (leaseLead: under the lease)
	check := func(_ context.Context, since entryMark) leaseLook {
		// Past the near cache (acquireLease): the base key's copy, which
		// may be a Vary record that does not list r's variant yet, or the
		// entry of a page not known to vary; and the variant's entry.
		v.c.store.dropNear(st.base, st.f.key)
		now := v.c.clock()
		f, err := v.find(r, st.base, &now)
		if f.spec != nil {
			// The entry varies: its key is the variant's, for the lease
			// (keyNow) and the flight as for a lookup that found the
			// record.
			st.f.spec, st.f.key, st.f.variant = f.spec, f.key, f.variant
		}
		// As lead's own check: an entry this request may not reuse (a
		// SharedCache response not shareable with its Authorization) is
		// not an answer, however fresh.
		last = markOf(f.key, f.e, err)
		if err != nil || !v.usable(r, f.snap) {
			return lookNone
		}
		if f.fresh {
			again = f
			return lookFound
		}
		if !markOf(f.key, f.e, err).storedSince(since) {
			return lookNone
		}
		// Stored by the run this request waited for (or another since),
		// and no longer fresh: its TTL ended, or StaleIf declared it
		// stale, before this process read it. A waiter of that run in its
		// own process would have been handed it (viewCall.wait), unless
		// its response was stale by then in a SharedCache view (expires:
		// its freshness is its HTTP freshness, StaleIf aside), or the
		// request's own directives refuse a stale response (freshOnly).
		// Such a request runs its own handler, as that waiter does: the
		// run it waited for made no answer for it. An in-process entry's
		// freshness is the time since its write (entry.clockAt), not the
		// wall clock, which may have been stepped back since.
		if st.freshOnly || v.sh != nil && f.e.FreshUntil != 0 && f.e.clockAt(now) >= f.e.FreshUntil {
			return lookOther
		}
		again, again.late = f, true
		return lookFound
	}
	// The lease is the entry's, as the flight is: a variant's key once the
	// Vary record is known, so that a variant never waits for another's run.
	// A stale entry that the request's own directives let answer only a
	// failure of its handler is no answer while a run is in progress
	// elsewhere: the request waits for the lease as one without it does.
	l, out := v.c.acquireLease(r.Context(), st.f.key, v.lease, st.stale != nil && !st.staleOnError, nil, seen, check,
		func() string { return st.f.key })
	switch out {
	case leaseFound:
		res := again.result()
		// Taken no longer fresh (check): not for a waiter whose own
		// directives refuse a stale response (freshOnly).
		res.late = again.late
		v.flight.release(call, res)
		v.serve(w, r, again.snap, v.c.clock(), httpcache.Hit)
		return true
	case leaseStale:
		sf := st.stale
		res := sf.result()
		res.stale = true
		v.flight.release(call, res)
		v.serve(w, r, sf.snap, v.c.clock(), httpcache.Stale)
		return true
	case leaseGone:
		// Its context ended: the waiters of this process wait for a new
		// leader, and r is answered as view.ended says (nothing when its
		// client left, the handler's answer, not stored, past a deadline).
		v.flight.release(call, viewResult{retry: true})
		v.ended(w, hr, st)
		return true
	case leaseLead:
		// A stored response deletes the lease; a client that left hands it
		// on; any other result marks it "not stored". A retry's hand-on is
		// made before its waiters wake (viewCall.finish): one of them
		// leads next, under the lease. Any other release comes after they
		// woke, and after the response was stored: off the request's path.
		// The release is recorded as in flight while the call leaves the
		// flight (viewCall.releasing): the key's next leader in this
		// process, which may come before after runs, waits for it.
		var rec *ownedLease
		call.releasing = func() { rec = v.c.owned.releasing(l, call.res.stored()) } // after's res
		call.after = func(res viewResult) {
			if res.retry {
				v.c.releaseLease(l, true)
				return
			}
			v.c.releaseRecorded(l, rec, res.stored())
		}
		call.lease, call.leaseSeen = l, last
	}
	return false
}

// newerSinceLease reports whether the run of st, leading a flight under a
// lease it took (awaitLease), finds an entry for r's key stored since its
// last look under the lease, which its older response must not replace,
// nor delete (as a run taken over in its own process, viewFlight.commit):
// another process's RefreshIf request or Warm made while the handler ran
// (they take no lease), or, past the lease's time, another process's run
// under a later lease (one that found the lease expired while it waited,
// or came after it expired) that ended first. A run past its lease that finds nothing new
// stores its response, also while another process holds the key's lease:
// that process's run then finds this entry and keeps it, its own newer
// response going to its own clients only. The page may be older by up to
// a run than it would be had this run stood aside; standing aside, a
// handler slower than the lease, its requests spaced so that each comes
// while the last run goes on, past its lease, had the page never stored,
// every request running the handler, for as long as requests came. The
// lease promises one run per key and a response no older than the look;
// without the look, a run that ends within its lease would store the
// response it began before that write over it.
//
// The look is made once per run, at its first write or delete (store,
// commit), its answer kept in the call: every run under a lease that
// writes pays one lookup (a hit pays nothing). A look that fails tells
// nothing: the run writes as before. The look and the write are two calls,
// not one atomic compare: a write that lands between them is still
// replaced, as without a lease. An overrun run releases its waiters for a
// retry (view.run, settle304): the one that leads finds that entry, or
// waits for the lease, under it.
func (v *view) newerSinceLease(r *http.Request, st *runState) bool {
	c := st.call
	if c == nil || c.lease == nil {
		return false
	}
	if !c.leaseLooked {
		c.leaseLooked = true
		c.leaseNewer = v.storedSinceLease(r, st, c)
	}
	return c.leaseNewer
}

// storedSinceLease is newerSinceLease's look, for the run of st leading c.
func (v *view) storedSinceLease(r *http.Request, st *runState, c *viewCall) bool {
	ctx := context.WithoutCancel(r.Context()) // the response is sent: see storeNow
	v.c.store.dropNear(st.base, st.f.key)     // the other process's entry is remote
	now := v.c.clock()
	f, err := v.find(r.WithContext(ctx), st.base, &now)
	return markOf(f.key, f.e, err).storedSince(c.leaseSeen)
}

// computeLeased is compute behind the lease, for the leader of this
// process's singleflight, whose lookup found seen (acquireLease). peer is
// set when the result came from another process's run. stale is the
// leader's stale result's part (nil: it has none).
func (m *Memoized[A, R]) computeLeased(ctx context.Context, key string, arg ownedArg[A], seen entryMark, peer *atomic.Bool, stale *memoStale) (R, error) {
	var (
		got   R
		found *entry    // got's entry, whose versions the joined callers check
		last  entryMark // what the last look found (leaseLead: under the lease)
	)
	check := func(ctx context.Context, since entryMark) leaseLook {
		tags, _ := m.argTagKeys(&arg)
		m.c.store.dropNear(key) // past the near cache (acquireLease)
		e, err := m.lookup(ctx, key, tags)
		last = markOf(key, e, err)
		if err != nil {
			return lookNone
		}
		// A result stored by the computation this caller waited for (or
		// another since) answers it however stale it is by now (its TTL
		// ended, or StaleIf declares it stale), as that computation's
		// result answers the callers that joined it in its process.
		late := markOf(key, e, nil).storedSince(since)
		if !late && !m.c.store.fresh(e, time.Time{}) {
			return lookNone
		}
		v, err := decodeValueOf[R](m.c, e, nil, key)
		if err != nil || !late && m.staleIf != nil && m.staleIf(v) {
			return lookNone
		}
		got, found = v, e
		return lookFound
	}
	l, out := m.c.acquireLease(ctx, key, m.lease, false, stale, seen, check, nil)
	switch out {
	case leaseFound:
		peer.Store(true)
		// The entry was current when check read it; an invalidation in
		// another process since then is seen by the callers that join
		// later only through its versions (doSince).
		if out, _ := ctx.Value(flightOutKey{}).(*flightOut); out != nil {
			out.vs = found.versions()
			if m.c.store.local == nil {
				out.payload = found.Payload // for the joined callers to decode
			}
		}
		return got, nil
	case leaseGone:
		// The flight cancelled the work: nobody waits for it.
		var zero R
		return zero, ctx.Err()
	case leaseLead:
		stored := false
		defer func() { m.c.releaseLeaseLater(l, stored) }() // a panic included
		// A result that is not stored marks the lease, as an error does:
		// one not to be stored (StoreIf, SkipZero, a negative ResultTTL),
		// and one that could not be (the codec or the backend refused it).
		// Work the flight cancelled (nobody in this process waits for it)
		// hands the lease on instead, as a view whose client left does:
		// its error says nothing of the result, and one of the other
		// processes' waiters is to run it while the others wait.
		v, ok, err := m.computeStored(ctx, key, arg, computeMissChecked, &memoLease{held: l, seen: last})
		stored = ok || ctx.Err() != nil
		if out, _ := ctx.Value(flightOutKey{}).(*flightOut); out != nil && out.outlived {
			l.short = true
		}
		return v, err
	}
	return m.compute(ctx, key, arg, computeMissChecked)
}

// memoStale is a memoized call's stale result (StaleIfError) in the run
// under the lease that it leads (computeLeased), which callers without
// one may have joined: the run's answer to them is the function's result,
// or the entry of another process's run, as for any caller; its answer
// to this caller may be the stale result at once.
type memoStale struct {
	// serve has the caller serve its stale result now, and leave the run
	// to the callers that joined it (Memoized.Get): acquireLease calls it
	// where it finds this process's release of the key in flight that
	// sets the "not stored" mark, or the lease held elsewhere (another
	// process took it since the caller's look), as Memoized.leaseHeld
	// serves it on either found before the run, and then waits for that
	// release or that lease as for a caller without one. A run nobody
	// waits for any more goes on as such a run does (flight.Group).
	serve func()
	// look is the caller's read of this process's own live "not stored"
	// mark of the key, before its run (Memoized.leaseHeld).
	look ownMarkRead
}

// ownMarkRead is a read of the lease under this process's own live "not
// stored" mark (ownedLeases.liveMark): mark, the mark kept then (nil: no
// read), and marked, whether the lease still was (else it was free; a
// lease held, or a read that failed, is not kept), read at at.
type ownMarkRead struct {
	mark   *heldLease
	marked bool
	at     time.Time
}

// ownRead returns, with ok, what the caller's look read under mark (s
// nil: no caller with a stale result), this process's own live mark that
// acquireLease finds kept at the start of a run: marked, else free; the
// look is then forgotten (a look after it reads again). ok is false, and
// the lease is to be read, where the look read none, or another mark (one
// set since), or is older than a round trip: the run began later than at
// once (its caller joined a computation of the key that ended without a
// result for it, doSinceRejoining, or one found overdue and took its
// place, flight.Group.DoBounded). Taken, the look stands for the read the run
// makes at once after it, which would find what it found but for a mark
// that ended early between the two (as one may between that read and the
// Add after it).
func (s *memoStale) ownRead(mark *heldLease) (marked, ok bool) {
	if s == nil {
		return false, false
	}
	r := s.look
	s.look = ownMarkRead{}
	if r.mark == nil || r.mark != mark || time.Since(r.at) > leaseRoundTrips {
		return false, false
	}
	return r.marked, true
}

// memoLease is the lease a memoized computation runs under (computeLeased):
// held, the lease it took, and seen, the mark of what its last look under
// the lease found (Memoized.storedSinceLease).
type memoLease struct {
	held *heldLease
	seen entryMark
}

// storedSinceLease reports whether a computation of key under lease (nil:
// none) finds an entry for key stored since its last look under the lease,
// which its older result must not replace: another process's Set or
// Refresh made while fn ran (they take no lease), or, past the lease's
// time, another process's computation under a later lease that ended
// first (as view.newerSinceLease). A holder past its lease that finds nothing
// new stores its result, also while another process holds the key's
// lease: that computation then finds it and keeps it, its own newer result
// going to its own callers only; standing aside instead, a function slower
// than its lease, called at spaced intervals, was never stored. The lease
// promises one computation per key and a result no older than the look;
// without it, a holder that ends within its lease would store the result
// it began before that write over it. tags are key's tag keys, epoch the
// computation's: one that a Refresh or forced Get made from within it
// lifted (supersedeWithin) looks nothing up, and stores after that call's
// write, its result holding that one's. A look that fails tells nothing:
// the result is stored as before. Every computation under a lease that
// stores pays this one look (a hit pays nothing). The look and the write
// are two calls, not one atomic compare: a write that lands between them
// is still replaced, as without a lease.
func (m *Memoized[A, R]) storedSinceLease(ctx context.Context, key string, tags []string, lease *memoLease, epoch *memoEpoch) bool {
	if lease == nil || lease.held == nil || m.shared.liftedWithin(epoch) {
		return false
	}
	m.c.store.dropNear(key) // the other process's entry is remote
	e, err := m.lookup(ctx, key, tags)
	return markOf(key, e, err).storedSince(lease.seen)
}

// leaseHeld reports whether another process holds key's lease: a caller
// with a stale result serves it rather than wait. So does one whose own
// process is releasing the lease as "not stored" (ownedLeases.marking):
// the computation under it just failed, and another process's caller
// reads the lease still held meanwhile; leading, the caller would wait
// for that release (up to the Cache's Timeout) before it called the
// function again. A view's request with a stale entry does the same
// (acquireLease), and so does the caller's run, on such a release begun
// since this look, or on a lease another process took since (memoStale).
// Once the mark is set, the caller reads it, as another
// process's does, as no lease held: it calls the function, without the
// lease, and serves its stale result only if that fails (where a view's
// request serves its stale entry on the mark).
//
// look is its read of the lease under this process's own live mark,
// which is free or still marked (else none): the run the caller leads at
// once after it takes it for its own look at that mark (memoStale.look),
// rather than read the lease a second time.
func (m *Memoized[A, R]) leaseHeld(ctx context.Context, key string) (held bool, look ownMarkRead) {
	lk := m.c.leaseKey(key)
	if m.c.owned.marking(lk) {
		return true, look
	}
	clears := m.c.store.clears.Load()
	if m.c.owned.has(lk, clears) {
		return false, look // this process's: its caller leads (ownedLeases)
	}
	mark := m.c.owned.liveMark(lk, clears)
	held, marked, err := m.c.readLease(ctx, lk)
	if mark != nil && err == nil && !held {
		look = ownMarkRead{mark: mark, marked: marked, at: time.Now()}
	}
	return err == nil && held, look
}
