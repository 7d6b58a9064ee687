package caching

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"net/http"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/go-caching/caching/internal/httpcache"
)

// varySpec is what the base key of a response with Vary holds: the request
// header names its variants are keyed by, and the variants stored (by
// newVariantID), at most MaxVariants of them, each with the time its entry
// leaves the store. The snapshots live under variantNames.key(base, variant,
// names).
type varySpec struct {
	names    []string
	variants []variantID
	// until holds, for each variant, the Unix time in nanoseconds at which
	// its entry leaves the store (0: never, in a record written before
	// maxVariantLife: see endingBy), so that a variant stops
	// counting against MaxVariants once it is gone: without it, values a
	// client sent once kept the record full, and every new variant
	// uncached, for as long as other variants were stored again. It is nil
	// in a record written before it existed (version 2).
	until []int64

	// listed holds hashes (listedHash) of variant keys that lists found
	// listed, one per slot: on the in-process store and in a near cache,
	// where the hits of a page share its record, a hit of a variant seen
	// lately costs a maphash, not a SHA-256.
	listed [4]atomic.Uint64
}

// errVaryTooLarge is findIn's answer for a request whose fields named by
// the Vary record pass httpcache.MaxVaryBytes: its variant is never
// stored, and ServeHTTP passes it through (reasonVaryLarge) without
// building its key. It is a not-found to every other caller, whose run
// stores nothing for it either.
var errVaryTooLarge = fmt.Errorf("%w: the request's fields named by Vary pass %d bytes", ErrNotFound, httpcache.MaxVaryBytes)

// variantOf returns r's variant for names (httpcache.VariantKey) and true,
// or "" and false when the fields pass httpcache.MaxVaryBytes
// (httpcache.VaryTooLarge): such a request has no variant of its own.
func variantOf(r *http.Request, names []string) (string, bool) {
	if httpcache.VaryTooLarge(r, names) {
		return "", false
	}
	return httpcache.VariantKey(r, names), true
}

// ofVariant reports whether r is of variant, a response's variant for
// names (none: every request is). A request whose fields pass
// httpcache.MaxVaryBytes is of no variant: "" is no request's variant for
// names, which the leader of a flight whose own request is so tells its
// waiters (viewFlight.varies).
func ofVariant(r *http.Request, names []string, variant string) bool {
	if len(names) == 0 {
		return true
	}
	own, ok := variantOf(r, names)
	return ok && own == variant
}

// listedSeed keys listedHash: chosen at random by each process, so that no
// client can choose variants whose hashes collide (one that did would find
// a variant listed that is not: one stored under a record deleted since).
var listedSeed = maphash.MakeSeed()

// listedHash is the hash of a variant key in varySpec.listed: never 0, an
// empty slot.
func listedHash(variant string) uint64 { return maphash.String(listedSeed, variant) | 1 }

// variantID names a variant in a Vary record: the first 128 bits of the
// SHA-256 of its variant key (variantNames.id: of its HMAC-SHA-256 with
// Options.VariantKeySecret, for fields a backend key may not spell). A client that sends values of its choosing
// cannot make two variants share one and so store more than MaxVariants: a
// 64-bit name, whatever the hash, falls to a birthday search of about 2^32
// tries. Records written before version 4 name variants by a 64-bit FNV-1a
// hash, read as {0, h}: such a name never matches a new one, and counts
// until its entry leaves the store.
type variantID [2]uint64

// newVariantID returns the variantID of the variant key variant, unkeyed.
func newVariantID(variant string) variantID {
	// Read in place: a conversion would copy a key longer than 32 bytes to
	// the heap, and Sum256 does not keep or change its input.
	return idOfSum(sha256.Sum256(unsafe.Slice(unsafe.StringData(variant), len(variant))))
}

// idOfSum returns the variantID of a variant whose hash is sum.
func idOfSum(sum [sha256.Size]byte) variantID {
	return variantID{binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:16])}
}

// lists reports whether s lists the variant whose variant key is variant,
// named by n.
// A variant is listed in the record before its snapshot is stored, so that
// one the record does not list was stored under an earlier record: one
// deleted since (the key ViewKey gives), or whose listing another process's
// write of the record lost. Names of records written before version 4
// ({0, 64-bit FNV-1a}) are matched too.
func (s *varySpec) lists(n variantNames, variant string) bool {
	return s.listsID(n, variant, nil)
}

// listsID is lists for a caller that may have the variant's name in the
// record already (id, from n.keyID; nil: none), which it then does not
// hash again: a record read from a remote store is new on every hit, and
// remembers nothing listed.
func (s *varySpec) listsID(n variantNames, variant string, id *variantID) bool {
	h := listedHash(variant)
	for i := range s.listed {
		if s.listed[i].Load() == h {
			return true // a record's list never changes: a new record is a new varySpec
		}
	}
	if !s.find(n, variant, id) {
		return false
	}
	s.listed[h%uint64(len(s.listed))].Store(h)
	return true
}

