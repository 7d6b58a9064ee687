package caching

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-caching/caching/internal/httpcache"
)

// viewFlight collapses concurrent misses of one key onto one handler run.
//
// It is not internal/flight's Group because the work must run on the
// leader's goroutine (it writes to the leader's ResponseWriter), and because
// a waiter must be released as soon as the leader's response is known to be
// uncacheable (it flushed, grew past the size cap, or was refused at
// commit) or, in a SharedCache view, not theirs to reuse unvalidated
// (no-cache, max-age=0, stale on arrival: stored, it answers its own
// request only), not when the handler returns: the waiters of a server-sent-events
// stream or a large download would otherwise wait for the whole stream, then
// run the handler anyway. A response refused only once complete (the Vary
// record is full: MaxVariants) is handed to the waiters, which use it when
// it is valid for them (their variant, usable) as they use a stored one. A
// waiter of another variant (it joined the base key's call before the
// response was known to vary) joins its own variant's call, once, so that
// each variant runs once (view.miss): as soon as the leader's header is
// committed (viewFlight.varies), not when its run ends. A leader whose
// client leaves releases its waiters then, not when its handler returns
// (view.releaseIfLeft). A
// request that may not use every response (Authorization in a SharedCache
// view) joins no call: it would wait for the whole run, then run its own.
// A waiter waits at most CollapseTimeout, from its first wait, then takes
// the call over when its leader's handler has run that long (takeOver):
// it leads a new call of the key, whose response is stored, and the old
// run writes nothing (commit). Otherwise it runs the handler on its own,
// storing nothing (view.gaveUp): it leaves the call as it is, whose
// leader still releases the others and stores.
type viewFlight struct {
	mu    sync.Mutex
	calls map[string]*viewCall
	// left holds, by key, the last call released for a retry (its
	// leader's client left) whose run has not ended, or ended before all
	// its waiters joined again (viewCall.waiters): the next call made for
	// its key takes its flight over (viewCall.next), and the path version
	// keys of a run that ended.
	left map[string]*viewCall
	// running holds, by key, the last call made for it whose run has not
	// ended, released or not: a run that led no flight hands it the path
	// version keys it created (adopt) also when the call's waiters were
	// released early (a response they may not reuse, which its run still
	// stores).
	running map[string]*viewCall
}

// runMarks are what a process knows, without its store, of the
// invalidations made since a run began: the store's counts then, read
// before the run reads anything (view.marks), which view.stale compares
// with those now.
type runMarks struct {
	// pending is the retry set: a response is not served to a request
	// whose keys' invalidation failed since.
	pending pendingSince
	// cleared is the store's count of Clears (store.clears): a Clear since
	// keeps the run's response from the store and from the waiters.
	cleared uint64
	// epoch is the store's count of this process's successful
	// invalidations (store.invalidated): a waiter that came after an
	// invalidation the run did not follow is not served its response,
	// whatever the versions read say.
	epoch uint64
}

