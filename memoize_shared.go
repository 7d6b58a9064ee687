package caching

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-caching/caching/internal/flight"
)

// What the Memoized values of one name in a Cache share besides their
// entries: the epochs that keep a computation in flight from storing a result
// after Forget, ForgetAll, Set or Refresh (or a Get that RefreshIf forces, or
// a background refresh of an entry stored after that computation began), and
// the computations in flight. One function memoized twice under one name (two
// packages memoize one loader) shares its entries, so a Forget through one
// must stop the other's computation too, and a Get through either after it
// returned must not join one that began before.

// memoShared is what the Memoized values of one name share (see above), kept
// in the Cache's registry (registry.memo), so that each name has one.
type memoShared struct {
	// saveMu orders the supersedes of the name (read) after ForgetAll's
	// delete of the generation (write): a Set or Refresh made after
	// ForgetAll's supersede reads the generation after the delete, and
	// stores under the new one. No store or delete of an entry holds it:
	// those of a key are ordered by its keyEpoch's write lock, and a
	// supersede does not wait for them (see keyEpoch.wmu).
	saveMu sync.RWMutex
	// all changes with every ForgetAll.
	all atomic.Uint64
	// landed maps the generation key of the ForgetAlls whose delete of it
	// landed to all's count of the last one, and forgot to all's count of
	// the last ForgetAll of it, changed holding saveMu and lmu: a write
	// superseded only by ForgetAlls whose deletes failed is still made
	// (mayReplace), the entry it replaces being served until their retried
	// deletes land (not after: see generation.waits); and so is one
	// superseded only by the ForgetAlls of other generations: past
	// maxNamedCounters names, the names left share OtherName's memoShared,
	// and a ForgetAll of one deletes that one's generation only (their
	// computations stop all the same: all changed). One generation key but
	// for OtherName's, which keeps at most maxLanded (see landedAt);
	// forgotDropped is the highest count of those dropped from forgot
	// (forgotSince).
	lmu            sync.Mutex
	landed, forgot map[string]uint64
	forgotDropped  uint64
	// epochs holds the epoch of each key with a computation in flight,
	// changed by every Forget, Set and Refresh of that key, and by the
	// forced Gets and background refreshes that supersede (supersede):
	// exact per key, so that a Forget, Set or Refresh of one key never
	// stops the computation of another (for a Refresh, a computation not
	// stored leaves the old entry served), and bounded by the computations
	// in flight and the callers of supersedeHeld (an entry is removed when
	// its last one ends, memoShared.done).
	// A key without a computation in flight needs no epoch: one that
	// begins after the change reads its data after it. Guarded by emu.
	emu    sync.Mutex
	epochs map[string]*keyEpoch

	// groups are the computations in flight, one flight.Group[string,
	// epoched[R]] for each result type R: the Memoized of one name and one
	// result type join each other's computations of a key (their entries
	// are one), but a caller never gets a result of another type than its
	// own (two types of one shape share a key).
	mu     sync.Mutex
	groups map[reflect.Type]flightForgetter
}

