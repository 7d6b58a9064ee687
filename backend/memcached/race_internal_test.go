//go:build race

package memcached

// raceOn: allocation counts are not meaningful under the race detector.
const raceOn = true