// find is listsID without its memory.
func (s *varySpec) find(n variantNames, variant string, known *variantID) bool {
	var id variantID
	if known != nil {
		id = *known
	} else {
		id = n.id(variant, s.names)
	}
	var old variantID // computed once, for a record with names of before version 4
	for _, x := range s.variants {
		if x == id {
			return true
		}
		if x[0] == 0 {
			if old[1] == 0 {
				old = variantIDVersion3(variant)
			}
			if x == old {
				return true
			}
		}
	}
	return false
}

// variantIDVersion3 returns the name records of versions 2 and 3 give the
// variant whose variant key is variant: its 64-bit FNV-1a hash, as {0, h}.
func variantIDVersion3(variant string) variantID {
	h := uint64(14695981039346656037)
	for i := range len(variant) {
		h ^= uint64(variant[i])
		h *= 1099511628211
	}
	return variantID{0, h}
}

// withVariant returns s with variant h recorded until end, without the
// variants that have left the store by now, or nil when maxVariants other
// variants are still there. s is left as it is (readers share it).
func (s *varySpec) withVariant(h variantID, end, now int64, maxVariants int) *varySpec {
	next := &varySpec{
		names:    s.names,
		variants: make([]variantID, 0, len(s.variants)+1),
		until:    make([]int64, 0, len(s.variants)+1),
	}
	for i, x := range s.variants {
		// A record without times lists variants stored no later than
		// now, with this view's lifetime: they are gone by end.
		u := end
		if s.until != nil {
			u = s.until[i]
		}
		if x == h || u != 0 && u <= now {
			continue
		}
		next.variants = append(next.variants, x)
		next.until = append(next.until, u)
	}
	if len(next.variants) >= maxVariants {
		return nil
	}
	next.variants = append(next.variants, h)
	next.until = append(next.until, end)
	return next
}

// endingBy returns s, or, when it lists variants that never leave the
// store (until 0: written under Forever before maxVariantLife), a copy in
// which they leave it by end: under a key without the path, which no path
// version ends, a record such variants had filled stayed full for good.
// Their entries, once the record no longer lists them, are never served.
func (s *varySpec) endingBy(end int64) *varySpec {
	if !slices.Contains(s.until, 0) {
		return s
	}
	next := &varySpec{names: s.names, variants: s.variants, until: slices.Clone(s.until)}
	for i, u := range next.until {
		if u == 0 {
			next.until[i] = end
		}
	}
	return next
}

// life returns when the record of s may leave the store, in Unix
// nanoseconds (0: never): when the last of its variants does. A record
// written with the life of the variant stored last (a no-cache response's
// life is 0) died while the others were fresh: they were no longer found,
// and stayed in the store uncounted, the next record counting from one.
func (s *varySpec) life() int64 {
	var end int64
	for _, u := range s.until {
		if u == 0 {
			return 0
		}
		end = max(end, u)
	}
	return end
}

// namesOrNil returns the names of s, nil for a nil s.
func (s *varySpec) namesOrNil() []string {
	if s == nil {
		return nil
	}
	return s.names
}

// The payload of a view entry on a store that is not in-process is a
// snapshot (httpcache's format, magic "HCS") or a Vary record:
//
//	"HCV" | version 4 | uvarint count | count × (uvarint length, name)
//	      | uvarint variants | variants × 2 uint64 (a variantID, big-endian)
//	      | variants × int64 until (big-endian)
//
// Versions 3 and 2, read for the records written before, name variants by
// one uint64; version 2 has no until.
const (
	specMagic       = "HCV"
	specVersion     = 4
	specVersion3    = 3
	specVersionOld  = 2
	maxSpecNames    = 64 // names
	maxSpecVariants = 1 << 12
)

// version returns the version s is written as: a record without times is
// one read from version 2 (its variants {0, h}), written back as it was
// read.
func (s *varySpec) version() byte {
	if s.until == nil {
		return specVersionOld
	}
	return specVersion
}

// EncodedLen returns the exact length of the encoding of s.
func (s *varySpec) EncodedLen() int {
	n := len(specMagic) + 1 + uvarintLen(uint64(len(s.names)))
	for _, name := range s.names {
		n += uvarintLen(uint64(len(name))) + len(name)
	}
	idWidth := 8
	if s.version() == specVersion {
		idWidth = 16
	}
	return n + uvarintLen(uint64(len(s.variants))) + idWidth*len(s.variants) + 8*len(s.until)
}