// keyEpoch is the epoch of one key while computations of it are in flight
// (memoShared.epochs): n changes with each supersede of the key; refs
// counts the computations that read it.
type keyEpoch struct {
	n    atomic.Uint64
	refs int // guarded by memoShared.emu
	// wmu is the key's write lock (a channel, so that a wait for it ends
	// with the caller's context or Options.Timeout: lockWrite), held by a
	// store or delete of the key's entry from its check of its epoch
	// (current, mayReplace) until the write lands or fails. Writes of a
	// key land in the order of their checks, so that the last check wins;
	// a supersede does not wait for a write in progress (it checked
	// before), and the write of the call that superseded is made after
	// it. The writes of other keys, and the supersedes, never wait for a
	// hung one: a caller waits for at most one write of its key (bounded
	// by Options.Timeout) and then makes its own.
	wmu chan struct{}
	// What a replacement (Refresh's, a forced Get's, a background
	// refresh's: epochOfMode) whose fn fails needs to tell whether it
	// removes the entry (memoShared.owed), guarded by memoShared.emu.
	// pending holds the epoch (n, and ForgetAll's count) each replacement
	// in refs began at, until it settles (stores or removes the entry) or
	// ends: a background refresh only where a Refresh or forced Get may
	// have joined it (seeking); unstored is 1 + the latest epoch of a
	// replacement that ended superseded, its result returned but not
	// stored (0: none), and unstoredAll the latest ForgetAll count of
	// those; settled is the epoch at which a computation last stored or
	// removed the entry, which settles every replacement begun before it.
	pending     []pendingEpoch
	unstored    uint64
	unstoredAll uint64
	settled     uint64
	// seeking holds the epoch after the supersede of each Refresh and
	// forced Get of the key until it returns (supersedeSeeking), or leads
	// a computation of its own (memoShared.leads): it may join a
	// background refresh begun at that epoch or after, and return its
	// result as replacing the entry. Guarded by memoShared.emu.
	seeking []uint64
}

// pendingEpoch is the epoch a replacement in keyEpoch.pending began at.
type pendingEpoch struct{ n, all uint64 }

// epochMode is what a computation is to its key's entry (epochOfMode).
type epochMode uint8

const (
	// epochMiss is a Get's miss: superseded, it stores nothing.
	epochMiss epochMode = iota
	// epochReplace is a replacement's computation (Refresh's, a forced
	// Get's): superseded, it decides holding the write lock
	// (memoShared.mayWrite), and it is pending (memoShared.owed).
	epochReplace
	// epochBackground is a background refresh's: a replacement, which
	// decides as epochReplace does, but pending only where a Refresh or
	// forced Get may join it (keyEpoch.seeking): a result that nobody
	// returns as replacing the entry is owed nothing when it is not
	// stored, and a later replacement whose fn fails leaves the entry
	// (with its stale-while-revalidate fallback) as before the refresh.
	epochBackground
)

// flightForgetter is a flight.Group of any result type, as Forget reaches it.
type flightForgetter interface {
	Forget(key string)
	ForgetAll()
}

// memoEpoch is the epoch of one key when a computation of it began: it
// stores its result only if the epoch is still current (memoShared.current).
type memoEpoch struct {
	key       string
	ke        *keyEpoch
	n, all    uint64
	replacing bool // a replacement (epochOfMode, supersedeHeldMode)
	pended    bool // in ke.pending until it settles or ends
	seeker    bool // in ke.seeking until it ends or leads (supersedeSeeking, leads)
	// settled: it stored or removed the entry (memoShared.settle).
	settled bool
	// unstored: superseded, it returns a result it did not store (nor
	// removed the entry for), a later call having written first, or a
	// ForgetAll (mayWrite): a replacement begun after it is to settle the
	// entry for it (memoShared.owed).
	unstored bool
	// lifted is the epoch that the supersede of a Refresh or forced Get
	// made from within the computation that read e moved it to, e being
	// current then (supersedeWithin; 0: none): the computation is current
	// as if it had begun there (at). in is that computation, whose memo e
	// is until done (enclose). Both guarded by emu.
	lifted uint64
	in     *computation
}

// liftedWithin reports whether a Refresh or forced Get made from within the
// computation that read e lifted it (supersedeWithin).
func (s *memoShared) liftedWithin(e *memoEpoch) bool {
	s.emu.Lock()
	defer s.emu.Unlock()
	return e.lifted != 0
}

// at is the epoch of the computation that read e: e.n, or the one a
// supersede made from within it lifted it to. The caller holds
// memoShared.emu.
func (e *memoEpoch) at() uint64 { return max(e.n, e.lifted) }

