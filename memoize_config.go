package caching

// memoConfig is the configuration of one memoized function.
type memoConfig struct {
	commonConfig
}
