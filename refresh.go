package caching

import (
	"context"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-caching/caching/internal/boottime"
	"github.com/go-caching/caching/internal/httpcache"
)

// RefreshAhead refreshes an entry before it expires: a hit on an entry
// within d of the end of its TTL is served at once, as any hit, and starts
// one background run of the handler or function that replaces the entry, so
// that a key asked for often never expires in front of a caller. One refresh
// runs per key at a time, and at most 8 per view (per route of a CachedMux)
// or memoized function, less the overdue ones (a hit that finds them all
// busy starts none; see StaleWhileRevalidate); each is counted in
// Stats.AheadRefreshes if it runs (see there). The refresh runs with the values of the request's or
// call's context but not its cancellation, and ends when the Cache is
// closed (see Cache.Close). A memoized function's refresh joins a
// computation in flight only if it began after the entry was stored, as
// StaleWhileRevalidate's does; a view's runs nothing when the entry was
// stored again since the hit read it, as StaleWhileRevalidate's. It works
// on every backend. A memoized function's refresh computes for a copy of
// the argument made before the hit that starts it returns: the caller may
// reuse its argument at once (see Memoize), except under KeyFunc, where
// the refresh uses the argument as given.
//
// d should be well under the TTL: an entry is refreshed at most once per
// TTL minus d, and never before a quarter of its lifetime (from when it
// was stored to the end of its freshness) has passed: an entry that lives
// d or less (a TTL at or under d; in a SharedCache view, a response whose
// max-age less its Age is) is refreshed once, a quarter of its lifetime
// after it was stored, rather than by every hit, each of which would run
// the handler or function again. A zero d (the default) turns it off; a
// negative one is an error. Entries that never expire are never refreshed ahead. In a
// SharedCache view the end of an entry's freshness lifetime (RFC 9111) is
// its end, and the refresh is a conditional request whose response is
// stored, or freshens the entry, under RFC 9111's rules.
//
// A refresh that renews nothing holds off the next RefreshAhead refresh of
// its entry for d/4, at most a second and at most a quarter of the
// entry's lifetime (so that a newer entry is not held off past its own due
// time), so that a failing handler or function runs
// once per backoff, not at the rate of the hits within d. The backoff is a
// timer on the real clock (hits pay nothing for it), not Options.Clock: a
// test that moves that clock by hand does not end it. It renews nothing when the handler or function
// fails (an error, a status the view does not store, a panic) or its result
// is not stored (StoreIf, MaxBodySize, a response private or with a
// Set-Cookie, a backend that refuses the write or is down). Storing its
// result (even one too short-lived for a Lease's waiters to read), a 304 that freshens the entry (SharedCache), or finding a newer
// entry stored renews it: no backoff follows; a refresh that ran nothing
// (a view's that another process's Lease kept from running, an entry
// stored again since the hit: a memoized function's refresh takes no
// lease) holds nothing off, and leaves a backoff whose place it took as it
// was. One that took a backoff's place (an older entry's, near its end,
// which the backoff let through) and renews nothing holds off its own
// entry's, and what that backoff held off until it would have ended (the newest maxAheadHolds at most). A
// memoized result StoreIf refuses removes the entry, as Refresh's does:
// the next call computes it as a miss. A memoized function's refresh that
// joins a Get's computation of its argument (a miss, begun since the entry
// was stored) counts only that computation's error: one whose result is
// not stored (StoreIf, a backend that refuses the write or is down)
// renews nothing, but holds nothing off and ends a backoff whose place it
// took; the entry stays (a miss's result not stored removes nothing): its
// next due hit may run the function once more. A stale entry's refresh
// (StaleWhileRevalidate, StaleIf) is not held off: it takes the backoff's
// place, and ends it only if it renews the entry, or joined such a Get's
// computation that returned a result (one that otherwise renews nothing
// leaves the backoff as it was). A view's refresh keeps the client's
// RemoteAddr, as its Cookie: it makes the response of the request whose
// key it refreshes (see README, "Background work").
func RefreshAhead(d time.Duration) Option {
	return commonOption(func(c *commonConfig) { c.ahead = d })
}

// StaleIf lets a view or a memoized function declare a stored result stale
// before its TTL ends (Flask-Caching's is_stale): on a hit, stale(r) is
// called with the stored result, and when it reports true the entry is
// treated as one past its TTL. It is then served while one background call
// refreshes it where StaleWhileRevalidate allows, and otherwise computed
// again (served stale only if that fails, where StaleIfError allows). Those
// windows end where they would past its TTL; for an entry that never
// expires (Forever), they never end. For a
// view, R is *Response (with Age set; its Header and Body must not be
// modified); for a memoized function, R is its result type. Peek's fresh
// report follows it. Default: a result is fresh for its TTL.
func StaleIf[R any](stale func(r R) bool) Option {
	return commonOption(func(c *commonConfig) { c.staleIf = stale })
}

