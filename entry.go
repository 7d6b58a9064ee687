package caching

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/memsize"
)

// entry is what the Cache stores under every key it writes: one versioned
// binary envelope for every backend, never gob or any format that can
// instantiate arbitrary types on decode.
//
// Layout (version 1), integers big-endian:
//
//	magic "ce" | version 1 | flags 0
//	created, fresh until, stale until: int64 Unix nanoseconds (0: never)
//	tag count: uvarint, then per tag: key length uvarint, key, version uint64
//	payload length: uvarint, payload
//
// Nothing may follow the payload. On an in-process store (backend.ValueStore)
// the entry is kept as a Go value and never encoded; value then holds the
// decoded payload (a typed value, a response snapshot) so a hit decodes
// nothing.
type entry struct {
	Created    int64 // Unix nanoseconds
	FreshUntil int64 // Unix nanoseconds; 0: fresh forever
	StaleUntil int64 // Unix nanoseconds; 0: kept forever
	TagKeys    []string
	Versions   []uint64
	// Payload is the payload's bytes. In an entry written to a remote
	// store it may be the writer's own slice, read only while the write
	// runs, when encodeEntry copies it into the envelope (see
	// store.setBytes).
	Payload []byte

	// value is the decoded payload, kept only in memory. It is shared by
	// every reader of the entry and must not be modified. In an entry
	// written to a remote store, it is nil, or, with Payload nil, the
	// payloadEncoder that encodeEntry encodes in place (see
	// store.setEncoder).
	value any
	// size estimates the memory the entry holds besides its Payload's
	// capacity and its tags: the value's when Payload is nil; in an entry
	// decoded from a remote store's reply, the rest of the reply (its
	// header and tag keys), which stays alive as long as the Payload that
	// aliases it (see decodeEntry, store.keepNear).
	size int
	// mem holds, by index of TagKeys, the versions held in memory that the
	// entry was written under, in memory only (see memVersion); nil when
	// there are none.
	mem []*memVersion
	// storeExpires: an in-process store holds the entry for exactly its
	// life (its TTL was not clamped), so that a reader sharing the store's
	// clock need not check its times (see store.fresh).
	storeExpires bool
	// written is set in an entry written to an in-process store
	// (store.prepare), and writtenWall and writtenMono are then the
	// clock's reading as it was: its wall clock in Unix nanoseconds and
	// its monotonic reading as the time since monoBase (the wall clock's
	// where the clock gives no monotonic reading). Unset in any other
	// entry (a remote store's, decoded, a near cache's). Two integers, not
	// a time.Time, so that an entry stays in a smaller size class. See
	// clockAt.
	written                  bool
	writtenWall, writtenMono int64
	// near is set when the entry is kept in a near cache
	// (backend.NearCache), shared by its readers: the first to decode its
	// payload keeps the result there for the others, so that a near hit
	// decodes nothing.
	near *nearDecoded
}

// nearDecoded holds the decoded payload of an entry kept in a near cache.
type nearDecoded struct{ v atomic.Pointer[any] }

// decodedValue returns the payload of a near entry as an earlier reader
// decoded it, or nil.
func (e *entry) decodedValue() any {
	if e.near != nil {
		if p := e.near.v.Load(); p != nil {
			return *p
		}
	}
	return nil
}

// keepDecoded keeps v, the decoded payload, for the later readers of a near
// entry, and reports whether it did: the first value kept stays, so only
// its reader gets true (and then counts it: see countDecoded).
func (e *entry) keepDecoded(v any) bool {
	return e.near != nil && e.near.v.CompareAndSwap(nil, &v)
}

// countDecoded makes the near entry e, kept under key (in kb when kb is not
// nil), count against the near cache's byte bound the value v that its
// reader decoded and kept (keepDecoded reported true): the entry and v as
// internal/memsize walks it, in place of the guess it was kept with (its
// payload twice), so that a payload that decodes into several times its
// bytes cannot make the near cache hold several times its MaxBytes. It
// walks v once per entry, when its first reader decodes it; later hits
// decode and count nothing. A near cache that cannot resize what it keeps
// (no backend.NearResizer) keeps the guess; one that no longer keeps e
// refuses, and nothing changes. A value too big to measure (see
// errUnmeasured) is not kept: key is dropped from the near cache, and its
// later readers read it remote, as without a near cache.
func (s *store) countDecoded(kb []byte, key string, e *entry, v any) {
	n, ok := memsize.Measure(v)
	r, resizes := s.near.(backend.NearResizer)
	if ok && !resizes {
		return
	}
	if kb != nil {
		key = string(kb)
	}
	if !ok {
		s.near.DropNear(key)
		return
	}
	r.ResizeNear(key, e, e.memSize()+n)
}

