package caching

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
)

// The loads of GetOrSet and the renders of Fragment in flight, by the store
// key they are to be stored under, so that a write or delete of that key
// through the direct API (Set, SetAs, Add, SetMany, Incr, Delete,
// DeleteMany, Clear) supersedes them: a load that began before the write
// does not store its result (which may predate the write: "update the
// database, then delete the cache key"), and a caller that comes after the
// write does not join it but loads anew. This is Memoized.Forget's epoch,
// per key: a write of one key costs nothing to the loads of the others.

// keyLoads is the set of loads in flight of one Cache.
type keyLoads struct {
	// n is the number of loads in flight: a write when none is finds it
	// out with one atomic load, and takes no lock.
	n     atomic.Int64
	mu    sync.Mutex
	loads map[string][]*loading
}

// loading is one load in flight, from begin to end.
type loading struct {
	// mu orders a write's supersede against the load's store: a store that
	// began before the write ends before the write goes on (and so is
	// overwritten or deleted by it); one that begins after stores nothing.
	mu         sync.Mutex
	superseded bool
}

// begin registers a load of key, before it reads anything (the stored
// value, the data it loads), and returns it. end must follow.
func (k *keyLoads) begin(key string) *loading {
	l := new(loading)
	k.mu.Lock()
	if k.loads == nil {
		k.loads = make(map[string][]*loading)
	}
	k.loads[key] = append(k.loads[key], l)
	k.n.Add(1)
	k.mu.Unlock()
	return l
}

// end removes l, a load of key, once it is over.
func (k *keyLoads) end(key string, l *loading) {
	k.mu.Lock()
	ls := k.loads[key]
	if i := slices.Index(ls, l); i >= 0 {
		ls = slices.Delete(ls, i, i+1)
	}
	if len(ls) == 0 {
		delete(k.loads, key)
	} else {
		k.loads[key] = ls
	}
	k.n.Add(-1)
	k.mu.Unlock()
}

// store runs save, l's store of its result, unless a write of its key
// superseded l.
func (l *loading) store(save func() error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.superseded {
		return nil
	}
	return save()
}

// of returns the loads in flight of keys, or nil when there are none.
func (k *keyLoads) of(keys []string) []*loading {
	if k.n.Load() == 0 {
		return nil
	}
	var ls []*loading
	k.mu.Lock()
	for _, key := range keys {
		ls = append(ls, k.loads[key]...)
	}
	k.mu.Unlock()
	return ls
}

// all returns every load in flight, or nil when there are none.
func (k *keyLoads) all() []*loading {
	if k.n.Load() == 0 {
		return nil
	}
	var ls []*loading
	k.mu.Lock()
	for _, kl := range k.loads {
		ls = append(ls, kl...)
	}
	k.mu.Unlock()
	return ls
}

// supersede makes the loads ls unable to store their results. It waits for
// a store of theirs that is under way (not with keyLoads.mu held: a slow
// store of one key must not hold up the loads of the others).
func supersede(ls []*loading) {
	for _, l := range ls {
		l.mu.Lock()
		l.superseded = true
		l.mu.Unlock()
	}
}

// writing is called by the direct API on each side of its write or delete
// of the store keys keys. Before the write, it supersedes the loads of
// those keys in flight, so that none stores its older result over the
// write; after it, those that began while the write ran (one may have
// read what the write replaced, and none may store after the write
// returned). Either time it makes the callers that come next start a new
// load rather than join one of those. When nothing is in flight it costs
// three atomic loads.
func (c *Cache) writing(keys ...string) {
	supersede(c.inFlight.of(keys))
	for _, key := range keys {
		c.loads.Forget(key)
		c.fragments.Forget(key)
	}
}

// writingAll is writing for every key (Clear).
func (c *Cache) writingAll() {
	supersede(c.inFlight.all())
	c.loads.ForgetAll()
	c.fragments.ForgetAll()
}

// writeDirect stores ws, writes of the direct API, superseding the loads
// of their keys in flight (see writing).
func (c *Cache) writeDirect(ctx context.Context, ws ...write) error {
	var keys []string
	if len(ws) == 1 {
		keys = []string{ws[0].key}
	} else {
		keys = make([]string, len(ws))
		for i, w := range ws {
			keys[i] = w.key
		}
	}
	c.writing(keys...)
	defer c.writing(keys...)
	return c.store.write(ctx, ws...)
}
