package caching

import (
	"testing"
	"time"

	"github.com/go-caching/caching/backend"
)

// TestPrepareRemoteFreshOnlyReadsNoClock: a remote store's entry with a
// freshness bound and no expiry (a SharedCache entry with validators under
// a Forever TTL) is prepared without reading the clock; one with an expiry
// reads it once, for its TTL.
func TestPrepareRemoteFreshOnlyReadsNoClock(t *testing.T) {
	t.Parallel()
	base := time.Unix(1_700_000_000, 0)
	reads := 0
	s := &store{clock: func() time.Time { reads++; return base }}
	fresh := base.Add(time.Hour).UnixNano()
	for _, tc := range []struct {
		name  string
		e     entry
		reads int
		ttl   time.Duration
	}{
		{name: "fresh bound, no expiry", e: entry{FreshUntil: fresh}, reads: 0, ttl: 0},
		{name: "no bounds", e: entry{}, reads: 0, ttl: 0},
		{name: "expiry", e: entry{FreshUntil: fresh, StaleUntil: base.Add(2 * time.Hour).UnixNano()}, reads: 1, ttl: 2 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reads = 0
			e := tc.e
			if ttl := s.prepare(&e, versionSet{}); ttl != tc.ttl {
				t.Errorf("TTL %v, want %v", ttl, tc.ttl)
			}
			if reads != tc.reads {
				t.Errorf("clock read %d times, want %d", reads, tc.reads)
			}
			if !e.storeExpires {
				t.Error("storeExpires unset: the store holds the entry for its life")
			}
		})
	}
}

// TestPrepareLocalFreshOnlyReadsTheClock: an in-process store's entry with
// a freshness bound and no expiry still reads the clock once, for its
// write time (entry.clockAt reads its freshness from it): the remote
// store's shortcut is not the local one's.
func TestPrepareLocalFreshOnlyReadsTheClock(t *testing.T) {
	t.Parallel()
	base := time.Unix(1_700_000_000, 0)
	reads := 0
	s := &store{clock: func() time.Time { reads++; return base }, local: inertValueStore{}}
	e := entry{FreshUntil: base.Add(time.Hour).UnixNano()}
	if ttl := s.prepare(&e, versionSet{}); ttl != 0 {
		t.Errorf("TTL %v, want 0", ttl)
	}
	if reads != 1 {
		t.Errorf("clock read %d times, want 1", reads)
	}
	if !e.written || e.writtenWall != base.UnixNano() {
		t.Errorf("write time not kept: written %v, at %d", e.written, e.writtenWall)
	}
}

// inertValueStore is a backend.ValueStore that prepare only tells from
// nil: none of its methods is called.
type inertValueStore struct{ backend.ValueStore }