// enclose registers e, the epoch of the computation c (nil: none, and
// nothing is registered), as the one the Refreshes and forced Gets made
// from within c keep current (supersedeWithin), until done.
func (s *memoShared) enclose(e *memoEpoch, c *computation) {
	if c == nil {
		return
	}
	s.emu.Lock()
	defer s.emu.Unlock()
	c.memo, e.in = e, c
}

// epochOf returns key's epoch now, read before the computation reads the
// data its result is made of, and registers the computation: the caller
// calls done once it has stored, or not, its result.
func (s *memoShared) epochOf(key string) memoEpoch {
	return s.epochOfMode(key, epochMiss)
}

// epochOfMode is epochOf for a computation in mode: one that replaces
// key's entry (Refresh's, a forced Get's, a background refresh's, which a
// Refresh may have joined) is told from a Get's miss: see memoShared.owed
// and mayWrite.
func (s *memoShared) epochOfMode(key string, mode epochMode) memoEpoch {
	s.emu.Lock()
	defer s.emu.Unlock()
	ke := s.keyEpochOf(key)
	e := memoEpoch{key: key, ke: ke, n: ke.n.Load(), all: s.all.Load(), replacing: mode != epochMiss}
	if mode == epochReplace || mode == epochBackground && ke.sought(e.n) {
		ke.pend(&e)
	}
	return e
}

// sought reports whether a Refresh or forced Get that may join a
// computation begun at epoch n is registered (keyEpoch.seeking). The
// caller holds memoShared.emu.
func (ke *keyEpoch) sought(n uint64) bool {
	for _, h := range ke.seeking {
		if h <= n {
			return true
		}
	}
	return false
}

// pend puts e in ke.pending. The caller holds memoShared.emu.
func (ke *keyEpoch) pend(e *memoEpoch) {
	ke.pending = append(ke.pending, pendingEpoch{e.n, e.all})
	e.pended = true
}

// keyEpochOf returns key's epoch, created if none is, with one more
// computation (or supersedeHeld caller) registered. The caller holds emu.
func (s *memoShared) keyEpochOf(key string) *keyEpoch {
	ke := s.epochs[key]
	if ke == nil {
		ke = &keyEpoch{wmu: make(chan struct{}, 1)}
		if s.epochs == nil {
			s.epochs = make(map[string]*keyEpoch)
		}
		s.epochs[key] = ke
	}
	ke.refs++
	return ke
}

// done ends the computation that read e (epochOf): the last one of its key
// removes the key's epoch.
func (s *memoShared) done(e *memoEpoch) {
	s.emu.Lock()
	defer s.emu.Unlock()
	if e.pended && !e.settled {
		e.ke.unpend(e)
		if e.unstored {
			e.ke.unstored = max(e.ke.unstored, e.at()+1)
			e.ke.unstoredAll = max(e.ke.unstoredAll, e.all)
		}
	}
	e.ke.unseek(e)
	if e.in != nil && e.in.memo == e {
		e.in.memo = nil
	}
	if e.ke.refs--; e.ke.refs == 0 && s.epochs[e.key] == e.ke {
		delete(s.epochs, e.key)
	}
}

// unseek removes e, a seeker (supersedeSeeking), from ke.seeking, if it is
// there still. The caller holds memoShared.emu.
func (ke *keyEpoch) unseek(e *memoEpoch) {
	if !e.seeker {
		return
	}
	if i := slices.Index(ke.seeking, e.n); i >= 0 {
		ke.seeking = slices.Delete(ke.seeking, i, i+1)
	}
	e.seeker = false
}

// leads records that the caller whose supersede read e (supersedeSeeking;
// nil: none) now leads a computation of its own, whose result
// it returns: it joins no other (doSinceRejoining returns the result of
// the computation it leads), so a background refresh begun from now on
// is no longer one it may join. Without it, such a refresh (begun after a
// Set, say, forgot the caller's computation) stayed pending until the
// caller returned, and a later replacement whose fn failed removed the
// entry that nobody was owed a removal of (see epochBackground). It is
// called (Memoized.do) the moment the flight makes the caller the leader,
// holding the flight's lock (flight.Group.DoLeading), not when the
// computation starts in the flight's goroutine: a background refresh begun
// in between (a stale hit's, after a Set) was pending all the same. The
// lock order is the flight's, then emu.
func (s *memoShared) leads(e *memoEpoch) {
	if e == nil {
		return
	}
	s.emu.Lock()
	defer s.emu.Unlock()
	e.ke.unseek(e)
}