// viewCall is one leader's handler run, and what its waiters get.
type viewCall struct {
	key      string
	done     chan struct{}
	res      viewResult
	released bool // guarded by viewFlight.mu
	// next: released for a retry, the call was taken over while its run
	// went on, by next, a new call for its key (a waiter that joined
	// again, or a request that came since). Guarded by viewFlight.mu.
	next *viewCall
	// prev is the call this one runs in place of (the one whose next it
	// is: join, takeOver), or nil. Its waiters, released for a retry,
	// that have not yet joined again (rejoining) may lead the key's next
	// call, which reads the path version keys this one holds: the keys
	// wait for it. Guarded by viewFlight.mu.
	prev *viewCall
	// forget are the path version keys that the runs this call took over
	// (next) created and would have deleted (a 404 whose client left), handed
	// to it when they ended before it, and those of runs that led no flight
	// and ended while it ran (viewFlight.adopt): the call decides for them
	// as for its own (viewFlight.end). ended: its run has ended. Both guarded by
	// viewFlight.mu.
	forget []string
	ended  bool
	// waiters counts the waiters that joined the call and have not yet
	// acted on its result (viewFlight.waited): one released for a retry
	// acts once it has joined the key's next call (or, finding none to
	// join, once its request is answered), any other once its request is
	// answered (one told to run on its own, after its run's store). A
	// call whose run ends, nothing stored, while some have not (end)
	// keeps its keys in forget until the next call of its key takes
	// them (join, for a retry), or the last of them finds none (waited):
	// a waiter may have read them, and store under them after the run's
	// end. Guarded by viewFlight.mu.
	waiters int
	// kept: the run stored a response after the call was released without
	// it (one the waiters may not reuse unvalidated: view.run releases
	// them at commit): the keys are kept as for a stored res.snap
	// (viewFlight.end). Guarded by viewFlight.mu.
	kept bool
	// after, when set, runs once the call is released, with its result:
	// the leader's lease is released there (lease.go).
	after func(viewResult)
	// releasing, when set, runs under viewFlight.mu as the call is
	// released with a result other than a retry, before it leaves calls:
	// the leader's lease's release is recorded there as in flight
	// (ownedLeases), which after then makes. The key's next leader in
	// this process, which may come as soon as the call is gone, waits for
	// that release (ownedLeases.settle, before its Add: addLease) rather
	// than for the lease as another process's run; one with a stale entry
	// to serve serves it at once while that release sets the "not stored"
	// mark (acquireLease).
	releasing func()
	// runMarks are the store's counts when the leader began (view.lead),
	// read before it reads anything: a waiter is not served the call's
	// response after what they tell happened since (view.stale).
	runMarks
	// vary is closed once the leader's response is known to vary, when
	// its header is committed (viewFlight.varies): names and variant then
	// say on what and for whom, so that a waiter of another variant leaves
	// at once rather than after the whole run. It is made by the first
	// waiter; vary (until made) and varied are guarded by viewFlight.mu.
	vary    chan struct{}
	varied  bool
	names   []string
	variant string
	// handling: the leader's handler runs (view.run), since began, on
	// the monotonic clock (as the waiters' CollapseTimeout: Options.Clock
	// tells the time, it makes no timers); the wait for another process's
	// lease before is no part of the run's age. storing: the run began to
	// write its outcome (viewFlight.commit), and can no longer be taken
	// over. takenOver: a waiter that gave up took the flight over
	// (viewFlight.takeOver, next): the run writes nothing. Guarded by
	// viewFlight.mu.
	began     time.Time
	handling  bool
	storing   bool
	takenOver bool
	// lease is the lease the leader took for its run (awaitLease), nil
	// when it took none; leaseSeen the mark of what its last look under
	// the lease found: the run stores nothing over an entry stored since
	// (view.newerSinceLease). leaseLooked: the run made that look before its
	// first write, whose answer leaseNewer keeps for the others, so that
	// a run looks once. Set and read by the leader's goroutine only.
	lease       *heldLease
	leaseSeen   entryMark
	leaseLooked bool
	leaseNewer  bool
}