// pastFresh is how long past the end of its freshness the entry e is at
// now (Unix nanoseconds, as e.clockAt counts them for e: for an entry of
// an in-process store, the time elapsed since its write), to be compared
// with the stale windows
// (StaleWhileRevalidate, StaleIfError): negative for an entry StaleIf
// declared stale before its TTL ended, and 0 for one that never expires
// (TTL Forever: FreshUntil 0), which only StaleIf makes stale: it became
// stale now, and is within every window.
func pastFresh(e *entry, now int64) time.Duration {
	if e.FreshUntil == 0 {
		return 0
	}
	return time.Duration(now - e.FreshUntil)
}

// refreshAhead starts a background refresh of key's entry e, just served as
// a hit, when e ends within RefreshAhead. key is made a string only for a
// refresh that may start (refreshInBackground): a hit that starts nothing
// allocates nothing.
func (m *Memoized[A, R]) refreshAhead(ctx context.Context, key []byte, a A, e *entry) {
	if now := e.clockAt(m.c.clock()); aheadDue(e, m.ahead, now) {
		m.refreshInBackground(ctx, key, a, e, true, now) // counted as it runs
	}
}

// refreshAhead starts a background refresh of the entry f, just served to r
// as a hit at now, when it ends within RefreshAhead.
func (v *view) refreshAhead(w http.ResponseWriter, r *http.Request, base string, ttl time.Duration, f *found, now time.Time) {
	if at := f.e.clockAt(now); aheadDue(f.e, v.cfg.ahead, at) && v.refreshable(r, f.spec.namesOrNil()) {
		v.revalidate(w, r, base, ttl, f.spec.namesOrNil(), f.e, true, at) // counted as it runs
	}
}

// aheadDue reports whether the entry e, a hit at now (Unix nanoseconds, as
// e.clockAt counts them for e), is
// due for a refresh of RefreshAhead(d): within d of the end of its
// freshness, and past the first quarter of its lifetime (Created to
// FreshUntil), so that an entry that lives d or less, whose every hit would
// be within d, is refreshed once per three quarters of its lifetime, not
// by every hit. An entry that never expires never is.
func aheadDue(e *entry, d time.Duration, now int64) bool {
	if e.FreshUntil == 0 {
		return false
	}
	life := e.FreshUntil - e.Created
	return now >= e.FreshUntil-min(int64(d), life-life/4)
}

// response is the stored response snap as StaleIf and Peek see it, at now.
func response(snap *httpcache.Snapshot, now time.Time) *Response {
	return &Response{Status: snap.Status, Header: snap.Header, Body: snap.Body, Age: max(0, boottime.Elapsed(snap.StoredAt, now))}
}

// varyDropped reports whether names, the Vary names of r's entry, name a
// field of r that a background refresh runs without (backgroundRequest:
// clientOnlyFields, and Proxy-Authorization where credentials are left
// out), in any spelling. The refresh would make the response to a request
// without it, stored under that request's variant, and leave r's own
// variant as it was: every hit of it within RefreshAhead, or stale, would
// start one more run of the handler for a variant no client asked for.
// Such a request starts no refresh (refreshable).
func (v *view) varyDropped(r *http.Request, names []string) bool {
	for _, name := range names {
		// A Vary name spelled with '_' ("Cache_Control") keys the field's
		// hyphenated spelling too (httpcache.VariantKey).
		name = strings.ReplaceAll(name, "_", "-")
		i := slices.IndexFunc(clientOnlyFields[:], func(f string) bool { return strings.EqualFold(f, name) })
		field := "Proxy-Authorization"
		switch {
		case i >= 0:
			field = clientOnlyFields[i]
		case !strings.EqualFold(name, field) || !v.dropsCredentials():
			continue
		}
		if _, ok := r.Header[field]; ok || httpcache.HasField(r.Header, field) {
			return true
		}
	}
	return false
}

// maxAheadBackoff bounds how long a failed refresh of RefreshAhead's holds
// off the next refresh of its key (aheadBackoff).
const maxAheadBackoff = time.Second