const (
	entryMagic0, entryMagic1 = 'c', 'e'
	entryVersion             = 1
	entryHeaderLen           = 4 + 3*8
	maxEntryTags             = 1 << 10
)

// errCorrupt reports an entry that does not decode. The Cache treats it as a
// miss, deletes it, and counts it in Stats.Corrupt.
var errCorrupt = errors.New("caching: corrupt entry")

// deadline returns now+ttl in Unix nanoseconds, 0 for no expiry (ttl 0),
// saturating instead of overflowing.
func deadline(now int64, ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	if now > math.MaxInt64-int64(ttl) {
		return math.MaxInt64
	}
	return now + int64(ttl)
}

// newEntry returns an entry created at now, fresh for ttl (as resolved: 0 is
// forever) and kept extra past it for stale serving.
func newEntry(now int64, ttl, extra time.Duration) *entry {
	e := &entry{Created: now, FreshUntil: deadline(now, ttl)}
	if e.FreshUntil != 0 {
		e.StaleUntil = deadline(e.FreshUntil, extra)
		if extra <= 0 {
			e.StaleUntil = e.FreshUntil
		}
	}
	return e
}

// clockAt returns now, a reading of the Cache's clock, in Unix nanoseconds
// as the entry's times (FreshUntil, StaleUntil) are to be compared with it.
// An entry written to an in-process store counts from its write by the
// time elapsed since, as a response's Age does (boottime.Elapsed: the
// larger of the monotonic and the wall clock's progress): a wall clock
// stepped back after the write keeps it fresh no longer, and a suspend of
// the machine counts. Any other entry (a remote store's, decoded, with no
// monotonic reading) is compared with the wall clock: a wall clock
// stepped back by X keeps it fresh X longer. It reads no clock and
// allocates nothing.
func (e *entry) clockAt(now time.Time) int64 {
	if !e.written {
		return now.UnixNano()
	}
	// boottime.Elapsed(written, now), from the two integers.
	mono := now.Sub(monoBase) - time.Duration(e.writtenMono)
	wall := time.Duration(now.UnixNano() - e.writtenWall)
	return addNanos(e.writtenWall, max(mono, wall))
}

// monoBase is the reading an in-process entry's monotonic reading is kept
// from (entry.writtenMono).
var monoBase = time.Now()

// setWritten records now, the clock's reading, as the entry's write to an
// in-process store (see clockAt).
func (e *entry) setWritten(now time.Time) {
	e.written, e.writtenWall, e.writtenMono = true, now.UnixNano(), int64(now.Sub(monoBase))
}

// alive reports whether the entry may still be served, stale or fresh.
func (e *entry) alive(now int64) bool { return e.StaleUntil == 0 || now < e.StaleUntil }

// memSize is what the entry counts against an in-process store's or a near
// cache's byte bound: the entry itself, its payload or value, its tags, and
// the rest of the remote reply its payload aliases, if any (see size).
func (e *entry) memSize() int {
	n := int(unsafe.Sizeof(*e)) + cap(e.Payload) + e.size + 24*len(e.TagKeys) + 8*len(e.mem)
	for _, k := range e.TagKeys {
		n += len(k)
	}
	return n
}

// payloadEncoder is a payload that encodes itself and knows the exact
// length of its encoding first (*httpcache.Snapshot, *varySpec), so that
// encodeEntry can write it in place, after the envelope's header.
type payloadEncoder interface {
	// EncodedLen returns the exact number of bytes Encode appends.
	EncodedLen() int
	// Encode appends the encoding to dst, which it does not grow when
	// its capacity holds EncodedLen bytes more.
	Encode(dst []byte) []byte
}

