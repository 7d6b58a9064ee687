package httpcache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/http"
	"net/textproto"
	"strconv"
	"time"
)

// Errors Decode returns, wrapped with detail; test with errors.Is.
var (
	// ErrCorrupt reports bytes that are not a well-formed snapshot.
	ErrCorrupt = errors.New("httpcache: corrupt snapshot")
	// ErrVersion reports a snapshot written by an unknown format version.
	ErrVersion = errors.New("httpcache: unknown snapshot version")
)

// The snapshot format, version 1, all integers unsigned varints unless said:
//
//	magic "HCS" | version byte (1)
//	status | stored-at (signed varint, Unix nanoseconds)
//	header-bytes (length of the header section that follows)
//	  field-count | value-count (over all fields)
//	  per field, names strictly increasing: name-len name | n | n × (len value)
//	body-len body
//
// Nothing may follow the body. Names are canonical header keys; values hold
// no CR, LF or NUL.
//
// Version 2 is version 1 with the names of Snapshot.Deleted after the
// header section: count (at least 1) | per name, strictly increasing,
// name-len name, none of them a field of the header section. Encode writes
// it only for a snapshot with Deleted, so that every other entry stays
// readable by releases that know version 1 only; those refuse a version 2
// entry (ErrVersion), which they would otherwise serve without deleting
// the fields.
//
// Version 3 is version 2 in which the count of deleted names may be 0,
// with Snapshot.OuterDirectives after the deleted names, encoded as the
// header section is (outer-bytes | field-count, at least 1 | value-count |
// fields), none of its names a field of the header section. Encode writes
// it only for a snapshot with OuterDirectives; releases that know versions
// 1 and 2 only refuse it (ErrVersion), as they would a version 2 entry.
//
// Version 4 is version 3 in which the outer directives section may hold no
// field (field-count 0, value-count 0), and the header section holds a
// Content-Type or a Date with no value (n = 0), or both: the handler
// suppressed net/http's (see Snapshot.Header), which the header of a hit
// must repeat, with a nil-valued key. No other field may have no value,
// and the outer directives section holds no field the header section
// does, with or without a value. Encode writes it only for such a
// snapshot; releases that know versions 1 to 3 only refuse it
// (ErrVersion): a miss, as for a version 3 entry, where they would serve
// the type they sniff (or the Date net/http adds). A Date with no value
// was added to version 4 after the Content-Type: the releases in between
// refuse such an entry as corrupt (ErrCorrupt), a miss too.
//
// Version 5 is version 4 in which the header section need not hold a field
// with no value, with a flags field (an unsigned varint) after the outer
// directives section: 1, the only value defined, says that the stored
// Content-Type, which the header section holds with a value, is the one
// net/http sniffed for a handler that set a Transfer-Encoding (see
// Snapshot.TransferCoded); any other value is corrupt. Encode writes it
// only for such a snapshot; releases that know versions 1 to 4 only refuse
// it (ErrVersion): a miss, where they would send the type on every hit.
//
// Version 6 is version 5 whose flags field is 2: the stored Content-Type,
// which the header section holds with a value or with none, is the one
// net/http chose for a handler that set none and no Transfer-Encoding
// (see Snapshot.Sniffed); any other value is corrupt (a transfer-coded
// snapshot, whose type is sniffed too, is written in version 5). Encode
// writes it only for such a snapshot: nearly every entry of a handler
// that sets no Content-Type. Releases that know versions 1 to 5 only
// refuse it (ErrVersion; those that know 5 read it as corrupt): a miss,
// where they would send the type over an outer middleware's on every hit.
// A snapshot of an earlier version with a Content-Type reads as not
// Sniffed: its type may be a sniffed one, as before.
//
// Version 7 is version 6 whose flags field is 4, 5 or 6: flagOuterTyped
// (the storing request's writer had a Content-Type before the handler
// ran, see Snapshot.OuterTyped) alone or with the flag of version 5 or 6,
// under the same rules. Encode writes it only for such a snapshot: the
// entries of a view behind a middleware that sets a type. Releases that
// know versions 1 to 6 only refuse it (ErrVersion): a miss, where they
// would serve it to a request whose writer has no type. A snapshot of an
// earlier version reads as not OuterTyped.
const (
	magic          = "HCS"
	formatVersion  = 1
	formatDeleted  = 2 // version 1 and Snapshot.Deleted
	formatOuter    = 3 // version 2 and Snapshot.OuterDirectives
	formatUntyped  = 4 // version 3 and a Content-Type or Date with no value
	formatCoded    = 5 // version 4 and Snapshot.TransferCoded
	formatSniffed  = 6 // version 5 and Snapshot.Sniffed
	formatTyped    = 7 // version 6 and Snapshot.OuterTyped
	maxFormatKnown = formatTyped
)

