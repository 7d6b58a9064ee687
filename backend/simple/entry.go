package simple

import (
	"unsafe"
)

// EntryOverhead is what each byte value's entry counts against
// Options.MaxBytes besides its key and value: what the store spends on it
// besides them. The entry is one allocation of a 16-byte header, the key
// and the value; its eviction-queue slot takes 16 bytes; its share of the
// index (64-byte groups of 7 entries, each place with a 4-byte slot number,
// kept a fifth to four fifths full) takes 16 to 66 bytes, 16 to 33 as the
// store grows. The rest covers the rounding of small allocations to Go's
// size classes; that of large values (up to 12.5%) is not counted.
const EntryOverhead = 64

// ValueOverhead is what each Go value's entry (StoreValue, AddValue) counts
// against Options.MaxBytes besides len(key) and the size its caller gives:
// EntryOverhead, plus 32 bytes by which its 48-byte holder (the header, the
// key's string header and the value's interface) exceeds a byte value's
// header, plus 16 for the rounding of the key's own allocation, which the
// entry keeps as the caller gave it.
const ValueOverhead = EntryOverhead + 48

// maxEntrySize bounds what one entry counts against MaxBytes, so that the
// key and value lengths fit the header's 31 bits.
const maxEntrySize = 1<<31 - 1

// entry is the header of a stored entry, immutable once it is published in
// a slot: a write replaces the entry rather than changing it, so that
// readers need no lock. A byte value's entry is one []byte allocation: the
// header, then the key, then the value. A Go value's entry is a goValue,
// whose first field is the header.
type entry struct {
	expireAt int64  // Store.now reading at which it expires; 0: never
	klen     uint32 // the key's length, with goValueBit for a goValue
	vlen     uint32 // the value's length, or a goValue's size
}

// entrySize is the size of the header that precedes a byte value's key.
const entrySize = int(unsafe.Sizeof(entry{}))

// goValueBit in entry.klen marks a goValue.
const goValueBit = 1 << 31

// dropperBit in a goValue's entry.vlen marks a value that is a Dropper.
const dropperBit = 1 << 31

// Dropper is implemented by a Go value (StoreValue, AddValue) that wants to
// know when the store stops holding it: Dropped is called once, when its
// entry is deleted, replaced, evicted, removed as expired, cleared, or
// released by Close, before the call that removed it returns (for an
// eviction, the write that made room). Reads never drop one: a LoadValue
// that finds it expired misses and leaves it for the expiry sweep, the
// eviction hand or a write of its key to remove (and tell), so that no
// read runs Dropped or raises its panic. A value written again under its
// key over itself (StoreValue or AddValue of the same pointer, map, channel
// or func, to renew its TTL) is still held, so not told; a Dropper of
// another kind (a struct, say) is told even then, as its copies cannot be
// told apart. A value the store holds has not been told, so that a reader
// keeping a pointer to it (package caching's tag versions, which its
// entries point to) learns with one atomic load whether a lookup of its key
// could still find it. An entry that expired but is not
// removed yet is not dropped: its holder checks the expiry itself.
//
// Dropped runs with a lock of the store held: it must return quickly and
// must not call the store. If it panics, the call that dropped the value
// completes (telling any other Dropper it drops) and then panics with the
// same value; a StoreValueDeferred returns, and its Evictions' Notify
// panics once it has told OnEvict. The expiry sweep, which has no caller,
// completes and drops the panic: a value removed by the sweep cannot end
// the process.
type Dropper interface {
	Dropped()
}

// goValue is the entry of a Go value stored with StoreValue or AddValue.
type goValue struct {
	entry
	key string
	v   any
}

// emptyValue is what Get returns for an empty byte value: not nil, and with
// no capacity to write into.
var emptyValue = []byte{}

// newBytesEntry returns an entry holding copies of key and value.
func newBytesEntry(key string, value []byte, expireAt int64) *entry {
	buf := make([]byte, entrySize+len(key)+len(value))
	copy(buf[entrySize:], key)
	copy(buf[entrySize+len(key):], value)
	e := (*entry)(unsafe.Pointer(&buf[0]))
	e.expireAt, e.klen, e.vlen = expireAt, uint32(len(key)), uint32(len(value))
	return e
}

// newValueEntry returns the entry of the Go value v, counted as size.
func newValueEntry(key string, v any, size int64, expireAt int64) *entry {
	g := &goValue{entry: entry{expireAt: expireAt, klen: uint32(len(key)) | goValueBit, vlen: uint32(size)}, key: key, v: v}
	if _, ok := v.(Dropper); ok {
		g.vlen |= dropperBit
	}
	return &g.entry
}

// isDropper reports whether the entry is a Go value that is a Dropper.
func (e *entry) isDropper() bool { return e.isValue() && e.vlen&dropperBit != 0 }

func (e *entry) isValue() bool { return e.klen&goValueBit != 0 }

func (e *entry) keyLen() int { return int(e.klen &^ goValueBit) }

// is reports whether the entry's key is key.
func (e *entry) is(key string) bool { return e.keyLen() == len(key) && e.sameKey(key) }

// sameKey reports whether the entry's key is key, whose length is the
// entry's klen (with goValueBit for a Go value, whose key it compares
// whole).
func (e *entry) sameKey(key string) bool {
	if e.isValue() {
		return (*goValue)(unsafe.Pointer(e)).key == key
	}
	return len(key) == 0 || unsafe.String((*byte)(unsafe.Add(unsafe.Pointer(e), entrySize)), len(key)) == key
}

// key returns the entry's key. A byte value's key shares the entry's
// memory: callers that keep it clone it.
func (e *entry) key() string {
	if e.isValue() {
		return (*goValue)(unsafe.Pointer(e)).key
	}
	n := e.keyLen()
	if n == 0 {
		return ""
	}
	return unsafe.String((*byte)(unsafe.Add(unsafe.Pointer(e), entrySize)), n)
}

// bytes returns a byte value's value, which shares the entry's memory and
// is read-only.
func (e *entry) bytes() []byte {
	if e.vlen == 0 {
		return emptyValue
	}
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(e), entrySize+e.keyLen())), e.vlen)
}

// value returns a goValue's value.
func (e *entry) value() any { return (*goValue)(unsafe.Pointer(e)).v }

// size is what the entry counts against the byte bound.
func (e *entry) size() int64 {
	if e.isValue() {
		return int64(e.keyLen()) + int64(e.vlen&^dropperBit) + ValueOverhead
	}
	return int64(e.keyLen()) + int64(e.vlen) + EntryOverhead
}

func expired(expireAt, now int64) bool { return expireAt != 0 && now >= expireAt }
