package caching

// viewConfig is the configuration of one cached view.
type viewConfig struct {
	commonConfig
}
