//go:build race

package httpcache

// raceEnabled: allocation counts are not meaningful under the race
// detector, whose sync.Pool drops a quarter of what is put back.
const raceEnabled = true
