package filesystem

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
)

// On-disk layout of one entry file (all integers big-endian):
//
//	magic   [4]byte "gcfs"
//	version uint8   (formatVersion)
//	expiry  int64   Unix nanoseconds; 0: never expires
//	keyLen  uint32
//	valLen  uint32
//	key     [keyLen]byte
//	value   [valLen]byte
//	crc     uint32  CRC-32C (Castagnoli) of every byte before it
//
// The key is stored so that a file whose name matches the hash of a key but
// holds another key (a hash collision, or a file someone else put there) is
// detected and treated as a miss.
const (
	magic         = "gcfs"
	formatVersion = 1
	headerSize    = 4 + 1 + 8 + 4 + 4
	trailerSize   = 4
	overhead      = headerSize + trailerSize
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt reports a file that is not a well-formed entry: truncated,
// damaged, of another format version, or not ours at all. (A file of a
// newer version is told apart by newerVersion, and not removed as corrupt.)
var errCorrupt = errors.New("filesystem: corrupt entry file")

// encodedSize returns the size of the file for a key and value, or -1 if the
// lengths do not fit the format.
func encodedSize(keyLen, valLen int) int64 {
	if uint64(keyLen) > math.MaxUint32 || uint64(valLen) > math.MaxUint32 {
		return -1
	}
	return int64(overhead + keyLen + valLen)
}

// encode returns the file contents for key, value and expiry (Unix
// nanoseconds, 0 for never). The lengths must have been checked with
// encodedSize.
func encode(key string, value []byte, expiry int64) []byte {
	b := make([]byte, overhead+len(key)+len(value))
	copy(b, magic)
	b[4] = formatVersion
	binary.BigEndian.PutUint64(b[5:], uint64(expiry))
	binary.BigEndian.PutUint32(b[13:], uint32(len(key)))
	binary.BigEndian.PutUint32(b[17:], uint32(len(value)))
	n := headerSize
	n += copy(b[n:], key)
	n += copy(b[n:], value)
	binary.BigEndian.PutUint32(b[n:], crc32.Checksum(b[:n], castagnoli))
	return b
}

// decode parses a whole entry file. It never panics: any input that is not
// exactly an encoded entry gives errCorrupt. key and value alias b.
func decode(b []byte) (expiry int64, key, value []byte, err error) {
	if len(b) < overhead || string(b[:4]) != magic || b[4] != formatVersion {
		return 0, nil, nil, errCorrupt
	}
	expiry = int64(binary.BigEndian.Uint64(b[5:]))
	kl := uint64(binary.BigEndian.Uint32(b[13:]))
	vl := uint64(binary.BigEndian.Uint32(b[17:]))
	if uint64(overhead)+kl+vl != uint64(len(b)) || expiry < 0 {
		return 0, nil, nil, errCorrupt
	}
	n := len(b) - trailerSize
	if crc32.Checksum(b[:n], castagnoli) != binary.BigEndian.Uint32(b[n:]) {
		return 0, nil, nil, errCorrupt
	}
	key = b[headerSize : headerSize+kl]
	value = b[headerSize+kl : n : n]
	return expiry, key, value, nil
}

// decodeExpiry reads the expiry from the first headerSize bytes of a file,
// without checking the rest (the sweep uses it to find expired files).
func decodeExpiry(h []byte) (int64, bool) {
	if len(h) < headerSize || string(h[:4]) != magic || h[4] != formatVersion {
		return 0, false
	}
	e := int64(binary.BigEndian.Uint64(h[5:]))
	return e, e >= 0
}

// newerVersion reports whether h, the start of a file, begins as an entry
// file of a format version newer than this one's: one that a newer release
// sharing the directory wrote (a rolling deploy), which this store can
// neither read nor call corrupt. It is a miss left on disk by reads, and
// counts in the bounds as any file; the sweep removes it when over
// Options.MaxBytes or newerMaxAge old (see the package doc).
func newerVersion(h []byte) bool {
	return len(h) > 4 && string(h[:4]) == magic && h[4] > formatVersion
}

// headerFits reports whether h, the first headerSize bytes of a file of size
// bytes, is the header of an entry for a key of keyLen bytes: the store reads
// no further into a file for which it is not.
func headerFits(h []byte, size int64, keyLen int) bool {
	exp, ok := decodeExpiry(h)
	if !ok || exp < 0 {
		return false
	}
	kl := uint64(binary.BigEndian.Uint32(h[13:]))
	vl := uint64(binary.BigEndian.Uint32(h[17:]))
	return kl == uint64(keyLen) && uint64(overhead)+kl+vl == uint64(size)
}