// unpend removes e, a replacement, from ke.pending (one of those begun at
// its epoch). The caller holds memoShared.emu.
func (ke *keyEpoch) unpend(e *memoEpoch) {
	if i := slices.Index(ke.pending, pendingEpoch{e.n, e.all}); i >= 0 {
		ke.pending = slices.Delete(ke.pending, i, i+1)
	}
}

// settle records that the computation that read e stored or removed its
// key's entry: the replacements begun before it, superseded, are settled
// too (what is stored is no older than their results, or nothing is). The
// caller holds the key's write lock and found e current (or, for Set and
// Forget, mayReplace); Set settles its
// own (supersedeHeldMode) so before its store is made, and removes the
// entry itself if that store fails where something was owed; Forget
// settles its own before its delete is made (a delete that fails is
// retried).
func (s *memoShared) settle(e *memoEpoch) {
	s.emu.Lock()
	defer s.emu.Unlock()
	e.ke.settled = max(e.ke.settled, e.at())
	if e.pended && !e.settled {
		e.ke.unpend(e)
	}
	e.settled = true
}

// owed reports whether a replacement that read e (a background refresh
// too, which a Refresh may have joined instead of computing), whose fn
// failed, is to remove its key's entry: a replacement begun before it
// (superseded, so begun before its caller's supersede; a background
// refresh that a Refresh or forced Get may have joined, and so return its
// result, too) returned, or is to return, a result it did not store, and
// no computation stored or removed the entry since, nor did a ForgetAll
// whose delete landed come after it began (that delete removed the entry
// it was to replace; one stored since is a later Get's), nor one whose
// delete failed, once its retry has landed (gone). One that stored
// before e's supersede, or that began after it, is no such replacement:
// what it stored is kept; nor is a background refresh that nobody could
// join (see epochBackground). The caller holds the key's write lock and
// found e current (or, for Set, mayReplace).
func (s *memoShared) owed(e *memoEpoch, gen generation) bool {
	gone := s.gone(gen)
	s.emu.Lock()
	defer s.emu.Unlock()
	ke := e.ke
	at := e.at()
	if ke.unstored > ke.settled && ke.unstored-1 < at && ke.unstoredAll >= gone {
		return true
	}
	for _, p := range ke.pending {
		if p.n >= ke.settled && p.n < at && p.all >= gone {
			return true
		}
	}
	return false
}

// gone returns all's count of the last ForgetAll of gen after which the
// entries of before it are a miss everywhere, as far as s knows: the last
// one whose delete landed, or the last one of all once the retry set no
// longer holds the generation (its delete failed, and the retry landed),
// as mayReplace tells. forgot is read before the set: a ForgetAll records
// it once its failed delete waits there (supersedeAll).
func (s *memoShared) gone(gen generation) uint64 {
	landed, forgot := s.landedOf(gen.key)
	if forgot > landed && !gen.waits() {
		return forgot
	}
	return landed
}

// current reports whether no Forget, ForgetAll, Set or Refresh of its key
// began since e was read (but those made from within its computation,
// which lift it: supersedeWithin). A caller that writes on it holds the
// key's write lock (lockWrite): a call that begins after the check writes
// after it.
func (s *memoShared) current(e *memoEpoch) bool {
	if s.all.Load() != e.all {
		return false
	}
	if e.ke.n.Load() == e.n {
		return true // not lifted: a lift changes the key's epoch too
	}
	s.emu.Lock()
	defer s.emu.Unlock()
	return e.lifted != 0 && e.ke.n.Load() == e.lifted
}

