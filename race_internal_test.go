//go:build race

package caching

// raceOn: allocation counts are not meaningful under the race detector
// (the tests of package caching_test have raceEnabled).
const raceOn = true
