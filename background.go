package caching

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
)

// Background work is what the Cache does on goroutines of its own, for
// nobody waiting: the refreshes of StaleWhileRevalidate, RefreshAhead and
// StaleIf. It runs with the values of the context it was started from (a
// request's: what a handler or function reads from it), never with that
// context's cancellation or deadline (the client that caused it has its
// answer and may leave), and ends with the Cache: Close cancels its
// contexts, and none starts after Close.

// background is the part of a Cache that background work needs.
type background struct {
	life   context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the goroutines started by goBackground
	// warming counts the Warm calls in progress, so that a view looks for
	// Warm's context value only while one is (see view.warmProbe).
	warming atomic.Int32
}

func (b *background) start() { b.life, b.cancel = context.WithCancel(context.Background()) }

func (b *background) stop() { b.cancel() }

// detach returns the context of background work started from ctx: ctx's
// values, and the Cache's life for cancellation.
func (b *background) detach(ctx context.Context) context.Context {
	return detached{Context: b.life, values: context.WithoutCancel(ctx)}
}

// goBackground runs fn on a goroutine of its own and reports true, or
// reports false and runs nothing once the Cache is closed.
func (b *background) goBackground(fn func()) bool {
	if b.life.Err() != nil {
		return false
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		fn()
	}()
	return true
}

// wait waits for the background goroutines started so far (tests).
func (b *background) wait() { b.wg.Wait() }

// detached is the context of background work: Done, Err and Deadline are
// the Cache's life's, values are those of the context the work was started
// from (first; then the life's, which has none but its own cancellation,
// found by the context package when a context is derived from this one).
type detached struct {
	context.Context                 // the Cache's life
	values          context.Context // context.WithoutCancel of the starter's
}

func (d detached) Value(key any) any {
	if v := d.values.Value(key); v != nil {
		return v
	}
	return d.Context.Value(key)
}

// backgroundRequest returns the request a background refresh of r's entry
// runs the handler with: a GET of r's URL, with r's Host, TLS state, path
// values and context values, but the Cache's life for cancellation (not
// the client's), no body, and only the headers the entry depends on: those
// named by the stored response's Vary (names). A view keyed by user
// (UserKey) keeps all of r's headers: the entry is that user's own, and the
// handler needs them to know whose. So does a view keyed by its own
// KeyFunc: its key may be built from any header (a tenant, a locale), and a
// refresh without it would store another key's response under this one.
func (v *view) backgroundRequest(r *http.Request, names []string) *http.Request {
	r2 := r.Clone(v.c.detach(r.Context()))
	r2.Method = http.MethodGet
	r2.Body, r2.GetBody, r2.ContentLength = http.NoBody, nil, 0
	r2.Form, r2.PostForm, r2.MultipartForm, r2.Trailer = nil, nil, nil, nil
	if v.cfg.userFunc == nil && v.keyFunc == nil {
		h := make(http.Header, len(names))
		for _, n := range names {
			if vs, ok := r.Header[n]; ok {
				h[n] = slices.Clone(vs)
			}
		}
		r2.Header = h
	}
	return r2
}
