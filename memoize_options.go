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
