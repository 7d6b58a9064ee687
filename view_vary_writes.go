package caching

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/httpcache"
)

// varyWrites makes, in this process, one read and write of a key's Vary
// record at a time, so that MaxVariants is exact here, without a lock held
// across the backend calls: while one request reads and writes the record,
// the requests that come to record other variants of the key join one
// batch, written next by one of them, in one read and one write. A request
// so waits for the write in flight and its batch's, not for each of the
// others' in turn (under a lock, the last of 30 concurrent misses waited
// for 29 reads and writes); and it waits for its batch's turn no longer
// than Options.Timeout, nor once its client left: its entry is then not
// stored, as when the backend fails. Once its batch is being written, it
// waits for that write, whose backend calls are each bounded.
type varyWrites struct {
	mu sync.Mutex
	// keys are the base keys whose record is being written, each with
	// the batch that requests join meanwhile (nil: none yet).
	keys map[string]*varyBatch
	// joinedHook, when not nil, is called with the size of a batch each
	// time a request joins it (tests: set before the view serves).
	joinedHook func(n int)
}

// varyBatch is the variants of one key written to its record in one read
// and one write.
type varyBatch struct {
	adds    []*varyAdd
	turn    chan struct{} // closed when the write before it is done
	done    chan struct{} // closed when it is written: each add has its reason
	started bool          // turn is closed: it joins no more adds
	claimed bool          // one of its requests writes it: none leaves it then
}

// varyAdd is one response's variant, to be recorded.
type varyAdd struct {
	r      *http.Request
	st     *runState
	names  []string
	h      variantID
	end    int64 // when the variant leaves the store (Unix nanoseconds)
	now    time.Time
	vs     versionSet
	reason httpcache.Reason // set by the write: reasonBackend until it is made
}

// recordVariant writes the Vary record of st.base with res's variant in it,
// counted until end (when its entry leaves the store), unless MaxVariants
// other variants are still stored (those recorded under other Vary names
// included): then it reports reasonVariants and nothing is written. The
// record is written again with every variant stored, so that it lives as
// long as the longest-lived of the variants it lists (each response has its
// own life in a SharedCache view), and without the variants that have left
// the store. When the record is being written already, the variant joins
// the next write (varyWrites); it reports reasonBackend, and nothing of it
// is written, when that one's turn does not come within Options.Timeout or
// r's client leaves first.
func (v *view) recordVariant(ctx context.Context, r *http.Request, st *runState, res viewResult, end int64, now time.Time, vs versionSet, evicted *simple.Evictions) httpcache.Reason {
	a := &varyAdd{
		r: r, st: st, names: res.names, h: v.c.variants.id(res.variant, res.names),
		end: end, now: now, vs: vs,
		reason: reasonBackend,
	}
	w := &v.varyWrites
	w.mu.Lock()
	b, busy := w.keys[st.base]
	if !busy {
		if w.keys == nil {
			w.keys = make(map[string]*varyBatch)
		}
		w.keys[st.base] = nil
		w.mu.Unlock()
		v.writeTurn(ctx, st.base, []*varyAdd{a}, nil, evicted)
		return a.reason
	}
	if b == nil {
		b = &varyBatch{turn: make(chan struct{}), done: make(chan struct{})}
		w.keys[st.base] = b
	}
	b.adds = append(b.adds, a)
	n := len(b.adds)
	w.mu.Unlock()
	if w.joinedHook != nil {
		w.joinedHook(n)
	}
	return v.awaitRecord(ctx, st.base, b, a, evicted)
}

// awaitRecord waits for a's batch b to be written, and writes it when its
// turn comes, unless another of its requests does. It waits for the turn
// no longer than the write in flight may take when the backend is slow but
// answers (a read and a write, each bounded by Options.Timeout), nor once
// a's client left; once b is being written, for that write, whose backend
// calls are each bounded.
func (v *view) awaitRecord(ctx context.Context, base string, b *varyBatch, a *varyAdd, evicted *simple.Evictions) httpcache.Reason {
	w := &v.varyWrites
	timer := time.NewTimer(2*v.c.store.timeout + v.c.store.timeout/4)
	defer timer.Stop()
	select {
	case <-b.turn:
		w.mu.Lock()
		mine := !b.claimed
		b.claimed = true
		adds := b.adds
		w.mu.Unlock()
		if mine {
			v.writeTurn(ctx, base, adds, b.done, evicted)
			return a.reason
		}
	case <-timer.C:
		if w.leave(base, b, a) {
			return reasonBackend
		}
	case <-a.r.Context().Done():
		if w.leave(base, b, a) {
			return reasonBackend
		}
	}
	<-b.done
	return a.reason
}