// mayReplace reports whether Set or Forget, whose supersede read e
// (supersedeHeldMode), or a replacement's computation that read e
// (mayWrite), is to make its store or delete, holding the key's write
// lock. The invariant: of the calls that replace a key's entry (Set,
// Forget, a Refresh's or forced Get's computation, a replacement's removal
// of an owed entry), the one whose supersede came last decides what is
// served, and a Set, Forget or Refresh that returned nil is never followed
// by the entry of before it. So each of them writes while no call
// superseded it, and also after one did, as long as none of those later
// calls has written yet (the key's settled epoch is not past e's): its
// write then lands first, and the later call's, made holding the write
// lock after it, lands over it. It writes nothing
// where a later call has written (what that call stored or removed
// stands, as if Set's store had been made first), or after a ForgetAll
// of the caller's generation whose delete landed (it makes any entry of
// before it a miss; one whose delete failed is retried, and until then
// the entry is still served elsewhere: the write is made, but not once
// the retry has landed, when the write, under versions read before it,
// would only replace a later Get's entry with a miss).
// Without its write, a Refresh made after Set and still computing would
// leave the entry of before Set served, though Set returned nil.
func (s *memoShared) mayReplace(e *memoEpoch, gen generation) bool {
	s.emu.Lock()
	ok := e.ke.settled <= e.at()
	s.emu.Unlock()
	if mayReplaceHook != nil {
		mayReplaceHook(e.key)
	}
	// Read after the decision, however it went: a ForgetAll that came
	// while it was made (all changes holding saveMu, before its delete)
	// is waited for too.
	if s.all.Load() != e.all {
		// A ForgetAll since: its delete of the generation, which it
		// makes holding saveMu, is waited for (bounded by Timeout), so
		// that the caller returns only once the entry of before it is
		// gone. Where every ForgetAll since failed its delete (retried
		// in the background), that entry is still served (by other
		// processes sharing the backend) until the retry lands: the
		// write is made, as if none had come.
		s.saveMu.RLock()
		//lint:ignore SA2001 the lock is the wait: ForgetAll holds it for its delete
		s.saveMu.RUnlock()
		// Nor is it made after a ForgetAll of gen whose delete failed,
		// was retried, and the retry landed (not one that Close dropped):
		// the entry of before is a miss everywhere, as is a write under
		// the versions read before that delete, which would replace the
		// entry of a Get made after it (gone).
		return ok && s.gone(gen) <= e.all
	}
	return ok
}

// allSince reports whether a ForgetAll came since e was read (its count
// changed): a Set that reads it after its tag versions were read tells
// whether those may be of a generation made after a ForgetAll that came
// after its supersede, whose delete failed and was retried before the read
// (see Memoized.Set), where it is a ForgetAll of its own generation
// (forgotSince, read once the delete is waited for).
func (s *memoShared) allSince(e *memoEpoch) bool { return s.all.Load() != e.all }

// mayReplaceHook, when set, is called by mayReplace with its key between
// its check of the key's settled epoch and its reading of the generation's
// count (all): a test makes a ForgetAll there. Nil outside tests; set only
// by a test that does not run in parallel, and reset when it ends.
var mayReplaceHook func(key string)

// mayWrite reports whether the computation that read e is to store its
// result, or remove its key's entry, holding the key's write lock (a
// negative answer without it is final: neither a change of epoch nor a
// write is undone). It is while e is current; and, for a replacement
// (Refresh's, a forced Get's, a background refresh's: epochOfMode)
// superseded by a later call, while none of the later calls has written
// (mayReplace), as Set and Forget do: its write lands first, and the later call's, made holding the
// lock after it, lands over it. Without it, a Refresh superseded by a Set
// whose store is slow, or by a Refresh still computing, would return its
// new result and leave the entry of before it served until the later call
// writes, though it returned. A background refresh is a replacement
// here: a Refresh or forced Get that joined it returns its result as
// replacing the entry. A Get's miss stores only while current: nobody was
// told its result replaced the entry.
func (s *memoShared) mayWrite(e *memoEpoch, gen generation) bool {
	if s.current(e) {
		return true
	}
	return e.replacing && s.mayReplace(e, gen)
}