// aheadBackoff is how long a refresh of RefreshAhead(d)'s that renewed
// nothing (the handler or function failed, or its result was not stored)
// holds off the next RefreshAhead refresh of its key: a quarter of d, at
// most maxAheadBackoff. Each hit within d would otherwise run the handler
// or function again at once, at the rate of the hits: the load a failing
// origin must not get from a cache. A quarter of d, which should be well
// under the TTL, ends before a newer entry of the same TTL is due for its
// own refresh (aheadDue: not before a quarter of its lifetime).
func aheadBackoff(d time.Duration) time.Duration { return min(maxAheadBackoff, d/4) }

// aheadHoldFor is aheadBackoff(d) for a refresh of the entry e (a memoized
// function's or a view's), at most a quarter of e's lifetime (Created to
// FreshUntil): an entry of the same lifetime stored after the hold began
// (a miss's, once e expired) is not due before a quarter of its lifetime
// (aheadDue), and the hold ends first. Without the bound a d over the TTL
// (d/4 over a quarter of it), under a TTL of 4 s, held such an entry's
// refresh off past its due time, and it expired in front of a caller.
func aheadHoldFor(d time.Duration, e *entry) time.Duration {
	b := aheadBackoff(d)
	if e.FreshUntil == 0 {
		return b
	}
	return min(b, time.Duration((e.FreshUntil-e.Created)/4))
}

// aheadAim is the entry a refresh of RefreshAhead's refreshes, as the hit
// that asked for it read it, for a hold to judge (aheadHold.keepsOff).
type aheadAim struct {
	created, freshUntil int64         // the entry's Created and FreshUntil
	left                time.Duration // how long it stays fresh, from the hit on
}

// aimAt is the aheadAim of the entry e, a hit at now (e.clockAt).
func aimAt(e *entry, now int64) aheadAim {
	a := aheadAim{created: e.Created, freshUntil: e.FreshUntil, left: math.MaxInt64}
	if e.FreshUntil != 0 {
		a.left = time.Duration(e.FreshUntil - now)
	}
	return a
}

// aheadHold is a hold that a refresh of RefreshAhead's that renewed
// nothing puts on its key, for aheadHoldFor (holdAhead): no RefreshAhead
// refresh of the entry it refreshed starts while it is there (keepsOff).
// A view's refreshing map holds a *aheadHold, compared by identity; a
// memoized function's refreshMark holds one.
type aheadHold struct {
	// of and until are the Created and FreshUntil of the entry whose
	// refresh failed: together, that entry as any process reads it again.
	of, until int64
	// end is when the hold ends, as time.Since(monoBase): the monotonic
	// clock, which no step of the wall clock moves.
	end time.Duration
	// also is the hold that the failed refresh took the place of (one
	// that let it through: keepsOff), while it lasts: it keeps off what
	// it kept off until its own end, as it would have had that refresh
	// not run. Without it, a failed refresh of an older entry near its
	// end left the newer entry whose refresh had failed free to run the
	// failing origin again within its hold. Never changed once the hold
	// is made, as it is read without a lock. A chain holds at most
	// maxAheadHolds holds (newAheadHold).
	also *aheadHold
	// last is the latest end of h and also's: the hold is over then
	// (over), and its timer removes it.
	last time.Duration
}

// maxAheadHolds is how many holds a chain (aheadHold.also) keeps at most,
// the newest: each is of a distinct entry (a hold keeps off its own) whose
// refresh ran and failed within the last hold's length (at most
// maxAheadBackoff), one refresh of a key at a time. Without a bound, a key
// read through replicas or near caches that return many versions of it, of
// a fast-failing origin, grew a chain of as many holds, kept in memory and
// walked by each due hit's keepsOff. A hold dropped for the bound costs at
// most one more run of the origin for its entry, whose failure holds it
// again.
const maxAheadHolds = 8

// newAheadHold is the hold, for d, of a failed refresh of the entry a,
// which took the place of the hold displaced (nil: none), and keeps the
// newest maxAheadHolds-1 of the holds still running in displaced's chain.
func newAheadHold(a aheadAim, d time.Duration, displaced *aheadHold) aheadHold {
	now := time.Since(monoBase)
	h := aheadHold{of: a.created, until: a.freshUntil, end: now + d, last: now + d}
	if h.also = displaced.live(now, maxAheadHolds-1); h.also != nil {
		h.last = max(h.last, h.also.last)
	}
	return h
}

// live is h and the holds it keeps (also) less those ended by now, and
// less those past the first n left: nil if none is left. A hold with
// holds dropped under it is copied without them, and h itself is left as
// it is (read without a lock): a chain of holds, each a failed refresh
// that took the last one's place, keeps no more than the newest n holds
// still running.
func (h *aheadHold) live(now time.Duration, n int) *aheadHold {
	for h != nil && h.end <= now {
		h = h.also
	}
	if h == nil || n <= 0 {
		return nil
	}
	rest := h.also.live(now, n-1)
	if rest == h.also {
		return h
	}
	c := *h
	c.also, c.last = rest, c.end
	if rest != nil {
		c.last = max(c.last, rest.last)
	}
	return &c
}

