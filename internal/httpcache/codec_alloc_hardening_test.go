package httpcache

import (
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestDecodeCorruptAllocation: bytes a backend returns that only claim a
// large header section (counts that the bytes could hold, then garbage) must
// be refused without allocating many times their size: a damaged 1 MiB entry
// must not cost tens of MiB before it is found corrupt.
func TestDecodeCorruptAllocation(t *testing.T) {
	const size = 1 << 20
	var hdr []byte
	hdr = binary.AppendUvarint(hdr, size/8) // fields
	hdr = binary.AppendUvarint(hdr, size/2) // values
	hdr = append(hdr, make([]byte, size-len(hdr))...)
	hdr[len(hdr)-1] = 0xff // never reached: the first field name is empty
	data := []byte(magic)
	data = append(data, formatVersion)
	data = binary.AppendUvarint(data, 200)
	data = binary.AppendVarint(data, 0)
	data = binary.AppendUvarint(data, uint64(len(hdr)))
	data = append(data, hdr...)
	data = appendString(data, "")

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Decode(data)
	runtime.ReadMemStats(&after)
	assert.ErrorIs(t, err, ErrCorrupt)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(2*len(data)), "bytes allocated to refuse %d corrupt bytes", len(data))
}
