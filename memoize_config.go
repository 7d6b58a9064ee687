package caching

import (
	"context"
	"time"
)

// memoConfig is the configuration of one memoized function. The generic
// options (StoreIf, ResultTTL, KeyFunc) are kept as values of type any and
// checked against the function's types by Memoize.
type memoConfig struct {
	commonConfig
	ttl      time.Duration
	bypass   func(context.Context) bool
	refresh  func(context.Context) bool
	skipZero bool
	storeIf  any // func(R) bool
	ttlOf    any // func(R) time.Duration
	keyFunc  any // func(A) string
}