// viewResult is what the waiters of a call get: the stored snapshot and the
// variant it was stored for; or a nil snapshot, meaning "run the handler
// yourself"; or retry, meaning "the leader's client left: join again, and
// wait for a new leader".
type viewResult struct {
	snap    *httpcache.Snapshot
	names   []string // the Vary names of snap
	variant string   // the leader's variant for names
	retry   bool
	// alone: retry because the leader's response answered its request
	// alone (answeredAlone: a 206, 412 or 226): a waiter that asks alike
	// joins the next run but leads none, and runs alone without one.
	alone bool
	stale bool // snap is a stale entry, served while another process runs the handler
	// late: snap is the entry another process's run stored, which the
	// leader waited for under the lease and read no longer fresh (its TTL
	// ended, or StaleIf declared it stale): served to the waiters as that
	// run's result, but to none that refuses stale responses
	// (runState.freshOnly).
	late bool
	// unstored: snap was not stored (the backend failed, the Vary record
	// is full), and is handed to this process's waiters only: a lease is
	// released as "not stored", so that other processes' waiters run the
	// handler at once.
	unstored bool
	// bypass: snap was not stored because the backend failed before the
	// handler ran (the lookup or the tag versions): its waiters report it
	// as BYPASS, as its leader does, not as a hit of the cache.
	bypass bool
	// vs are the versions the leader read before its handler ran, when it
	// stores snap, or those the entry it found was written under, when it
	// found one (found.result): a waiter serves snap only while they are
	// current, so that a request that came after a write (and its
	// invalidation) never gets a response made before it.
	vs versionSet
	// check of vs, shared by the waiters (nil: each checks).
	check *versionCheck
	// other: the leader's response varies (names, variant), and the
	// waiter's variant is another; snap is nil (viewCall.wait).
	other bool
	// failed: the leader's handler failed (a panic, or a 5xx that a
	// stale entry answers: Recorder.Divert) before its response was
	// committed, its client still there, and it asked as a plain request
	// does (a leader the handler may answer alone, answeredAlone, hands on
	// instead: retry, alone; its failure may be its own); snap is nil. A
	// waiter whose own lookup found an entry that may answer a failure of
	// its run (runState.stale) is answered with it, the leader's run being
	// the one it shares, rather than run the failing handler again
	// (view.miss), once it has read the entry again and judged its window
	// by the time it is answered (view.failedAnswer); any other runs its
	// own, as before.
	failed bool
	// expires, when not 0, is when snap stops being fresh (Unix
	// nanoseconds; SharedCache): a waiter is served it only before, as a
	// stored entry is (a body that took longer than the response's
	// lifetime to make). A response stored to be revalidated before every
	// reuse (no-cache, max-age=0) is not handed to the waiters at all
	// (view.run): it answers only its own request.
	expires int64
}

// stored reports whether res is a response that is now in the store, for
// a waiter of another process to find.
func (res viewResult) stored() bool { return res.snap != nil && !res.unstored }

// freshAt reports whether res.snap is still fresh at now for a waiter
// (expires).
func (res viewResult) freshAt(now time.Time) bool {
	return res.expires == 0 || now.UnixNano() < res.expires
}

// status is how a waiter served res.snap reports it.
func (res viewResult) status() httpcache.CacheStatus {
	switch {
	case res.stale:
		return httpcache.Stale
	case res.bypass:
		return httpcache.Bypass
	}
	return httpcache.Hit
}

// waiterJoinedHook, when set, is called by join with the key of a call a
// waiter joined, under the flight's lock (it must not block): a test that
// serves over a real connection, where synctest cannot wait for the
// waiter, learns there that the waiter waits for the leader. Nil outside
// tests.
var waiterJoinedHook atomic.Pointer[func(key string)]

// join returns the call in flight for key, creating it if there is none
// and mayLead; leader reports whether the caller created it and must
// release it. Without mayLead and a call in flight, c is nil.
func (g *viewFlight) join(key string, mayLead bool) (c *viewCall, leader bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.calls[key]; ok {
		if c.vary == nil {
			c.vary = make(chan struct{})
			if c.varied {
				close(c.vary)
			}
		}
		c.waiters++
		if hook := waiterJoinedHook.Load(); hook != nil {
			(*hook)(key)
		}
		return c, false
	}
	if !mayLead {
		return nil, false
	}
	c = g.newCall(key)
	if l := g.left[key]; l != nil {
		c.follow(l) // the new call runs in place of l, whose client left
		delete(g.left, key)
		if l.ended {
			// l's run ended before any of its waiters joined again:
			// the new call, which may store under l's keys, decides.
			c.forget = append(c.forget, l.forget...)
			l.forget = nil
		}
	}
	return c, true
}

// newCall makes the call in flight for key, and its run's. g.mu is held.
func (g *viewFlight) newCall(key string) *viewCall {
	if g.calls == nil {
		g.calls = make(map[string]*viewCall)
	}
	c := &viewCall{key: key, done: make(chan struct{})}
	g.calls[key] = c
	if g.running == nil {
		g.running = make(map[string]*viewCall)
	}
	g.running[key] = c
	return c
}

// handling records that the handler of c's leader runs, from now (a nil
// call is a no-op; a second call, a run made again without the cache's
// validators, keeps the first time): from age later, a waiter that gives
// up may take c over (takeOver). Before, the leader is looking the key up,
// or waiting for another process's lease, which a takeover must not jump,
// nor count as the run's age: a leader that took the lease a moment
// before its waiter's CollapseTimeout ran out is not taken over at once.
func (g *viewFlight) handling(c *viewCall) {
	if c == nil {
		return
	}
	g.mu.Lock()
	if !c.handling {
		c.handling, c.began = true, time.Now()
	}
	g.mu.Unlock()
}

// takeOver hands the flight of c, a call a waiter gave up on, to a new call
// of its key, which the waiter leads and returns, when c is still the
// key's call in flight, its leader's handler runs (handling) and has not
// begun to write its outcome (storing), and has run age or more;
// else it returns nil, and the waiter runs on its own (view.gaveUp). A
// leader that takes minutes, or never ends, so keeps its key uncached for
// one CollapseTimeout, not for as long as it runs (nginx's
// proxy_cache_lock_age): the waiter's response is stored, and answers the
// requests that join the new call. c's waiters are released to join it
// (a retry, as when a leader's client leaves), each still bounded by its
// own first wait: those that joined c before the new call is age old run
// on their own when they give up, so that one slow run is taken over once
// per age, not by each of its waiters in turn. c's run goes on for its
// client and writes nothing (commit), its path version keys handed on to
// the new call (end, next); a lease it holds is handed on (after), as a
// leader whose client left does, for the new leader to take as any leader.
func (g *viewFlight) takeOver(c *viewCall, age time.Duration) *viewCall {
	g.mu.Lock()
	if g.calls[c.key] != c || c.released || !c.handling || c.storing || time.Since(c.began) < age {
		g.mu.Unlock()
		return nil
	}
	c.released, c.res, c.takenOver = true, viewResult{retry: true}, true
	g.newCall(c.key).follow(c)
	g.mu.Unlock()
	c.finish()
	return c.next
}