// encodeEntry returns the encoding of e in a new slice of the exact size,
// allocated once. Its payload is e.Payload or, when that is nil and e.value
// is a payloadEncoder, the value's encoding, appended in place after the
// envelope's header, never encoded apart and copied in.
func encodeEntry(e *entry) []byte {
	var enc payloadEncoder
	if e.Payload == nil {
		enc, _ = e.value.(payloadEncoder)
	}
	pl := len(e.Payload)
	if enc != nil {
		pl = enc.EncodedLen()
	}
	n := entryHeaderLen + uvarintLen(uint64(len(e.TagKeys)))
	for _, k := range e.TagKeys {
		n += uvarintLen(uint64(len(k))) + len(k) + 8
	}
	n += uvarintLen(uint64(pl)) + pl

	dst := make([]byte, 0, n)
	dst = append(dst, entryMagic0, entryMagic1, entryVersion, 0)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.Created))
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.FreshUntil))
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.StaleUntil))
	dst = binary.AppendUvarint(dst, uint64(len(e.TagKeys)))
	for i, k := range e.TagKeys {
		dst = binary.AppendUvarint(dst, uint64(len(k)))
		dst = append(dst, k...)
		dst = binary.BigEndian.AppendUint64(dst, e.Versions[i])
	}
	dst = binary.AppendUvarint(dst, uint64(pl))
	if enc != nil {
		return enc.Encode(dst)
	}
	return append(dst, e.Payload...)
}

// decodeEntry decodes an entry strictly: any deviation from the layout is an
// error wrapping errCorrupt. The payload aliases b, which stays alive, all
// of it, as long as the entry does: the entry's size counts the rest of b,
// so that memSize counts all of it (the tag keys are copies of their own,
// counted apart). b must not change while the entry is used.
func decodeEntry(b []byte) (*entry, error) {
	if len(b) < entryHeaderLen {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the header", errCorrupt, len(b))
	}
	if b[0] != entryMagic0 || b[1] != entryMagic1 {
		return nil, fmt.Errorf("%w: bad magic", errCorrupt)
	}
	if b[2] != entryVersion {
		return nil, fmt.Errorf("%w: unknown format version %d", errCorrupt, b[2])
	}
	if b[3] != 0 {
		return nil, fmt.Errorf("%w: unknown flags %#x", errCorrupt, b[3])
	}
	e := &entry{
		Created:    int64(binary.BigEndian.Uint64(b[4:])),
		FreshUntil: int64(binary.BigEndian.Uint64(b[12:])),
		StaleUntil: int64(binary.BigEndian.Uint64(b[20:])),
	}
	if e.Created < 0 || e.FreshUntil < 0 || e.StaleUntil < 0 {
		return nil, fmt.Errorf("%w: negative time", errCorrupt)
	}
	if e.StaleUntil != 0 && (e.FreshUntil == 0 || e.FreshUntil > e.StaleUntil) {
		return nil, fmt.Errorf("%w: fresh beyond stale", errCorrupt)
	}
	rest := b[entryHeaderLen:]
	n, rest, err := readUvarint(rest, maxEntryTags)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		e.TagKeys = make([]string, n)
		e.Versions = make([]uint64, n)
	}
	for i := range n {
		var kl uint64
		kl, rest, err = readUvarint(rest, uint64(len(rest)))
		if err != nil {
			return nil, err
		}
		if uint64(len(rest)) < kl+8 {
			return nil, fmt.Errorf("%w: truncated tag", errCorrupt)
		}
		e.TagKeys[i] = string(rest[:kl])
		e.Versions[i] = binary.BigEndian.Uint64(rest[kl:])
		rest = rest[kl+8:]
	}
	pl, rest, err := readUvarint(rest, uint64(len(rest)))
	if err != nil {
		return nil, err
	}
	if uint64(len(rest)) != pl {
		return nil, fmt.Errorf("%w: payload length %d, %d bytes left", errCorrupt, pl, len(rest))
	}
	e.Payload = rest[:pl:pl]
	e.size = cap(b) - int(pl)
	return e, nil
}

func readUvarint(b []byte, limit uint64) (uint64, []byte, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 || n != uvarintLen(v) {
		// Not a length, or not the one AppendUvarint writes ("\x80\x00"
		// for 0): an entry reads back only from the bytes it encodes to.
		return 0, nil, fmt.Errorf("%w: bad length", errCorrupt)
	}
	if v > limit {
		return 0, nil, fmt.Errorf("%w: length %d over %d", errCorrupt, v, limit)
	}
	return v, b[n:], nil
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
