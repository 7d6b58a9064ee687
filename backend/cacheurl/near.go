package cacheurl

import (
	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/near"
)

// withNear wraps the opener of a remote scheme: with near=1 (and the
// near_* parameters) the store it opens gets a near cache in front of it
// (backend/near).
func withNear(open func(*cacheURL) (backend.Backend, error)) func(*cacheURL) (backend.Backend, error) {
	return func(u *cacheURL) (backend.Backend, error) {
		p := u.params
		tuned := p.has("near_max_stale") || p.has("near_max_entries") || p.has("near_max_bytes")
		on := p.boolean("near")
		opts := near.Options{
			MaxStale:   p.duration("near_max_stale", positive),
			MaxEntries: p.integer("near_max_entries", 0, maxCount, wantCount),
			MaxBytes:   p.size("near_max_bytes", false),
		}
		if tuned && !on {
			p.fail("near", "must be true (near=1) for near_max_stale, near_max_entries and near_max_bytes to apply")
		}
		b, err := open(u)
		if err != nil || !on {
			return b, err
		}
		n, err := near.New(b, opts)
		if err != nil {
			_ = b.Close()
			return nil, backendError(err)
		}
		return n, nil
	}
}