// commit reports whether the run of c may write its outcome to the store
// (an entry, a freshened one, the delete of the one it replaces): not once
// c was taken over (takeOver), whose new leader's response is newer; once
// it may, c can no longer be taken over. A nil call (a run that leads no
// flight) may.
func (g *viewFlight) commit(c *viewCall) bool {
	if c == nil {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	c.storing = !c.takenOver
	return c.storing
}

// superseded reports whether c was taken over (takeOver): its run marks
// nothing for the key (view.passed, view.solo), which the new leader's
// run decides. A nil call was not.
func (g *viewFlight) superseded(c *viewCall) bool {
	if c == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return c.takenOver
}

// adopt hands keys, path version keys that a run which led no flight
// created and would delete, to the call in flight for key, and reports
// whether it took them: that call's run may have read them, and store its
// entry under them. It decides for them as for its own keys when it ends
// (end). A key the call holds already is not added again (a client
// alternating a write and an uncached read of the path while one long run
// streams would otherwise grow its list by one key per pair), and a call
// holding maxAdopted keys takes no new one: the caller then decides for
// them itself (at worst the run in flight stores an entry under a deleted
// version key: one miss).
func (g *viewFlight) adopt(key string, keys []string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.calls[key]
	if !ok {
		c, ok = g.running[key]
	}
	return ok && c.take(keys)
}

// take adds keys to those c decides for when it ends (forget), and
// reports whether it took them: a key it holds already is not added
// again, and past maxAdopted keys it takes none (adopt). g.mu is held.
func (c *viewCall) take(keys []string) bool {
	n := len(c.forget)
	for _, k := range keys {
		if !slices.Contains(c.forget, k) {
			if n++; n > maxAdopted {
				return false
			}
		}
	}
	for _, k := range keys {
		if !slices.Contains(c.forget, k) {
			c.forget = append(c.forget, k)
		}
	}
	return true
}

// toRunning hands keys, path version keys about to be deleted (end,
// waited), to the run of key still in flight, if any, and reports
// whether it took them (take): made while none was in flight, after the
// run that created them was released, it may have read them, and store
// its entry under them after they were deleted (one miss). It decides
// for them when it ends, as for keys it adopted. g.mu is held.
func (g *viewFlight) toRunning(key string, keys []string) bool {
	r := g.running[key]
	return r != nil && !r.ended && r.take(keys)
}

// maxAdopted bounds the keys a call in flight holds for others (adopt):
// the distinct path and host version keys of runs of its key, a few at
// most unless hosts differ under IgnoreHost with HostScopedWrites.
const maxAdopted = 64

// release hands res to c's waiters and lets the next miss of the key start
// a new call. Only the first release of a call counts (a later one with a
// stored response only records that the keys hold one: kept); a nil call
// is a no-op.
// A release for a retry (the leader's client left) hands the flight on:
// c is remembered until its run ends (end), so that the next call of its
// key takes it over (viewCall.next); with a lease (after), the lease is
// also handed on to the other processes, one of which may take it.
func (g *viewFlight) release(c *viewCall, res viewResult) {
	if c == nil {
		return
	}
	g.mu.Lock()
	if c.released {
		c.kept = c.kept || res.stored()
		g.mu.Unlock()
		return
	}
	c.released, c.res = true, res
	if !res.retry && c.releasing != nil {
		c.releasing()
	}
	if g.calls[c.key] == c {
		delete(g.calls, c.key)
	}
	if res.retry {
		if g.left == nil {
			g.left = make(map[string]*viewCall)
		}
		g.left[c.key] = c
	}
	g.mu.Unlock()
	if hook := releasedHook.Load(); hook != nil {
		(*hook)(c.key)
	}
	c.finish()
}

// releasedHook, when set, is called with the key of a call that release
// just removed from the flight, before its result is handed on (finish).
// Nil outside tests.
var releasedHook atomic.Pointer[func(key string)]

// finish hands c's result to its waiters and runs c.after with it, once c
// was released (release, takeOver). A retry's lease is handed on (after)
// before the waiters wake: one of them leads the key's next call, whose
// look under the lease would otherwise find the lease of c's run still
// held, as if another process ran the handler, and serve its stale entry
// (to the others too) or wait for a lease nobody holds.
func (c *viewCall) finish() {
	if c.res.retry && c.after != nil {
		// Woken if the hand-on panics too (a Backend's Delete): they
		// would otherwise wait for the collapse's timeout.
		defer close(c.done)
		c.after(c.res)
		return
	}
	close(c.done)
	if c.after != nil {
		c.after(c.res)
	}
}

// end records that the run of c has ended (c's leader calls it, after
// release; only the first call counts, and a nil call is a no-op). created
// are the path version keys c's run created and would delete: its response
// was refused (view.run). end returns the keys decided for now, created
// and those the runs c took over handed to it (nil when a call still in
// progress is to decide), del, whether they are to be deleted rather than
// kept, and left, whether the call that decided for them is one whose
// client left and whose flight nobody in this process took over: under a
// lease, another process may have, and stored its entry (the view checks,
// view.endFlight).
//
// A key created by a run is deleted only when no entry was stored under
// it meanwhile: a run whose client left goes on while another takes its
// flight over (next) and may store its entry under the key. Such a run
// hands its keys on to the call that took over: to keep (it stored, or
// found, a response) or delete (it did not) when that one ends, or at once
// when it has ended already; along the chain when that one's client left
// too. No key outlives its flight that way: a scan whose requests all hang
// up leaves none, however many times it asks for a path. A run released
// for a retry that ends before its waiters, woken, have all joined again
// leaves its keys to the next call of its key, which one of them may lead
// (and which may read them before a delete and store under them after
// it), or, when none is made, to the last of them (waited). So does a run
// whose waiters were told to run on their own (its response refused for
// its own reason: too large, private, StoreIf) and ends before they are
// all done: each may have read the keys, and stores after the end; the
// last of them decides. Keys to delete otherwise go to a run of the key
// still in flight (toRunning), made since the call was released, which
// may have read them too: it decides when it ends.
func (g *viewFlight) end(c *viewCall, created []string) (keys []string, del, left bool) {
	if c == nil {
		return created, true, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.running[c.key] == c {
		delete(g.running, c.key)
	}
	if c.ended {
		return nil, false, false
	}
	c.ended = true
	keys = append(c.forget, created...)
	c.forget = nil
	switch {
	case g.left[c.key] == c:
		if c.waiters == 0 && !c.rejoining() {
			delete(g.left, c.key) // else kept for the waiters (decide, waited)
		}
	case c.next == nil && c.res.snap == nil && !c.kept && c.rejoining():
		// Released with a response refused for its own reason (private,
		// too large), nothing stored, while a waiter of a call c runs in
		// place of has not joined again: that waiter's next call runs in
		// c's place, as after a retry, and takes the keys c holds for it
		// (decide), which the run c replaced may hand on after (next).
		// A call taken over (next: released for a retry, then followed)
		// is in its successor's chain already, which keeps the keys
		// (decide): put before it again, c would be its own prev.
		// A call of the key made since c was released (left for a next
		// one, or in flight), which that waiter joins or runs after, may
		// have read them too: c goes before it in its chain instead.
		if t := g.left[c.key]; t != nil {
			c.precede(t)
		} else if t := g.running[c.key]; t != nil {
			c.precede(t)
		} else {
			if g.left == nil {
				g.left = make(map[string]*viewCall)
			}
			g.left[c.key] = c
		}
	}
	keys, del, left = decide(c, keys)
	if del && !left && g.toRunning(c.key, keys) {
		return nil, false, false
	}
	return keys, del, left
}

// decide is end's decision for keys, those of c's run and of the runs it
// took over, once c's run has ended. g.mu is held.
func decide(c *viewCall, keys []string) (_ []string, del, left bool) {
	for len(keys) > 0 {
		switch {
		case !c.ended:
			c.forget = append(c.forget, keys...) // c decides when it ends
			return nil, false, false
		case c.next != nil:
			c = c.next // it ended after c.next took over: c.next decides
		case c.res.snap != nil || c.kept:
			// A response under the keys (stored, found, or one the store
			// refused while the other variants' entries stay).
			return keys, false, false
		case c.waiters > 0 || c.rejoining():
			// Its waiters woken but not all done: one released for a
			// retry that leads the key's next call, or one told to run on
			// its own (a response refused for its own reason, its client
			// still there), may read the keys now and store under them.
			// So may a waiter of a call c runs in place of (prev) that
			// has not joined again yet: c (released for a retry itself,
			// a 206 answering its request alone, or with a response
			// refused for its own reason: private, too large) is kept in
			// the flight's left (end) for that waiter's next call, which
			// runs in its place. That next call decides (join), or the
			// last waiter (waited).
			c.forget = append(c.forget, keys...)
			return nil, false, false
		default:
			return keys, true, c.res.retry
		}
	}
	return nil, false, false
}

// waited records that a waiter of c acted on its result: for a retry,
// once it joined the key's next call, or, when it found none to join (it
// may not lead one), once its request was answered; otherwise once its
// request was answered (its own run, if any, stored or not). The last
// waiter of a call whose run ended (end) before any next call took its
// keys gets them, to delete unless an entry was saved under them as end
// would have; left is end's left (a call released for a retry).
// Otherwise keys is nil.
//
// The keys waited for are those of the last call of c's chain (next),
// c's own when none runs in its place: one released for a retry that
// ended, nothing stored, before c's waiters had all joined again keeps
// them for its successor (decide), and gets them here when none came.
func (g *viewFlight) waited(c *viewCall) (keys []string, left bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c.waiters--; c.waiters > 0 {
		return nil, false
	}
	t := c
	for t.next != nil {
		t = t.next
	}
	if !t.ended || t.waiters > 0 || t.rejoining() {
		return nil, false
	}
	if g.left[t.key] == t {
		delete(g.left, t.key)
	}
	keys, t.forget = t.forget, nil
	if !t.res.retry && len(keys) > 0 && g.toRunning(t.key, keys) {
		return nil, false
	}
	return keys, t.res.retry
}

// follow records that c runs in place of p (next, prev), and drops from
// c's chain the calls before it that no waiter needs (rejoining). g.mu is
// held.
func (c *viewCall) follow(p *viewCall) {
	p.next, c.prev = c, p
	c.rejoining()
}

// precede puts c, a call whose run has ended, nothing stored, while
// waiters of the calls before it may still join again (rejoining), before
// t, a later call of its key that does not run in its place (made while
// none was in flight or left for a next one: join): c's keys go to t
// (decide, next), and t's chain keeps them, and its own, while those
// waiters may still join again (rejoining, prev), as c's would. The next
// call of a waiter that joins again runs in t's place (left), or it waits
// for t: either way after t, which decides. c has no next, and t's chain
// does not hold c: no cycle. g.mu is held.
func (c *viewCall) precede(t *viewCall) {
	c.next = t
	t.rejoining() // drops the calls no waiter needs first
	for t.prev != nil {
		t = t.prev
	}
	t.prev = c
}

// rejoining reports whether a call c runs in place of (prev, and so on)
// has waiters that have not yet acted on its result: released for a
// retry, they may lead the key's next call. g.mu is held.
//
// The calls of the chain before the first with such waiters are dropped
// from it (here, and as c follows one: follow): released (join,
// takeOver), a call gains no waiter, and one with none is no longer
// needed. Runs whose clients all hang up and
// that overlap, one after the other, would otherwise keep every call
// made for the key since alive, and be walked at each end.
func (c *viewCall) rejoining() bool {
	for c.prev != nil && c.prev.waiters == 0 {
		c.prev = c.prev.prev
	}
	return c.prev != nil
}

// varies tells c's waiters that the leader's response varies on names,
// variant being the leader's variant for them: once, before c is released.
func (g *viewFlight) varies(c *viewCall, names []string, variant string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c.varied || c.released {
		return
	}
	c.names, c.variant, c.varied = names, variant, true
	if c.vary != nil {
		close(c.vary)
	}
}

// waitEnd is how viewCall.wait ended.
type waitEnd int

const (
	waitDone   waitEnd = iota // res is c's result, or tells of another variant
	waitEnded                 // the waiter's context ended first
	waitGaveUp                // the waiter's patience ran out first (CollapseTimeout)
)

// wait waits for c's result, for ctx, or for patience (nil: no bound;
// closed when it runs out, so that a waiter that waits again, after a
// retry, finds it run out at once). A waiter (one that joined c) whose
// request r is of another variant than the leader's response, once it is
// known to vary, gets a result with other set at once, with the leader's
// names and variant. A result ready as patience runs out is returned, and
// a context ended by then ends the wait as waitEnded; a waiter that gives
// up takes c's flight over (viewFlight.takeOver), or, where it may not,
// leaves c as it found it (its leader still releases the others and
// stores) and runs the handler on its own (view.gaveUp).
func (c *viewCall) wait(ctx context.Context, r *http.Request, patience <-chan struct{}) (res viewResult, how waitEnd) {
	vary := c.vary // made by the waiter's join, or an earlier one
	for {
		select {
		case <-c.done:
			return c.res, waitDone
		case <-ctx.Done():
			return viewResult{}, waitEnded
		case <-patience:
			switch {
			case c.isDone():
				return c.res, waitDone
			case ctx.Err() != nil:
				// Ended too (select picks at random among the ready):
				// a client that left runs nothing (view.ended).
				return viewResult{}, waitEnded
			}
			return viewResult{}, waitGaveUp
		case <-vary:
			if !ofVariant(r, c.names, c.variant) {
				return viewResult{names: c.names, variant: c.variant, other: true}, waitDone
			}
			vary = nil // its variant: it waits for the result
		}
	}
}

// isDone reports whether c was released.
func (c *viewCall) isDone() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// maxDownVary bounds the base keys a view's downVary remembers.
const maxDownVary = 1024

// downVary remembers, for at most maxDownVary base keys, the Vary names of
// the last response a run of the view made for each. While the backend is
// down (the Vary record cannot be read), a miss joins the flight of its
// own variant by them rather than the base key's: a request of another
// variant than a run in progress would otherwise wait for it, then run the
// handler itself, for the whole outage. Full, it forgets an arbitrary key.
type downVary struct {
	mu sync.Mutex
	m  map[string][]string
	n  atomic.Int64 // len(m), read without mu
}

// get returns the Vary names last seen for base, or nil.
func (d *downVary) get(base string) []string {
	if d.n.Load() == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m[base]
}

// note records names (those of a response just made for base; none: it
// does not vary) for base.
func (d *downVary) note(base string, names []string) {
	if len(names) == 0 && d.n.Load() == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case len(names) == 0:
		delete(d.m, base)
	case d.m == nil:
		d.m = map[string][]string{base: names}
	default:
		if _, ok := d.m[base]; !ok && len(d.m) >= maxDownVary {
			for k := range d.m {
				delete(d.m, k)
				break
			}
		}
		d.m[base] = names
	}
	d.n.Store(int64(len(d.m)))
}

// soloFor is how long a key whose response its waiters could not reuse
// (view.solo) keeps its misses out of flights.
const soloFor = time.Minute

// passFor is how long a key whose response was refused storage for what it
// is (view.passed) has the client's validators reach the handler.
const passFor = 2 * time.Minute

// keyMarks remembers, for at most maxDownVary keys and life each, keys of
// a SharedCache view that its misses treat apart. view.solo holds the
// keys whose last run made a response that its waiters may not reuse
// unvalidated (no-cache, max-age=0, stale on arrival): a miss of such a
// key runs on its own rather than wait for another request's run and then
// run its own (view.miss, Varnish's hit-for-miss). view.passed holds the
// keys whose last response was refused storage for what it is
// (refusedForItself): a miss with the client's validators runs on its own
// with them, so that the origin answers 304 itself (runExt, Varnish's
// hit-for-pass). Two
// tables: a flood of private pages must not starve the no-cache marks.
// Full, a table makes room only by forgetting an expired key: the new key
// goes unmarked (its misses run as before), and a flood of new URLs cannot
// push a popular URL's mark out. A client can only make its own URL's
// misses run as they would without the cache.
type keyMarks struct {
	life time.Duration
	mu   sync.Mutex
	m    map[string]int64 // until, Unix nanoseconds
	n    atomic.Int64     // len(m), read without mu
}

// mark remembers key from now for s.life.
func (s *keyMarks) mark(key string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]int64)
	}
	if _, ok := s.m[key]; !ok && len(s.m) >= maxDownVary {
		// Full: an expired mark makes room, or the new key goes without:
		// a flood of new URLs must not push a popular URL's mark out.
		full := true
		for k, u := range s.m {
			if now.UnixNano() >= u {
				delete(s.m, k)
				full = false
				break
			}
		}
		if full {
			return
		}
	}
	s.m[key] = now.Add(s.life).UnixNano()
	s.n.Store(int64(len(s.m)))
}

// forget forgets key.
func (s *keyMarks) forget(key string) {
	if s.n.Load() == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	s.n.Store(int64(len(s.m)))
}

// has reports whether key is remembered at now.
func (s *keyMarks) has(key string, now time.Time) bool {
	if s.n.Load() == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.m[key]
	if ok && now.UnixNano() >= until {
		delete(s.m, key)
		s.n.Store(int64(len(s.m)))
		return false
	}
	return ok
}