// keepsOff reports whether h, or a hold it took the place of (also),
// keeps off the RefreshAhead refresh of the entry a (keepsOne), each
// until its own end.
func (h *aheadHold) keepsOff(a aheadAim) bool {
	now := time.Since(monoBase)
	for ; h != nil; h = h.also {
		if left := h.end - now; left > 0 && h.keepsOne(a, left) {
			return true
		}
	}
	return false
}

// keepsOne reports whether h alone, which lasts for left more, keeps off
// the RefreshAhead refresh of the entry a: the entry whose refresh failed,
// and one stored before it (by the Created of the two) that stays fresh
// past the hold; not one stored after it (a miss's, once that one
// expired), which a run of the origin just made, nor one that would
// expire, unrefreshed, within the hold.
//
// Created alone cannot tell an older entry from a newer one: it is the
// writer's wall clock, which may have been stepped back since the failed
// entry was stored, or be another process's that is behind, and a newer
// entry may carry an earlier Created. Kept off by "stored at or before the
// failed one", such an entry, given a life under the hold (an origin's
// max-age cut below a second, a short ResultTTL), expired in front of a
// client. Keeping off the failed entry alone (its Created and FreshUntil,
// as identity) would let through an entry older than it, read again from
// a replica that lags or a near cache: each hit on it would run the
// failing origin once more, and each failure's hold, of that entry, would
// let the failed one through again, the refresh storm a hold is there to
// stop. So an entry that is not the failed one and is not newer by its
// Created is kept off only while keeping it off costs no client a fresh
// hit: while it stays fresh past the hold, when its refresh may start.
// One that would expire first is let through, as it will be once stale
// (a stale entry's refresh takes a hold's place): the failing origin may
// run for it in the last hold's length of its freshness as it would once
// it is stale, and not before. Its freshness is judged as its hit judged
// it (entry.clockAt), against the hold's end on the monotonic clock.
func (h *aheadHold) keepsOne(a aheadAim, left time.Duration) bool {
	switch {
	case a.created == h.of && a.freshUntil == h.until:
		return true
	case a.created > h.of:
		return false
	}
	return a.left > left
}

// over reports whether h has ended, with every hold it keeps (also): its
// timer (holdAhead's, or Memoized.holdAhead's) fires at or after last, as
// both read the monotonic clock and the timer is set after last is.
func (h *aheadHold) over() bool { return time.Since(monoBase) >= h.last }

// wait is how long h's timer waits, h made for d (newAheadHold): until
// last, the end of the latest of the holds it keeps.
func (h *aheadHold) wait(d time.Duration) time.Duration { return d + h.last - h.end }

// holdAhead puts a new aheadHold of the entry a under key in refreshing,
// in place of the refresh that ends (which took the place of the hold
// displaced, if not nil: newAheadHold), and removes it once over unless
// something took its place meanwhile (a stale entry's refresh, which a
// hold does not keep off, or another entry's: keepsOff). The timer costs
// nothing on a hit.
func holdAhead(refreshing *sync.Map, key string, d time.Duration, a aheadAim, displaced *aheadHold) {
	h := new(aheadHold)
	*h = newAheadHold(a, d, displaced)
	refreshing.Store(key, h)
	time.AfterFunc(h.wait(d), func() { refreshing.CompareAndDelete(key, h) })
}

// putBackHold puts back under key in refreshing the hold h that a refresh
// took the place of, once that refresh ends having run nothing, unless h
// is over: because it found its entry replaced (replacedSince) or never
// started (the Cache closed), or, a view's, because another process held
// its Lease (a memoized function's refresh takes no lease: it puts back
// its own refreshMark as this does, Memoized.refreshInBackground). A
// refresh of an older entry near its end that h let through (keepsOff)
// would otherwise, finding the failed entry or a newer one stored, have
// left the key free: the failed entry's next hit ran the failing origin
// again within the hold. A stale entry's refresh (which no hold keeps off)
// that ran and renewed nothing puts h back too: it holds nothing off
// itself (a stale entry's refresh is never held off), and dropping h let
// the held entries' next hits run the failing origin again within their
// holds. h's own timer removes it; put back after that fired (h over,
// read after the put), it is removed here.
func putBackHold(refreshing *sync.Map, key string, h *aheadHold) {
	refreshing.Store(key, h)
	if h.over() {
		refreshing.CompareAndDelete(key, h)
	}
}
