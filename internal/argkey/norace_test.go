//go:build !race

package argkey_test

const raceEnabled = false