// The flags field: flagTransferCoded in version 5 (Snapshot.TransferCoded,
// which is Sniffed), flagSniffed in version 6 (Snapshot.Sniffed, not
// TransferCoded), flagOuterTyped with either or none in version 7.
const (
	flagTransferCoded = 1
	flagSniffed       = 2
	flagOuterTyped    = 4
)

// Encode appends the binary form of s to dst and returns the result. Where
// the capacity of dst cannot hold EncodedLen bytes more, it allocates once,
// for exactly that. Decode reads it back.
func (s *Snapshot) Encode(dst []byte) []byte {
	fields := s.sortedFields()
	hl, values := headerLen(fields)
	outer := s.outerFields()
	if n := s.encodedLen(hl, outer); cap(dst)-len(dst) < n {
		dst = append(make([]byte, 0, len(dst)+n), dst...)
	}
	dst = append(dst, magic...)
	deleted := s.Deleted()
	version := s.version(outer)
	dst = append(dst, version)
	dst = binary.AppendUvarint(dst, uint64(s.Status))
	dst = binary.AppendVarint(dst, s.StoredAt.UnixNano())
	dst = appendFields(dst, fields, hl, values)
	if version >= formatDeleted {
		dst = binary.AppendUvarint(dst, uint64(len(deleted)))
		for _, name := range deleted {
			dst = appendString(dst, name)
		}
	}
	if version >= formatOuter {
		ol, ov := headerLen(outer)
		dst = appendFields(dst, outer, ol, ov)
	}
	if version >= formatCoded {
		dst = binary.AppendUvarint(dst, uint64(s.flags()))
	}
	dst = binary.AppendUvarint(dst, uint64(len(s.Body)))
	return append(dst, s.Body...)
}

// appendFields appends a header section: its length hl, as headerLen
// returns it with values, then fields.
func appendFields(dst []byte, fields []field, hl, values int) []byte {
	dst = binary.AppendUvarint(dst, uint64(hl))
	dst = binary.AppendUvarint(dst, uint64(len(fields)))
	dst = binary.AppendUvarint(dst, uint64(values))
	for _, f := range fields {
		dst = appendString(dst, f.name)
		dst = binary.AppendUvarint(dst, uint64(len(f.values)))
		for _, v := range f.values {
			dst = appendString(dst, v)
		}
	}
	return dst
}

// version returns the format version Encode writes s in, given its outer
// directives in name order: the lowest that holds what s has.
func (s *Snapshot) version(outer []field) byte {
	switch {
	case s.OuterTyped():
		return formatTyped
	case s.TransferCoded():
		return formatCoded
	case s.Sniffed():
		return formatSniffed
	case valueless(s.Header):
		return formatUntyped
	case outer != nil:
		return formatOuter
	case len(s.Deleted()) > 0:
		return formatDeleted
	}
	return formatVersion
}

// outerFields returns the OuterDirectives of s in name order, as Encode
// writes them; nil when it has none.
func (s *Snapshot) outerFields() []field {
	if s.rare == nil {
		return nil
	}
	_, fields := s.rare.outerDirectives()
	return fields
}

// EncodedLen returns the exact length of the binary form of s: the bytes
// Encode appends.
func (s *Snapshot) EncodedLen() int {
	hl, _ := headerLen(s.sortedFields())
	return s.encodedLen(hl, s.outerFields())
}

// encodedLen is EncodedLen, given the length of the header section and
// the outer directives in name order.
func (s *Snapshot) encodedLen(hl int, outer []field) int {
	n := len(magic) + 1 + uvarintLen(uint64(s.Status)) + varintLen(s.StoredAt.UnixNano()) +
		uvarintLen(uint64(hl)) + hl + uvarintLen(uint64(len(s.Body))) + len(s.Body)
	version := s.version(outer)
	if deleted := s.Deleted(); version >= formatDeleted {
		n += uvarintLen(uint64(len(deleted)))
		for _, name := range deleted {
			n += stringLen(name)
		}
	}
	if version >= formatOuter {
		ol, _ := headerLen(outer)
		n += uvarintLen(uint64(ol)) + ol
	}
	if version >= formatCoded {
		n += uvarintLen(uint64(s.flags()))
	}
	return n
}

