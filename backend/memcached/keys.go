package memcached

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"time"
)

const (
	// maxKeyLen is memcached's limit on a key's length.
	maxKeyLen = 250
	// readableLen is how much of a key that must be hashed is kept, made
	// safe, in front of the hash, so that keys stay recognisable in
	// memcached's tools.
	readableLen = 64
	// hashMark separates the readable part of a hashed key from its hash.
	// Keys that contain it are always hashed, so a key used as it is never
	// looks like a hashed one.
	hashMark = '#'
	// relativeTTLMax is the longest expiration memcached takes as a
	// relative number of seconds: 30 days. Longer ones must be absolute
	// Unix times.
	relativeTTLMax = 30 * 24 * 60 * 60
)

// safeByte reports whether c may appear in a key sent as it is: memcached
// refuses spaces and control characters, and hashMark is ours.
func safeByte(c byte) bool {
	return c > ' ' && c != 0x7f && c != hashMark
}

// storeKey maps a user's key to the memcached key under prefix (namespace and
// generation, ending in ':'). A key that fits and holds only safe bytes is
// used as it is; any other is replaced by a readable, safe prefix of it,
// hashMark and the SHA-256 of the whole key in hex: never truncated, never
// rejected, and two distinct keys never map to one memcached key (short of a
// SHA-256 collision).
func storeKey(prefix, key string) string {
	if len(prefix)+len(key) <= maxKeyLen {
		ok := true
		for i := range len(key) {
			if !safeByte(key[i]) {
				ok = false
				break
			}
		}
		if ok {
			return prefix + key
		}
	}
	sum := sha256.Sum256([]byte(key))
	b := make([]byte, 0, len(prefix)+readableLen+1+2*len(sum))
	b = append(b, prefix...)
	for i := 0; i < len(key) && i < readableLen; i++ {
		c := key[i]
		if !safeByte(c) || c >= 0x80 {
			c = '_'
		}
		b = append(b, c)
	}
	b = append(b, hashMark)
	b = hex.AppendEncode(b, sum[:])
	return string(b)
}

// expiration encodes ttl as memcached's expiration field: 0 for no expiry;
// relative seconds up to 30 days; past that, the absolute Unix time (as
// memcached requires), capped at the largest a 32-bit field holds (January
// 2038). Parts of a second round up, so that a TTL under a second is one
// second and never 0 (which would mean forever).
func expiration(ttl time.Duration, now time.Time) int32 {
	if ttl <= 0 {
		return 0
	}
	secs := int64(ttl / time.Second) // rounded up without overflowing
	if ttl%time.Second != 0 {
		secs++
	}
	if secs <= relativeTTLMax {
		return int32(secs)
	}
	abs := now.Unix() + secs // secs < 2^34: no overflow
	if abs > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(abs)
}
