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
	keep := func(l *heldLease) { o.released(l, nil, l) }     // its release failed unmade
	inFlight := o.releasing(lease("in flight", time.Minute)) // ends first
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
	l, _ := o.take(t.Context(), "kept 1", 0)
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