// sortedFields returns the header of s in name order, as Encode writes it:
// s.fields, or, for a Snapshot that NewSnapshot or Decode did not make,
// those of a prepared copy.
func (s *Snapshot) sortedFields() []field {
	if s.fields == nil && len(s.Header) > 0 {
		tmp := *s
		tmp.prepare()
		return tmp.fields
	}
	return s.fields
}

// headerLen returns the length of the header section that encodes fields,
// and the number of values they hold.
func headerLen(fields []field) (n, values int) {
	for _, f := range fields {
		values += len(f.values)
		n += stringLen(f.name) + uvarintLen(uint64(len(f.values)))
		for _, v := range f.values {
			n += stringLen(v)
		}
	}
	return n + uvarintLen(uint64(len(fields))) + uvarintLen(uint64(values)), values
}

// stringLen is the length appendString appends for s.
func stringLen(s string) int { return uvarintLen(uint64(len(s))) + len(s) }

// uvarintLen is the length binary.AppendUvarint appends for v.
func uvarintLen(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

// varintLen is the length binary.AppendVarint appends for v (zig-zag
// encoded, as binary.PutVarint does).
func varintLen(v int64) int {
	ux := uint64(v) << 1
	if v < 0 {
		ux = ^ux
	}
	return uvarintLen(ux)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// Decode parses a snapshot Encode wrote. It is strict: a wrong magic, a
// length past the end, a count larger than the bytes could hold, a
// non-canonical, unsorted or duplicate header name, a value with CR, LF or
// NUL, a status outside 100-999, a Content-Length that is not the body's
// length (or a body or Content-Length for a status without a body, such as
// 204), a deleted name (version 2) that is not canonical, sorted, unique
// or absent from the header, an outer directives section (version 3) that
// is not a well-formed header section of at least one field, none in the
// header, flags (version 5) other than 1 or without a Content-Type that
// has a value, flags (version 6) other than 2 or without a Content-Type
// key, flags (version 7) other than 4, 5 or 6, or 5 or 6 under the rules
// of 1 and 2, or trailing bytes are an error wrapping
// ErrCorrupt; an unknown version wraps ErrVersion. It never panics.
//
// The returned Snapshot's Body aliases data (no copy): data must not be
// modified afterwards. Header strings are copied out, in one allocation,
// with the outer directives, which are checked here and decoded when first
// read (OuterDirectives, JudgedHeader, Encode), once, safely from several
// goroutines: a hit that reads none costs what one of an entry without
// them does.
// A Server-Timing field, which NewSnapshot drops but snapshots stored by
// earlier versions hold, is dropped.
func Decode(data []byte) (*Snapshot, error) {
	s, err := decode(data)
	if err != nil {
		return nil, err
	}
	// Entries written before Server-Timing was dropped outlive an upgrade:
	// their metrics must not reach every client either.
	delete(s.Header, "Server-Timing")
	s.prepare()
	return s, nil
}

func corrupt(what string) error { return fmt.Errorf("%w: %s", ErrCorrupt, what) }

// reader reads varints and length-prefixed fields from bytes or a string;
// the first error sticks and makes every later read a no-op.
type reader[T string | []byte] struct {
	b   T
	err error
}

func (r *reader[T]) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	var v uint64
	for i := 0; i < len(r.b) && i < binary.MaxVarintLen64; i++ {
		c := r.b[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break // overflows 64 bits
			}
			r.b = r.b[i+1:]
			return v | uint64(c)<<(7*i)
		}
		v |= uint64(c&0x7f) << (7 * i)
	}
	r.err = corrupt(what)
	return 0
}

// count reads a count or a length, which can never exceed the bytes left
// (every counted item takes at least one byte).
func (r *reader[T]) count(what string) int {
	v := r.uvarint(what)
	if r.err == nil && v > uint64(len(r.b)) {
		r.err = corrupt(what + " past the end")
		return 0
	}
	return int(v)
}

