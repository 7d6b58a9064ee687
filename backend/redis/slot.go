package redisstore

import "strings"

// slotCount is the number of hash slots of a Redis Cluster.
const slotCount = 16384

// slot returns the Redis Cluster hash slot of key: CRC16 (XMODEM) of the key,
// or of its hash tag (the bytes between the first "{" and the first "}"
// after it, when that is not empty), modulo 16384. This is the rule of the
// Redis Cluster specification, written here because go-redis keeps its copy
// internal. The empty key's slot is 0, as CLUSTER KEYSLOT says (go-redis
// sends a command on it to a random slot's master).
func slot(key string) int { return slotOf("", key) }

// slotOf returns slot(prefix + key) without making that string: a call
// refused because its key's master is marked down (admitKey) allocates
// nothing. A hash tag may begin in prefix and end in key.
func slotOf(prefix, key string) int {
	i := strings.IndexByte(prefix, '{')
	if i < 0 {
		if i = strings.IndexByte(key, '{'); i >= 0 {
			if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
				return crcSlot(key[i+1:i+1+j], "")
			}
		}
		return crcSlot(prefix, key)
	}
	open := prefix[i+1:] // the tag's start, after the first "{"
	if j := strings.IndexByte(open, '}'); j >= 0 {
		if j > 0 {
			return crcSlot(open[:j], "")
		}
		return crcSlot(prefix, key) // "{}": no tag
	}
	if j := strings.IndexByte(key, '}'); j >= 0 && len(open)+j > 0 {
		return crcSlot(open, key[:j])
	}
	return crcSlot(prefix, key)
}

// crcSlot returns the slot of the bytes of a and then b: their CRC16
// modulo 16384.
func crcSlot(a, b string) int {
	var crc uint16
	for i := 0; i < len(a); i++ {
		crc = crc<<8 ^ crc16tab[byte(crc>>8)^a[i]]
	}
	for i := 0; i < len(b); i++ {
		crc = crc<<8 ^ crc16tab[byte(crc>>8)^b[i]]
	}
	return int(crc) % slotCount
}

// crc16tab is the table of CRC16-CCITT (XMODEM: polynomial 0x1021, initial
// value 0), the checksum Redis Cluster hashes keys with.
var crc16tab = func() (t [256]uint16) {
	for i := range t {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return t
}()
