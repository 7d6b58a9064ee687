//go:build !race

package memcached

const raceOn = false