// field reads a length-prefixed field.
func (r *reader[T]) field(what string) T {
	n := r.count(what)
	if r.err != nil {
		var zero T
		return zero
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func decode(data []byte) (*Snapshot, error) {
	if len(data) < len(magic)+1 || string(data[:len(magic)]) != magic {
		return nil, corrupt("bad magic")
	}
	version := data[len(magic)]
	if version < formatVersion || version > maxFormatKnown {
		return nil, fmt.Errorf("%w: %d", ErrVersion, version)
	}
	r := &reader[[]byte]{b: data[len(magic)+1:]}
	status := r.uvarint("status")
	if r.err != nil {
		return nil, r.err
	}
	if status < 100 || status > 999 {
		return nil, corrupt("status out of range")
	}
	storedAt, n := binary.Varint(r.b)
	if n <= 0 {
		return nil, corrupt("stored-at")
	}
	r.b = r.b[n:]
	hdr := r.field("header section")
	hdrEnd := len(data) - len(r.b)
	var deleted [][]byte
	if version >= formatDeleted {
		n := r.count("deleted count")
		if r.err == nil && n == 0 && version == formatDeleted {
			return nil, corrupt("no deleted names in a version 2 snapshot")
		}
		deleted = make([][]byte, 0, min(n, 64))
		for range n {
			if deleted = append(deleted, r.field("deleted name")); r.err != nil {
				break
			}
		}
	}
	var outerSection []byte
	outerEnd := hdrEnd
	keepOuter := false
	if version >= formatOuter {
		outerSection = r.field("outer directives section")
		// A version 4 snapshot's outer section is nearly always the
		// empty one (no field, no value): nothing to copy out, keep, nor
		// allocate for.
		if keepOuter = version == formatOuter || string(outerSection) != emptySection; keepOuter {
			outerEnd = len(data) - len(r.b)
		}
	}
	var flags uint8
	if version >= formatCoded {
		f := r.uvarint("flags")
		ok := false
		switch version {
		case formatCoded:
			ok = f == flagTransferCoded
		case formatSniffed:
			ok = f == flagSniffed
		case formatTyped:
			ok = f&^(flagTransferCoded|flagSniffed) == flagOuterTyped && f&(flagTransferCoded|flagSniffed) != flagTransferCoded|flagSniffed
		}
		if r.err == nil && !ok {
			return nil, corrupt("flags")
		}
		flags = uint8(f)
	}
	body := r.field("body")
	if r.err != nil {
		return nil, r.err
	}
	body = body[:len(body):len(body)]
	if len(r.b) != 0 {
		return nil, corrupt("trailing bytes")
	}
	// One string holds the header section and the outer directives (and
	// the deleted names between them): a hit of a version 3 or 4 entry
	// copies its strings in one allocation, as one of version 1 does.
	strs := string(data[hdrEnd-len(hdr) : outerEnd])
	h, err := decodeHeader(strs[:len(hdr)], version >= formatUntyped)
	if err != nil {
		return nil, err
	}
	if valueless(h) != (version == formatUntyped) && version < formatCoded {
		return nil, corrupt("a Content-Type or Date with no value is what version 4 is for")
	}
	if flags&^flagOuterTyped == flagTransferCoded && len(h["Content-Type"]) == 0 {
		return nil, corrupt("a transfer-coded snapshot without a sniffed Content-Type")
	}
	if _, typed := h["Content-Type"]; flags&^flagOuterTyped == flagSniffed && !typed {
		return nil, corrupt("a sniffed snapshot without a Content-Type")
	}
	var del []string
	if len(deleted) > 0 {
		del = make([]string, len(deleted))
		for i, b := range deleted {
			name := string(b)
			if name == "" || i > 0 && name <= del[i-1] || textproto.CanonicalMIMEHeaderKey(name) != name ||
				!validName(name) || len(h[name]) > 0 {
				return nil, corrupt("deleted name not canonical, sorted, unique and absent")
			}
			del[i] = name
		}
	}
	// The outer directives are checked now, as strictly as the header
	// (no field without a value, in version 4 too), without allocating; a
	// fresh hit never reads them, so they are decoded when first read
	// (rareFields.outerDirectives).
	var outer string
	if keepOuter {
		outer = strs[len(strs)-len(outerSection):]
		nfields, _, err := scanHeader(outer, h, false, nil, nil)
		if err != nil {
			return nil, err
		}
		if nfields == 0 {
			return nil, corrupt("no outer directives in a version 3 snapshot, or not written as Encode writes none")
		}
	}
	// The body's framing, as NewSnapshot sets it: a Content-Length that is
	// not the body's would serve it truncated or leave the client waiting.
	if cl, ok := h["Content-Length"]; bodyAllowed(int(status)) {
		var buf [20]byte // the length spelled on the stack: a hit allocates nothing for it
		if ok && (len(cl) != 1 || cl[0] != string(strconv.AppendInt(buf[:0], int64(len(body)), 10))) {
			return nil, corrupt("content-length is not the body's")
		}
	} else if ok || len(body) != 0 {
		return nil, corrupt("body for a status without one")
	}
	if len(body) == 0 {
		body = nil
	}
	var s *Snapshot
	if len(del) > 0 || outer != "" || flags != 0 {
		// One allocation for both, so that a hit of such an entry
		// allocates as many times as one of an entry without them.
		both := new(struct {
			s    Snapshot
			rare rareFields
		})
		both.rare.deleted, both.rare.encodedOuter, both.rare.flags = del, outer, flags
		s = &both.s
		s.rare = &both.rare
	} else {
		s = new(Snapshot)
	}
	s.Status, s.Header, s.Body, s.StoredAt = int(status), h, body, time.Unix(0, storedAt)
	return s, nil
}

// valueless reports whether h holds a field with no value, which only a
// Content-Type or a Date may be (see Snapshot.Header): the snapshot is
// written in version 4.
func valueless(h http.Header) bool {
	ct, typed := h["Content-Type"]
	date, dated := h["Date"]
	return typed && len(ct) == 0 || dated && len(date) == 0
}

// emptySection is a header section of no field: field-count 0, value-count 0.
const emptySection = "\x00\x00"

// decodeHeader parses the header section from one string, so that every
// name and value is a substring of it (one allocation for all strings). A
// first pass checks the whole section without allocating, so that counts
// read from damaged bytes never size an allocation. With untyped (version
// 4), a Content-Type or Date with no value is read as a nil-valued key.
func decodeHeader(s string, untyped bool) (http.Header, error) {
	nfields, nvalues, err := scanHeader(s, nil, untyped, nil, nil)
	if err != nil {
		return nil, err
	}
	h := make(http.Header, nfields)
	if _, _, err := scanHeader(s, nil, untyped, h, make([]string, nvalues)); err != nil {
		return nil, err
	}
	return h, nil
}

// scanHeader parses and checks the header section s and returns its field
// and value counts; a field of s that stored holds (with a value) is an
// error, with or without a value. With untyped, a Content-Type and a Date
// may have no value (stored in h as nil). When h is not nil it also stores each field in h, its values in
// all, which must have room for every value. With a nil h it allocates
// nothing.
func scanHeader(s string, stored http.Header, untyped bool, h http.Header, all []string) (nfields, nvalues int, err error) {
	r := &reader[string]{b: s}
	nfields = r.count("field count")
	nvalues = r.count("value count")
	if r.err != nil {
		return 0, 0, r.err
	}
	used := 0
	prev := ""
	for i := 0; i < nfields; i++ {
		name := r.field("field name")
		n := r.count("value count")
		if r.err != nil {
			return 0, 0, r.err
		}
		if name == "" || name <= prev || textproto.CanonicalMIMEHeaderKey(name) != name || !validName(name) {
			return 0, 0, corrupt("header name not canonical, sorted and unique")
		}
		prev = name
		if _, ok := stored[name]; ok {
			// With no value too (a version 4 Content-Type or Date):
			// SetOuterDirectives keeps none of the header's fields.
			return 0, 0, corrupt("outer directive stored in the header")
		}
		if n == 0 && untyped && (name == "Content-Type" || name == "Date") {
			if h != nil {
				h[name] = nil
			}
			continue
		}
		if n == 0 || n > nvalues-used {
			return 0, 0, corrupt("value count")
		}
		for j := range n {
			v := r.field("field value")
			if r.err != nil {
				return 0, 0, r.err
			}
			if !validValue(v) {
				return 0, 0, corrupt("header value")
			}
			if h != nil {
				all[used+j] = v
			}
		}
		if h != nil {
			h[name] = all[used : used+n : used+n]
		}
		used += n
	}
	if used != nvalues {
		return 0, 0, corrupt("value count")
	}
	if r.b != "" {
		return 0, 0, corrupt("trailing header bytes")
	}
	return nfields, nvalues, nil
}

// validName reports whether name is a token (RFC 9110 section 5.6.2).
func validName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || isSeparator(c) {
			return false
		}
	}
	return true
}

func isSeparator(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '/', '[', ']', '?', '=', '{', '}':
		return true
	}
	return false
}

func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}
