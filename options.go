package caching

import (
	"context"
	"fmt"
	"time"
)

// Options are given to views (Cache.Cached and Cache.CachedMux, as
// ViewOption), to memoized functions (Memoize, as MemoOption), and to the
// direct API's writes (Set, SetAs, GetOrSet, as SetOption). An option's
// return type says where it applies. The options below apply to views and
// memoized functions alike, with one vocabulary: a view is a function of a
// request (its argument is the *http.Request, its result the *Response),
// a memoized function a function of its argument.
//
// Options are checked when the view or function is made: an option of the
// wrong type (BypassIf with another argument type than the function's) or
// two options that contradict each other are errors naming them.

// ViewOption configures a cached view (Cache.Cached, Cache.CachedMux).
type ViewOption interface{ applyView(*viewConfig) }

// MemoOption configures a memoized function (Memoize).
type MemoOption interface{ applyMemo(*memoConfig) }

// SetOption configures one write of the direct API (Set, SetAs, GetOrSet).
type SetOption interface{ applySet(*setConfig) }

// Option applies to cached views and memoized functions alike.
type Option interface {
	ViewOption
	MemoOption
}

// TagsOption is returned by Tags: it applies to views, memoized functions and
// direct writes.
type TagsOption struct{ tags []string }

// Tags attaches tags to the entries written: every entry of a view or
// memoized function with this option, or the one entry of a Set. A later
// InvalidateTags of any of these tags makes all of them misses, in every
// process sharing the backend. A tag's version key never expires: use a
// bounded set of tags (per-path invalidation, whose keys requests create,
// is InvalidatePath's, and its keys expire; so are those of ArgTags). An
// entry holds at most 1,024 tag versions, a memoized function's own
// generation and a view's path among them: a write with more is an error
// wrapping ErrInvalidOption (views and Memoize fail open, storing nothing;
// a memoized argument with more, counting its ArgTags, is a miss that reads
// nothing from the backend).
func Tags(tags ...string) TagsOption { return TagsOption{tags: append([]string(nil), tags...)} }

func (o TagsOption) applyView(c *viewConfig) { c.tags = append(c.tags, o.tags...) }
func (o TagsOption) applyMemo(c *memoConfig) { c.tags = append(c.tags, o.tags...) }
func (o TagsOption) applySet(c *setConfig)   { c.tags = append(c.tags, o.tags...) }

// commonConfig is the part of a view's and a memoized function's
// configuration that shared options set. The generic options are kept as
// values of type any and checked against the view's or function's types
// when it is made (see checkFunc).
type commonConfig struct {
	tags    []string
	version string
	swr     time.Duration // stale-while-revalidate window
	sie     time.Duration // stale-if-error window
	bypass  any           // func(context.Context, A) bool
	refresh any           // func(context.Context, A) bool
	keyFunc any           // func(A) string
	storeIf any           // func(R) bool
	ahead   time.Duration // RefreshAhead
	staleIf any           // func(R) bool

	lease    time.Duration // Lease (lease.go)
	leaseSet bool          // Lease was given: lease overrides Options.Lease

	// collapse is how long a call waits for another's run of its key
	// (CollapseTimeout): for a view, DefaultCollapseTimeout unless given
	// (plus the view's lease: newView); for a memoized function, its lease
	// plus DefaultCollapseTimeout unless given (Memoized.collapseBound);
	// negative, as long as that run takes.
	collapse    time.Duration
	collapseSet bool // CollapseTimeout given, not 0
}

// setConfig is the configuration of one write of the direct API.
type setConfig struct {
	tags []string
}

type commonOption func(*commonConfig)

func (o commonOption) applyView(c *viewConfig) { o(&c.commonConfig) }
func (o commonOption) applyMemo(c *memoConfig) { o(&c.commonConfig) }

// Version sets a source version for a view or a memoized function: entries
// written under another version are never served. Bump it when the code
// that produces them changes (Flask-Caching's source_check, made explicit).
// A change of a memoized function's result type needs no bump: its
// structure is in the key already (see Memoized).
func Version(v string) Option {
	return commonOption(func(c *commonConfig) { c.version = v })
}