// Encode appends the encoding of s to dst.
func (s *varySpec) Encode(dst []byte) []byte {
	version := s.version()
	b := append(dst, specMagic...)
	b = append(b, version)
	b = binary.AppendUvarint(b, uint64(len(s.names)))
	for _, n := range s.names {
		b = binary.AppendUvarint(b, uint64(len(n)))
		b = append(b, n...)
	}
	b = binary.AppendUvarint(b, uint64(len(s.variants)))
	for _, h := range s.variants {
		if version == specVersion {
			b = binary.BigEndian.AppendUint64(b, h[0])
		}
		b = binary.BigEndian.AppendUint64(b, h[1])
	}
	for _, u := range s.until {
		b = binary.BigEndian.AppendUint64(b, uint64(u))
	}
	return b
}

// decodeViewPayload decodes what a snapshot or a Vary record encoded;
// anything else is an error wrapping errCorrupt.
func decodeViewPayload(p []byte) (any, error) {
	if len(p) >= len(specMagic) && string(p[:len(specMagic)]) == specMagic {
		return decodeVarySpec(p[len(specMagic):])
	}
	s, err := httpcache.Decode(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errCorrupt, err)
	}
	return s, nil
}

func decodeVarySpec(p []byte) (*varySpec, error) {
	if len(p) == 0 || p[0] != specVersion && p[0] != specVersion3 && p[0] != specVersionOld {
		return nil, fmt.Errorf("%w: vary record version", errCorrupt)
	}
	timed, idWidth := p[0] != specVersionOld, uint64(8)
	if p[0] == specVersion {
		idWidth = 16
	}
	p = p[1:]
	n, p, err := readUvarint(p, maxSpecNames)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: empty vary record", errCorrupt)
	}
	spec := &varySpec{names: make([]string, n)}
	for i := range spec.names {
		var l uint64
		if l, p, err = readUvarint(p, uint64(len(p))); err != nil {
			return nil, err
		}
		if l > uint64(len(p)) { // the limit counted the length's own bytes
			return nil, fmt.Errorf("%w: truncated vary record", errCorrupt)
		}
		name := string(p[:l])
		p = p[l:]
		if name == "" || http.CanonicalHeaderKey(name) != name || i > 0 && name <= spec.names[i-1] {
			return nil, fmt.Errorf("%w: vary record names", errCorrupt)
		}
		spec.names[i] = name
	}
	if n, p, err = readUvarint(p, maxSpecVariants); err != nil {
		return nil, err
	}
	width := idWidth
	if timed {
		width += 8
	}
	if uint64(len(p)) != width*n {
		return nil, fmt.Errorf("%w: vary record variants", errCorrupt)
	}
	spec.variants = make([]variantID, n)
	for i := range spec.variants {
		if idWidth == 16 {
			spec.variants[i] = variantID{binary.BigEndian.Uint64(p[16*i:]), binary.BigEndian.Uint64(p[16*i+8:])}
		} else {
			spec.variants[i] = variantID{0, binary.BigEndian.Uint64(p[8*i:])}
		}
	}
	if timed {
		p = p[idWidth*n:]
		spec.until = make([]int64, n)
		for i := range spec.until {
			if spec.until[i] = int64(binary.BigEndian.Uint64(p[8*i:])); spec.until[i] < 0 {
				return nil, fmt.Errorf("%w: vary record times", errCorrupt)
			}
		}
	}
	return spec, nil
}

// maxVariantLife bounds the life of a variant's entry, and so of its slot
// in the Vary record: without it, under Forever (or a life of months),
// MaxVariants requests with values no real client sends filled the
// record for good, and every value not stored before was served uncached
// (on a remote store until the path's version key ended, 7 to 28 days
// later). A variant that would live longer is made again after a day.
const maxVariantLife = 24 * time.Hour

// boundVariant caps the freshness of e, the entry of a variant written at
// now, at maxVariantLife, and keeps its stale window past that, up to
// maxVariantLife too: under Forever, whose entries have none, the view's
// (StaleIfError, StaleWhileRevalidate), so that a variant made again once
// its day is over can still be answered stale. An entry stale already (in
// a SharedCache view, one that arrived so: an upstream cache's Age past
// its max-age, or no-cache) keeps its window up to a day from now: a day
// from the end of its freshness, in the past, left it dead on arrival,
// never stored to be revalidated by its validator.
func (v *view) boundVariant(e *entry, now time.Time) {
	n := now.UnixNano()
	end := addNanos(n, maxVariantLife)
	switch {
	case e.FreshUntil == 0: // under Forever: the view's stale windows
		e.FreshUntil, e.StaleUntil = end, addNanos(end, min(v.extra, maxVariantLife))
	case e.FreshUntil > end: // its stale window moves with its freshness
		window := maxVariantLife
		if e.StaleUntil != 0 {
			window = min(window, time.Duration(e.StaleUntil-e.FreshUntil))
		}
		e.FreshUntil, e.StaleUntil = end, addNanos(end, window)
	default:
		if limit := addNanos(max(e.FreshUntil, n), maxVariantLife); e.StaleUntil == 0 || e.StaleUntil > limit {
			e.StaleUntil = limit
		}
	}
}
