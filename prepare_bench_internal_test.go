package caching

import (
	"testing"
	"time"
)

// BenchmarkPrepareRemoteFreshOnly: a remote store's entry with a
// freshness bound and no expiry (a SharedCache entry with validators under
// a Forever TTL) is prepared without reading the clock.
func BenchmarkPrepareRemoteFreshOnly(b *testing.B) {
	s := &store{clock: time.Now}
	e := &entry{}
	fresh := time.Now().Add(time.Hour).UnixNano()
	b.ReportAllocs()
	for b.Loop() {
		*e = entry{FreshUntil: fresh}
		if s.prepare(e, versionSet{}) != 0 {
			b.Fatal("a TTL for an entry that never expires")
		}
	}
}