// StaleWhileRevalidate keeps entries for d past their TTL and serves such a
// stale entry at once while one background call refreshes it. For a
// memoized function, a refresh whose result is not stored (StoreIf,
// SkipZero, a negative ResultTTL) removes the stale entry, as Refresh does,
// so that the next call computes the result; RefreshAhead's refresh does
// the same. Such a refresh joins a computation of the argument in flight in
// this process that began after the stale entry was stored (its result is
// no older than the entry's); one that began before (the entry was stored
// by another process meanwhile, by the clocks of the two) is neither
// joined nor lets its result be stored afterwards, as for Refresh: the
// refresh computes its own. A view's refresh reads the entry again as it
// starts, and runs nothing when the key holds one stored after the stale
// entry it was started for (by another refresh or run, in this process or
// another), and again before it writes (a refresh that outlasted the stale
// window, whose key a miss then ran and stored, stores nothing over it).
// At most 8 refreshes run at a time per view (per route of a CachedMux) or
// memoized function, one per entry; a stale hit that finds them all busy
// starts none. A refresh is never cancelled but by Close: one that never
// ends keeps the other refreshes of its entry in its process from starting
// (the entry is then served stale for the rest of its window, then
// missed: a memoized function's miss, which would join it, computes in its
// place once it has run for the function's CollapseTimeout (by default
// DefaultCollapseTimeout plus its Lease), and it then stores nothing over
// that result; see Memoize), and,
// once it has run for the view's or function's CollapseTimeout (by
// default DefaultCollapseTimeout, plus the Lease under one), it is overdue:
// it gives its place among the 8 to the next refresh of another entry, so
// that refreshes stuck on a hung dependency do not stop the others. At most
// 32 overdue refreshes per view's route or function give their place up;
// past that, they keep it. A negative CollapseTimeout makes none overdue. A
// zero d (the default) turns it off; a negative one is an error.
func StaleWhileRevalidate(d time.Duration) Option {
	return commonOption(func(c *commonConfig) { c.swr = d })
}

// StaleIfError keeps entries for d past their TTL and serves such a stale
// entry when the handler fails (5xx or panic), the function returns an
// error, or the backend cannot be reached for a fresh value. A zero d (the
// default) turns it off; a negative one is an error.
func StaleIfError(d time.Duration) Option {
	return commonOption(func(c *commonConfig) { c.sie = d })
}

// BypassIf skips the cache for the calls where f reports true: the handler
// or function runs, and nothing is read from or written to the cache
// (Flask-Caching's unless). For a view, A is *http.Request and ctx is the
// request's context; for a memoized function, A is its argument type. Use it
// for previews, administrators, or callers that must see their own writes.
// Default: never.
func BypassIf[A any](f func(ctx context.Context, a A) bool) Option {
	return commonOption(func(c *commonConfig) { c.bypass = f })
}

// RefreshIf makes the calls where f reports true run the handler or
// function and replace the stored entry, instead of reading it
// (Flask-Caching's forced_update). A is as for BypassIf. For a memoized
// function, such a call is as Refresh: it does not join a computation of
// its argument in flight in this process when it is called (which may have
// read the data before the update the call is forced for), and that
// computation does not store its result afterwards, so the call returns,
// and leaves stored, a result computed after it was made. Each forced call
// runs the function (of concurrent ones, the last made stores its result);
// the calls that are not forced made while it computes join it, but it
// takes no result from an unforced call's computation that began after it
// (see Memoized.Refresh). A result that is not stored (StoreIf, SkipZero, a
// negative ResultTTL, one the Codec cannot encode, one the backend did not
// store) removes the entry, as Refresh does, but for a forced call a
// delete that fails is logged and not retried, and none is made while the
// circuit breaker is open, nor for an argument with more ArgTags tags than
// an entry holds (never stored): forced reads during an outage, of any
// arguments a client chooses, must not fill the invalidation retry set,
// whose overflow clears the namespace. The forced call returns its result,
// the error logged. An error of the function leaves the entry, but where
// the call superseded a Refresh (or forced call) still computing, whose
// result is then not stored: the entry is removed, as Refresh does.
// Default: never.
func RefreshIf[A any](f func(ctx context.Context, a A) bool) Option {
	return commonOption(func(c *commonConfig) { c.refresh = f })
}

