//go:build race

package caching_test

// raceEnabled: allocation counts are not meaningful under the race
// detector.
const raceEnabled = true
