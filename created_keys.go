package caching

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
)

// createdKeys tracks the path version keys that view runs in progress
// created and may delete again (view.run: a response not stored), and the
// ArgTags version keys that memoized computations in progress created
// (Memoized.computeTo: a result not stored), and whether an entry was saved
// under one of them since (store.prepare). A key of a path is shared by all
// its query strings, variants and hosts: a slow 404 of /product?id=bogus
// that created p//product must not delete it when /product?id=1 stored its
// page under it meanwhile, or every client asking for random ids, one
// request after another, would keep the page a miss. So is a tag made of an
// argument (user:42) by the results of every argument and function that
// make it.
//
// Only this process's saves are seen: a save in another process, or in the
// instant between the key's creation and its tracking, is not, and its
// entry becomes a miss when the key is deleted (one miss, never a wrong
// response: the next request makes a new version). While no key is
// tracked, a save pays one atomic load; the map is read under its lock
// only while runs that created a key are in progress.
//
// The zero value is ready to use; it is safe for concurrent use.
type createdKeys struct {
	n  atomic.Int64 // the references in m: 0 when nothing is tracked
	mu sync.Mutex
	m  map[string]*createdKey
}

// createdKey is a tracked key: how many runs track it, and whether an entry
// was saved under it since the first began to.
type createdKey struct {
	refs  int
	saved bool
}

// track starts tracking keys, which a run created; each is untracked once
// by forget or keep.
func (t *createdKeys) track(keys []string) {
	if len(keys) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[string]*createdKey)
	}
	for _, k := range keys {
		ck := t.m[k]
		if ck == nil {
			ck = &createdKey{}
			t.m[k] = ck
		}
		ck.refs++
	}
	t.n.Add(int64(len(keys)))
}

// saved records that an entry is saved under keys, the tag keys of its
// versions.
func (t *createdKeys) saved(keys []string) {
	if t.n.Load() == 0 || len(keys) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if ck := t.m[k]; ck != nil {
			ck.saved = true
		}
	}
}

// untrack stops tracking keys, and returns those under which no entry was
// saved meanwhile.
func (t *createdKeys) untrack(keys []string) (unsaved []string) {
	if len(keys) == 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		ck := t.m[k]
		if ck == nil {
			unsaved = append(unsaved, k) // not tracked: deleted as before
			continue
		}
		if !ck.saved {
			unsaved = append(unsaved, k)
		}
		if ck.refs--; ck.refs == 0 {
			delete(t.m, k)
		}
		t.n.Add(-1)
	}
	return unsaved
}

// keepCreated stops tracking keys, version keys a view run or a memoized
// computation created (track), which are kept.
func (s *store) keepCreated(keys []string) { s.created.untrack(keys) }

// forgetCreatedKeys stops tracking keys, path version keys a view run
// created (track), and deletes those under which no entry was saved in
// this process since (forgetKeys). (A memoized computation does the same
// with untrack: see Memoized.forgetCreated.)
func (s *store) forgetCreatedKeys(ctx context.Context, keys []string) {
	s.forgetKeys(ctx, s.created.untrack(keys))
}

// decidingKeys are the path version keys whose decision (keep or delete:
// view.decideAfter) a run handed on to a goroutine of its own, made after
// its request's ServeHTTP returned. A read of their versions in this
// process waits for the decisions pending as it starts (wait): made
// before, it would see a key that is about to be deleted, and an entry
// stored under it would be a miss; a request sent after another's response
// (the next of a keep-alive connection) finds the key as if the decision
// had been made before that response, as it was. The zero value is ready to
// use; it is safe for concurrent use.
type decidingKeys struct {
	n  atomic.Int64 // the keys in m: 0 when no decision is pending
	mu sync.Mutex
	m  map[string][]chan struct{} // closed once its decision is made
}

// add marks keys as being decided for, until done is called.
func (d *decidingKeys) add(keys []string) (done func()) {
	ch := make(chan struct{})
	d.mu.Lock()
	if d.m == nil {
		d.m = make(map[string][]chan struct{})
	}
	for _, k := range keys {
		d.m[k] = append(d.m[k], ch)
	}
	d.n.Add(int64(len(keys)))
	d.mu.Unlock()
	return func() {
		d.mu.Lock()
		for _, k := range keys {
			chs := slices.DeleteFunc(d.m[k], func(c chan struct{}) bool { return c == ch })
			if len(chs) == 0 {
				delete(d.m, k)
			} else {
				d.m[k] = chs
			}
		}
		d.n.Add(-int64(len(keys)))
		d.mu.Unlock()
		close(ch)
	}
}

// wait waits until the decisions pending for any of keys as it is called
// are made, or ctx ends (its error). Later decisions are not waited for:
// a key asked for again and again is not held up without end.
func (d *decidingKeys) wait(ctx context.Context, keys []string) error {
	if d.n.Load() == 0 {
		return nil
	}
	var pending []chan struct{}
	d.mu.Lock()
	for _, k := range keys {
		pending = append(pending, d.m[k]...)
	}
	d.mu.Unlock()
	for _, ch := range pending {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