// maxLanded is how many generation keys memoShared.landed keeps: one for
// a name of its own; for OtherName's, those of the names past
// maxNamedCounters whose ForgetAll landed last. One dropped refuses no
// write after it: the write, under the versions read before that
// ForgetAll's delete, is a miss (a replacement's read after it computes
// after it; a Set that read them after removes the entry instead).
const maxLanded = 64

// landedOf returns all's count of the last ForgetAll whose delete of the
// generation gen landed, and of the last ForgetAll of gen (0: none, or no
// longer kept).
func (s *memoShared) landedOf(gen string) (landed, forgot uint64) {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	return s.landed[gen], s.forgot[gen]
}

// landedAt records the ForgetAll counted n of the generation gen, whose
// delete landed if landed is set. The caller holds saveMu.
func (s *memoShared) landedAt(gen string, n uint64, landed bool) {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	var dropped uint64
	s.forgot, dropped = keepLatest(s.forgot, gen, n)
	s.forgotDropped = max(s.forgotDropped, dropped)
	if landed {
		s.landed, _ = keepLatest(s.landed, gen, n)
	}
}

// forgotSince reports whether a ForgetAll of the generation gen may have
// come since e was read: its count in forgot is later, or gen is not there
// and a later count was dropped from it (maxLanded), which may be gen's.
// Past maxNamedCounters names, the ForgetAlls of the other names sharing
// OtherName's memoShared change all too, and are told apart here. The
// caller has waited for saveMu since all changed (mayReplace): a ForgetAll
// counted before records its generation before it releases saveMu.
func (s *memoShared) forgotSince(e *memoEpoch, gen string) bool {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	n, ok := s.forgot[gen]
	return n > e.all || !ok && s.forgotDropped > e.all
}

// keepLatest sets m[k] to n, made if nil, dropping the key of the lowest
// count first where m holds maxLanded keys already, and returns m with the
// count dropped (0: none).
func keepLatest(m map[string]uint64, k string, n uint64) (map[string]uint64, uint64) {
	if m == nil {
		m = make(map[string]uint64, 1)
	}
	var dropped uint64
	if _, ok := m[k]; !ok && len(m) >= maxLanded {
		oldest := ""
		for k, c := range m {
			if oldest == "" || c < m[oldest] {
				oldest = k
			}
		}
		dropped = m[oldest]
		delete(m, oldest)
	}
	m[k] = n
	return m, dropped
}

// generation is a memoized function's generation key, with its Cache's
// retry set and life (ended by Close), for mayReplace.
type generation struct {
	key     string
	pending *pendingInvalidations
	life    context.Context
}

// waits reports whether the delete of the generation waits for its retry
// (pendingInvalidations.waits), or may never have landed: once the Cache
// is closed, the set no longer holds a delete that Close's last attempt
// did not make (it dropped it), nor one that failed after (never added),
// and the entry of before it is still served elsewhere until its TTL.
// The set is read first: Close ends life before it drops the set.
func (g generation) waits() bool { return g.pending.waits(g.key) || g.life.Err() != nil }