// leave takes a out of its batch b, whose turn did not come in time, and
// reports whether it did: not once b is being written.
func (w *varyWrites) leave(base string, b *varyBatch, a *varyAdd) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if b.claimed {
		return false
	}
	b.adds = slices.DeleteFunc(b.adds, func(x *varyAdd) bool { return x == a })
	if b.started && len(b.adds) == 0 {
		w.handOn(base) // its turn came, and no one is left to write it
	}
	return true
}

// writeTurn writes adds to base's record in its turn, then closes done
// (nil: none) and hands the turn on: also when the write panics, so that
// the key's next variants are not left waiting for a turn that never
// comes (their adds then report reasonBackend).
func (v *view) writeTurn(ctx context.Context, base string, adds []*varyAdd, done chan struct{}, evicted *simple.Evictions) {
	defer func() {
		if done != nil {
			close(done)
		}
		v.varyWrites.mu.Lock()
		v.varyWrites.handOn(base)
		v.varyWrites.mu.Unlock()
	}()
	v.writeRecord(ctx, base, adds, evicted)
}

// handOn ends the turn of the write of base's record that is done: the
// batch that joined meanwhile, if any, takes the next turn. w.mu is held.
func (w *varyWrites) handOn(base string) {
	if b := w.keys[base]; b != nil && len(b.adds) > 0 {
		w.keys[base] = nil // the next requests join a new batch
		b.started = true
		close(b.turn)
		return
	}
	delete(w.keys, base)
}

// writeRecord reads base's Vary record, records adds in it one after the
// other, as many as MaxVariants allows, and writes it, in one read and
// one write; it sets the reason of each add. The evictions of its write
// are put in evicted (store.saveDeferred), for the writer's store to tell
// once it has released the lock a Clear waits for.
func (v *view) writeRecord(ctx context.Context, base string, adds []*varyAdd, evicted *simple.Evictions) {
	last := adds[len(adds)-1]
	// Read the record again: another request may have added a variant since
	// the lookup.
	var cur *varySpec
	for _, a := range adds {
		if cur = a.st.f.spec; cur != nil {
			break
		}
	}
	if e, val, err := v.load(ctx, base, nil, last.now); err == nil {
		if cur, _ = val.(*varySpec); cur != nil {
			cur = cur.endingBy(addNanos(e.Created, maxVariantLife))
		}
	}
	var written []*varyAdd
	for _, a := range adds {
		next := a.onto(cur, v.cfg.maxVariants)
		if next == nil {
			a.reason = reasonVariants
			continue
		}
		cur = next
		written = append(written, a) // reasonBackend until the write is made
	}
	if len(written) == 0 {
		return
	}
	last = written[len(written)-1]
	// The record ends when the last of its variants does, not when this
	// one does: a short-lived variant (no-cache: a life of 0) must not take
	// the others out of reach, nor leave them in the store uncounted.
	life := cur.life()
	e := &entry{Created: last.now.UnixNano(), FreshUntil: life, StaleUntil: life}
	v.c.store.setEncoder(e, cur)
	if err := v.c.store.saveDeferred(ctx, base, e, last.vs, evicted); err != nil {
		v.failOpen(last.r, "view store", err)
		return
	}
	// Only now: were save to panic, the batch's other requests, handed on
	// by writeTurn, must not store entries no record lists.
	for _, a := range written {
		a.reason = httpcache.ReasonNone
	}
}

// onto returns cur, the record as it is (nil: none), with a's variant
// recorded, or nil when MaxVariants other variants are still stored.
func (a *varyAdd) onto(cur *varySpec, maxVariants int) *varySpec {
	if cur == nil {
		return &varySpec{names: a.names, variants: []variantID{a.h}, until: []int64{a.end}}
	}
	if !slices.Equal(cur.names, a.names) {
		// The response varies on other names than those recorded (a
		// CORS layer adds Origin only for a request with Origin): the
		// variants stored under the old names stay in the store until
		// they expire, out of reach of lookups keyed by the new ones.
		// They go on counting against MaxVariants (their keys are not
		// in the record, only their hashes, so they cannot be
		// deleted): without that, requests alternating between names
		// stored a variant each, the count starting again at one.
		cur = &varySpec{names: a.names, variants: cur.variants, until: cur.until}
	}
	return cur.withVariant(a.h, a.end, a.now.UnixNano(), maxVariants)
}
