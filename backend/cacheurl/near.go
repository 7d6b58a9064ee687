package cacheurl

import (
	"log/slog"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/near"
)

// withNear wraps the opener of a remote scheme: with near=1 (and the
// near_* parameters) the store it opens gets a near cache in front of it
// (backend/near). Its Logger is slog.Default() (as Open is called): a URL
// has no way to name one, and a watch the server refuses leaves the near
// cache unused for as long as the server's configuration stays, which no
// one would learn of otherwise (as net/http's Server logs to the log
// package's standard logger without an ErrorLog).
func withNear(open func(*cacheURL) (backend.Backend, error)) func(*cacheURL) (backend.Backend, error) {
	return func(u *cacheURL) (backend.Backend, error) {
		p := u.params
		tuned := p.has("near_max_stale") || p.has("near_max_entries") || p.has("near_max_bytes")
		on := p.boolean("near")
		opts := near.Options{
			MaxStale:   p.duration("near_max_stale", positive),
			MaxEntries: p.integer("near_max_entries", 0, maxCount, wantCount),
			MaxBytes:   p.size("near_max_bytes", false),
			Logger:     slog.Default(),
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
