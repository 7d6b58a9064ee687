package caching

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOwnedLeasesCapEvictsOldestKept: past maxOwnedLeases kept leases
// (their release failed before it reached the backend), the one kept
// first is dropped, whatever its end; a release still in flight is never
// dropped (the key's next leader waits for it: settle, take), nor counted,
// bounded as it is by the work in flight. Before, the cap counted both,
// and dropped the lease that ended first: here the release in flight.
func TestOwnedLeasesCapEvictsOldestKept(t *testing.T) {
	var o ownedLeases
	now := time.Now()
	lease := func(key string, end time.Duration) *heldLease {
		return &heldLease{key: key, d: time.Hour, end: now.Add(end), margin: leaseRoundTrips}
	}
	keep := func(l *heldLease) { o.released(l, nil, l) }           // its release failed unmade
	inFlight := o.releasing(lease("in flight", time.Minute), true) // ends first
	for i := range maxOwnedLeases {
		// Kept later, each ends sooner than the one before.
		keep(lease(fmt.Sprint("kept ", i), time.Hour-time.Duration(i)*time.Second))
	}
	assert.Same(t, inFlight, o.m["in flight"], "a release in flight was dropped")
	for _, k := range []string{"kept 0", fmt.Sprint("kept ", maxOwnedLeases-1)} {
		assert.NotNil(t, o.m[k], k)
	}
	keep(lease("kept last", time.Hour))
	assert.Same(t, inFlight, o.m["in flight"], "a release in flight was dropped")
	assert.Nil(t, o.m["kept 0"], "the oldest kept lease stays")
	for _, k := range []string{"kept 1", fmt.Sprint("kept ", maxOwnedLeases-1), "kept last"} {
		assert.NotNil(t, o.m[k], k)
	}
	assert.Equal(t, maxOwnedLeases+1, len(o.m))

	// A lease taken, forgotten or kept again leaves its place: the next
	// dropped is the oldest of those still kept.
	l, _ := o.take(t.Context(), "kept 1", 0, false, nil)
	require.NotNil(t, l)
	o.forget("kept 2")
	keep(lease("kept 3", time.Hour)) // kept again: newest now
	keep(lease("new 1", time.Hour))
	keep(lease("new 2", time.Hour))
	keep(lease("new 3", time.Hour))
	assert.Nil(t, o.m["kept 4"])
	assert.NotNil(t, o.m["kept 3"])
	assert.NotNil(t, o.m["kept 5"])
	assert.Same(t, inFlight, o.m["in flight"])
	o.released(inFlight.l, inFlight, nil)
	assert.Nil(t, o.m["in flight"])
	assert.Equal(t, maxOwnedLeases, len(o.m))
}

// TestOwnedLeasesMarksDoNotEvictKeptLeases: this process's "not stored"
// marks (heldLease.mark) are kept with its leases, under a cap of their
// own. Before, they shared the kept leases' cap: maxOwnedLeases marks set
// within their second (a scan of URLs that answer 404, each its own key)
// dropped a lease kept after its release failed, and that key's next
// leader waited for the whole lease instead of taking it over. Past the
// cap, the mark kept first is dropped, never a lease.
func TestOwnedLeasesMarksDoNotEvictKeptLeases(t *testing.T) {
	var o ownedLeases
	now := time.Now()
	keep := func(key string, mark bool) {
		l := &heldLease{key: key, d: time.Hour, end: now.Add(time.Hour), margin: leaseRoundTrips, mark: mark}
		o.released(l, nil, l)
	}
	keep("lease", false)
	for i := range maxOwnedLeases + 1 {
		keep(fmt.Sprint("mark ", i), true)
	}
	assert.NotNil(t, o.m["lease"], "a kept lease was dropped for the marks")
	assert.Nil(t, o.m["mark 0"], "the mark kept first stays past the cap")
	assert.NotNil(t, o.m["mark 1"])
	assert.NotNil(t, o.m[fmt.Sprint("mark ", maxOwnedLeases)])
	assert.Equal(t, maxOwnedLeases+1, len(o.m))

	// A lease kept again under a marked key takes the mark's place in the
	// leases' count, and leaves the marks'.
	keep("mark 1", false)
	keep("mark new", true)
	assert.NotNil(t, o.m["mark 2"], "a mark was dropped though one left the marks")
	for i := range maxOwnedLeases {
		keep(fmt.Sprint("lease ", i), false)
	}
	assert.Nil(t, o.m["lease"], "the lease kept first stays past the cap")
	assert.Nil(t, o.m["mark 1"], "the lease kept second stays past the cap")
	assert.NotNil(t, o.m["mark 2"], "a mark was dropped for the leases")
	assert.NotNil(t, o.m["mark new"], "a mark was dropped for the leases")
}
