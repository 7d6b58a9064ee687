package cacheurl

import (
	"context"
	"log/slog"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/near"
)

// withNear wraps the opener of a remote scheme: with near=1 (and the
// near_* parameters) the store it opens gets a near cache in front of it
// (backend/near). Its Logger writes to slog.Default() as it is at each
// record (defaultHandler): a URL has no way to name a logger, and a watch
// the server refuses leaves the near cache unused for as long as the
// server's configuration stays, which no one would learn of otherwise (as
// net/http's Server logs to the log package's standard logger without an
// ErrorLog).
func withNear(open func(*cacheURL) (backend.Backend, error)) func(*cacheURL) (backend.Backend, error) {
	return func(u *cacheURL) (backend.Backend, error) {
		p := u.params
		tuned := p.has("near_max_stale") || p.has("near_max_entries") || p.has("near_max_bytes")
		on := p.boolean("near")
		opts := near.Options{
			MaxStale:   p.duration("near_max_stale", positive),
			MaxEntries: p.integer("near_max_entries", 0, maxCount, wantCount),
			MaxBytes:   p.size("near_max_bytes", false),
			Logger:     slog.New(defaultHandler{}),
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

// defaultHandler is a slog.Handler that hands each record to the handler
// of slog.Default() as it is then, so that a program that calls
// slog.SetDefault after opening the URL (once its configuration is read)
// still gets the near cache's records. (slog.Default() itself, read at
// Open, would keep the logger of that moment: before slog.SetDefault, the
// log package's standard logger.) Its attributes and groups are applied to
// that handler at each record; the near cache adds none, and logs rarely
// (once per change of its watch).
//
// A default whose handler is a defaultHandler would hand each record to
// itself for ever: such a record is dropped. No program can set one (the
// type is unexported and no Logger of a near cache is handed out), but
// the check costs a type assertion.
type defaultHandler struct {
	ops []handlerOp // WithAttrs and WithGroup, in order
}

// handlerOp is one WithAttrs (group "") or WithGroup (attrs nil) call.
type handlerOp struct {
	group string
	attrs []slog.Attr
}

// current returns the default handler with h's attributes and groups, or
// nil when the default is a defaultHandler.
func (h defaultHandler) current() slog.Handler {
	d := slog.Default().Handler()
	if _, loop := d.(defaultHandler); loop {
		return nil
	}
	for _, op := range h.ops {
		if op.attrs != nil {
			d = d.WithAttrs(op.attrs)
		} else {
			d = d.WithGroup(op.group)
		}
	}
	return d
}

func (h defaultHandler) Enabled(ctx context.Context, level slog.Level) bool {
	d := slog.Default().Handler()
	if _, loop := d.(defaultHandler); loop {
		return false
	}
	return d.Enabled(ctx, level)
}

func (h defaultHandler) Handle(ctx context.Context, r slog.Record) error {
	d := h.current()
	if d == nil {
		return nil
	}
	return d.Handle(ctx, r)
}

func (h defaultHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.with(handlerOp{attrs: attrs})
}

func (h defaultHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(handlerOp{group: name})
}

// with returns h with op appended, sharing nothing h's other copies append to.
func (h defaultHandler) with(op handlerOp) defaultHandler {
	ops := make([]handlerOp, len(h.ops), len(h.ops)+1)
	copy(ops, h.ops)
	return defaultHandler{ops: append(ops, op)}
}