// KeyFunc replaces the key built from the call by key(a) (Flask-Caching's
// make_cache_key): calls with equal keys share an entry, so key must tell
// apart every two calls that get different results.
//
// For a view, A is *http.Request and key replaces the path and the query
// string (it cannot be given with KeyFormat, PathOnly or QueryString); the
// host (unless IgnoreHost), the Vary variant, UserKey and Version are still
// added, so responses that vary stay apart. The key is escaped and marked as
// a KeyFunc's, so that no result (a query parameter a client sent) can spell
// the key of a view without KeyFunc, nor the parts added after it. The views
// of one Cache with KeyFunc share one key space, though: two whose key
// returns the same string for a URL share its entry; give each its own
// Version, or make key name the view.
//
// For a memoized function, A is its argument type and key replaces the
// encoding of the argument. Without KeyFunc the argument is encoded
// deterministically: strings, numbers, booleans, slices, arrays, maps (in
// sorted order), pointers (followed: a nil pointer differs from a pointer
// to a zero value), structs (exported fields, by name), interfaces (by
// dynamic type, with its package path, and value) and time.Time (by
// instant: times that are Equal share a key). Equal contents give equal
// keys (a nil slice and an empty one share a key; all NaNs share one; -0
// and +0 share one). A type can choose its own key with a CacheKey() string
// method; a struct with unexported fields must have one, or MarshalBinary,
// GobEncode or MarshalText (the first it has is used), to be an argument,
// and the method must keep every bit of state the function uses: arguments
// it encodes the same share an entry. regexp.Regexp is refused (its
// MarshalText leaves out POSIX matching): pass the pattern. Funcs, channels,
// unsafe pointers, uintptrs and cycles cannot be encoded, nor can a value
// nested more than 20,000 levels deep (each pointer, map, slice, array,
// struct and value in an interface counts one) or one that makes the
// encoder enter more than 1,048,576 such levels in all (a value reached
// through two pointers is encoded twice): Get, Key and Forget return an
// error for such an argument, and the function is not called.
//
// With KeyFunc the argument of a memoized function is used as given, not
// copied, even by a computation that outlives its caller (see Memoize): the
// caller must not change it afterwards. When A holds references, key is
// called again with it when the function returns after its caller did
// (always, for a background refresh), and a result whose key changed (or
// whose key panics) is neither stored nor handed to the callers that joined
// the computation; a change key does not show reaches the function.
func KeyFunc[A any](key func(a A) string) Option {
	return commonOption(func(c *commonConfig) { c.keyFunc = key })
}

// StoreIf stores only the results for which keep reports true; the others
// are returned (served) but not stored (Flask-Caching's response_filter for
// views). For a view, R is *Response, and keep runs after the built-in
// rules, which it cannot loosen, on every response the view would store,
// a SharedCache view's 304 or HEAD 200 that freshens a stored entry
// included (it gets the freshened response: the stored status and body,
// the header merged as its client got it); for a memoized function, R is
// its result type. Default: every storable result is stored.
func StoreIf[R any](keep func(r R) bool) Option {
	return commonOption(func(c *commonConfig) { c.storeIf = keep })
}

// checkFunc returns the generic option v (nil: not given) as an F, or an
// error naming the option, the type it must have and the type it has.
func checkFunc[F any](who, option string, v any) (F, error) {
	var f F
	if v == nil {
		return f, nil
	}
	f, ok := v.(F)
	if !ok {
		return f, fmt.Errorf("%w: %s: %s takes a %T here; got a %T", ErrInvalidOption, who, option, f, v)
	}
	return f, nil
}
