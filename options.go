package caching

import "time"

// Options are given to the response cache (Cache.Cached, as ViewOption),
// to Memoize (as MemoOption), and to the direct API's writes (Set, SetAs,
// GetOrSet, as SetOption). Each option's documentation says where it
// applies; its return type says so to the compiler.

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
// process sharing the backend.
func Tags(tags ...string) TagsOption { return TagsOption{tags: slicesClone(tags)} }

func (o TagsOption) applyView(c *viewConfig) { c.tags = append(c.tags, o.tags...) }
func (o TagsOption) applyMemo(c *memoConfig) { c.tags = append(c.tags, o.tags...) }
func (o TagsOption) applySet(c *setConfig)   { c.tags = append(c.tags, o.tags...) }

// commonConfig is the part of a view's and a memoized function's
// configuration that shared options set.
type commonConfig struct {
	tags    []string
	version string
	swr     time.Duration // stale-while-revalidate window
	sie     time.Duration // stale-if-error window
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
func Version(v string) Option {
	return commonOption(func(c *commonConfig) { c.version = v })
}

// StaleWhileRevalidate keeps entries for d past their TTL and serves such a
// stale entry at once while one background call refreshes it. A zero d (the
// default) turns it off.
func StaleWhileRevalidate(d time.Duration) Option {
	return commonOption(func(c *commonConfig) { c.swr = d })
}

// StaleIfError keeps entries for d past their TTL and serves such a stale
// entry when the handler fails (5xx or panic), the function returns an
// error, or the backend cannot be reached for a fresh value. A zero d (the
// default) turns it off.
func StaleIfError(d time.Duration) Option {
	return commonOption(func(c *commonConfig) { c.sie = d })
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }
