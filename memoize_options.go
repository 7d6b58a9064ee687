package caching

import "time"

// memoConfig is the configuration of one memoized function. The generic
// options (those of commonConfig, and ResultTTL) are kept as values of type
// any and checked against the function's types by Memoize.
type memoConfig struct {
	commonConfig
	ttl      time.Duration
	skipZero bool
	ttlOf    any // func(R) time.Duration
	tagsOf   any // func(A) []string
}

// memoOption is a MemoOption that sets a field of memoConfig.
type memoOption func(*memoConfig)

func (o memoOption) applyMemo(c *memoConfig) { o(c) }

// TTL sets how long a memoized result stays fresh: 0 (the default) means the
// Cache's DefaultTTL, Forever means no expiry; negative makes Memoize panic.
func TTL(d time.Duration) MemoOption {
	return memoOption(func(c *memoConfig) { c.ttl = d })
}

// SkipZero stores no result equal to its type's zero value (nil, 0, "", a
// struct of zero fields): such a result is returned but computed again next
// time, like Flask-Caching's cache_none=False. By default zero values are
// stored: in Go, a stored zero is told apart from a miss.
func SkipZero() MemoOption {
	return memoOption(func(c *memoConfig) { c.skipZero = true })
}

// ResultTTL sets each result's TTL from the result itself, such as an access
// token's expiry: ttl(r) > 0 is used as the TTL (Forever: no expiry), 0 means
// the function's TTL, and a negative TTL stores nothing. R must be the
// memoized function's result type (Memoize panics otherwise).
func ResultTTL[R any](ttl func(r R) time.Duration) MemoOption {
	return memoOption(func(c *memoConfig) { c.ttlOf = ttl })
}

// ArgTags tags each result with tags made from its argument, as Tags tags
// all of them: InvalidateTags with one of those tags makes the results
// written under it a miss, in every process sharing the backend. A result
// being computed anywhere when it is called is not served from the cache
// afterwards, nor handed to a call that joins its computation after the
// invalidation (but for a result that is not stored: see below); Forget
// reaches a computation in its own process only. Tag a user's results
// "user:42" in every function that reads the user's data, and one
// InvalidateTags drops them all.
//
// tags must be deterministic (one argument, the same tags) and cheap. It is
// called when a result is computed or stored (a miss, Refresh, Set) and when
// Get or Peek reads a remote store, which reads the entry with the versions
// of its tags in one round trip and needs them first (a result written under
// other tags is then a miss). A hit on the in-process store or in a near
// cache (backend/near) does not call it: the entry is checked against the
// tags it was written under, held in memory, and the hit allocates nothing
// for them. So do not count or log in tags expecting one call per Get. A
// result has at most 1,024 tag versions in all (see Tags): an argument with
// more is never stored (fn is called on every Get, failing open), and Get
// and Peek treat it as a miss without reading its entry or any of its
// versions from the backend, so that a client sending 100,000 ids costs no
// read of 100,000 keys; Refresh and a Get that RefreshIf forces return
// fn's result and, having no entry to replace, delete nothing. Since a client may choose the argument (a user id
// in a URL), the version keys of these tags expire, as a path's do (see
// Cache.InvalidatePath; with ResultTTL they are made for the longest life,
// so that a result lives at most 28 days), and a call whose result is not
// stored (an error, StoreIf, a value the codec cannot encode) deletes the
// keys it created, but for those under which a result was stored in this
// process while it ran (another argument's with the same tag, or another
// function's: a slow failing call of a made-up page of user 42 does not
// make user 42's other results a miss; a result another process stored
// under it does miss, once); the calls that joined it then get its result
// without checking the versions, as those deletes would look like an
// invalidation. A must be the memoized function's argument type (Memoize
// panics otherwise).
func ArgTags[A any](tags func(a A) []string) MemoOption {
	return memoOption(func(c *memoConfig) { c.tagsOf = tags })
}