// lockWrite takes the write lock of e's key (keyEpoch.wmu), waiting at
// most wait (none: for as long as ctx) for a write of the key in
// progress; the caller calls unlockWrite once its write has landed or
// failed.
func (s *memoShared) lockWrite(ctx context.Context, e *memoEpoch, wait time.Duration) error {
	select {
	case e.ke.wmu <- struct{}{}:
		return nil
	default:
	}
	if wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	select {
	case e.ke.wmu <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// unlockWrite releases the write lock that lockWrite took.
func (s *memoShared) unlockWrite(e *memoEpoch) { <-e.ke.wmu }

// supersede changes key's epoch, so that no computation of key in flight
// stores its result, and forgets those computations, so that no caller
// that comes after joins one. A store that checked its epoch before is
// not waited for: a write of the caller's is made after it (keyEpoch.wmu).
func (s *memoShared) supersede(key string) {
	s.saveMu.RLock()
	s.emu.Lock()
	if ke := s.epochs[key]; ke != nil {
		ke.n.Add(1)
	}
	s.emu.Unlock()
	s.saveMu.RUnlock()
	s.forget(key)
}

// overtake changes key's epoch, as supersede does, for a caller that took
// the place of key's overdue computation in its flight (collapseBound,
// flight.Group.DoBounded): the computations of key in flight then store
// nothing (a replacement, only while nothing was written since:
// mayWrite), so that the stuck one, ending later, does not store its
// older result over the taker's. Unlike supersede, it forgets no
// computation: the taker's is key's call now, which the callers that come
// after join. It is called holding the flight's lock (the order is the
// flight's, then emu, as for leads).
func (s *memoShared) overtake(key string) {
	s.emu.Lock()
	defer s.emu.Unlock()
	if ke := s.epochs[key]; ke != nil {
		ke.n.Add(1)
	}
}

// supersedeHeld is supersede for a replacement (Refresh, a forced Get, a
// background refresh) or a Set: it also registers the caller, as epochOf
// does (the caller calls done when it returns), so that key's epoch, and
// what memoShared.owed reads in it, is kept until then. A replacement it
// superseded may end unstored before the caller's computation begins (its
// ArgTags, its argument's copy, a wait run first): with no computation in
// flight, done would drop that record, and the caller's computation, if
// its fn failed, would find nothing owed and leave the entry of the data
// before the update served, though the superseded one's caller got its
// new result. The epoch returned is the one after the change: settle with
// it settles every computation begun before (Set's store).
func (s *memoShared) supersedeHeld(key string) memoEpoch {
	return s.supersedeHeldMode(key, false)
}

// supersedeSeeking is supersedeHeld for a Refresh or forced Get, which
// may join a background refresh begun after its supersede (a stale hit's)
// and return its result as replacing the entry: until it returns (done),
// such a refresh is pending as a replacement's computation is
// (keyEpoch.seeking, epochBackground).
func (s *memoShared) supersedeSeeking(key string) memoEpoch {
	return s.supersedeHeldAs(key, false, true)
}

// supersedeHeldMode is supersedeHeld for a caller that replaces key's
// entry itself, with the epoch returned, if replacing is set (Set, and
// Forget, whose replacement is no entry): it is pending as a
// replacement's computation is (epochOfMode) until it settles or ends,
// so that a replacement that supersedes it and whose fn fails removes
// the entry it did not replace (memoShared.owed).
func (s *memoShared) supersedeHeldMode(key string, replacing bool) memoEpoch {
	return s.supersedeHeldAs(key, replacing, false)
}

// supersedeHeldAs is supersedeHeldMode, which registers a seeker
// (supersedeSeeking) if seeking is set, with the change of epoch: a
// background refresh that reads the epoch after it finds it.
func (s *memoShared) supersedeHeldAs(key string, replacing, seeking bool) memoEpoch {
	s.saveMu.RLock()
	s.emu.Lock()
	ke := s.keyEpochOf(key)
	e := memoEpoch{key: key, ke: ke, n: ke.n.Add(1), all: s.all.Load(), replacing: replacing, seeker: seeking}
	if replacing {
		ke.pend(&e)
	}
	if seeking {
		ke.seeking = append(ke.seeking, e.n)
	}
	s.emu.Unlock()
	s.saveMu.RUnlock()
	s.forget(key)
	return e
}

// supersedeWithin is supersedeHeld for a Refresh or forced Get of key in
// group made from within a computation of key (ctx is made within it:
// withinItself), which computes inline (it joins none) and stores its
// result: it supersedes every computation of key in flight but those it
// is made within, which wait for it (their fn calls it; it waits for none
// of them), and whose results hold its own: those still current are
// lifted to the new epoch
// (memoEpoch.lifted), and store their results after its own, as if they
// had begun after its supersede. Without it, a Refresh begun before the
// update the call is made for, and still computing, stored its older
// result after the call returned its own. The computations it is made
// within that were superseded already stay so.
func (s *memoShared) supersedeWithin(ctx context.Context, group any, key string) memoEpoch {
	s.saveMu.RLock()
	s.emu.Lock()
	ke := s.keyEpochOf(key)
	e := memoEpoch{key: key, ke: ke, n: ke.n.Add(1), all: s.all.Load()}
	for c := range enclosing(ctx, group, key) {
		// ke.n changes only holding emu, and all only holding saveMu
		// (written): ce was current just before this change.
		if ce := c.memo; ce != nil && ce.ke == ke && ce.all == e.all && ce.at() == e.n-1 {
			ce.lifted = e.n
		}
	}
	s.emu.Unlock()
	s.saveMu.RUnlock()
	s.forget(key)
	return e
}

// supersedeAll is supersede for every key of the name, which calls del
// (ForgetAll's delete of the generation) holding saveMu: a Set or Refresh
// that supersedes after it waits for the delete, and so reads the
// generation after it, rather than store under the one deleted, where
// the later call is to win. del is bounded: every supersede of the name
// waits for it. A store in progress is not waited for: it checked its
// epoch before, and its entry, under the generation deleted, is a miss
// wherever it lands. del returns the error of its delete of the
// generation gen (nil: landed, see landed); one that failed waits in the
// retry set (ErrClosed too, while the Cache is open: retryInvalidation),
// and gone counts it once its retry has landed. Past the Cache's Close,
// which drops the deletes it could not make, gone never counts a failed
// one (generation.waits).
func (s *memoShared) supersedeAll(gen string, del func() error) {
	s.saveMu.Lock()
	n := s.all.Add(1)
	s.landedAt(gen, n, del() == nil)
	s.saveMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		g.ForgetAll()
	}
}

// forget makes a caller of key that comes after it start a computation,
// not join one in flight (see flight.Group.Forget).
func (s *memoShared) forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		g.Forget(key)
	}
}

// memoCalls returns the group of the computations in flight of s's
// Memoized values whose result type is R, created on first use, whose
// computations are stamped with the time they began by now (the Cache's
// clock): a background refresh joins one only if it began after the entry
// it replaces was stored (see Memoized.refreshInBackground).
func memoCalls[R any](s *memoShared, now func() int64) *flight.Group[string, epoched[R]] {
	t := reflect.TypeFor[R]()
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.groups[t].(*flight.Group[string, epoched[R]]); ok {
		return g
	}
	g := &flight.Group[string, epoched[R]]{Stamp: now}
	if s.groups == nil {
		s.groups = make(map[reflect.Type]flightForgetter)
	}
	s.groups[t] = g
	return g
}

// memo returns what the Memoized values of name share, created on first
// use. Past maxNamedCounters-1 names (should a name ever come from a
// request), the others share OtherName's: their ForgetAll then stops the
// computations of every key of those names too (a Get's result not stored,
// and computed again), never fewer than their own; a write that replaces
// an entry (Set, Forget, a Refresh's) is refused only by a ForgetAll of
// its own name's generation (memoShared.landed).
// Forget, Set and Refresh stop their own key's only: keys hold the name.
func (r *registry) memo(name string) *memoShared {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.memos[name]; ok {
		return s
	}
	if r.memos == nil {
		r.memos = make(map[string]*memoShared)
	}
	if len(r.memos) >= maxNamedCounters-1 {
		name = OtherName
		if s, ok := r.memos[name]; ok {
			return s
		}
	}
	s := new(memoShared)
	r.memos[name] = s
	return s
}
