package caching

import (
	"encoding/binary"
	"fmt"
	"net/http"

	"github.com/go-caching/caching/internal/httpcache"
)

// varySpec is what the base key of a response with Vary holds: the request
// header names its variants are keyed by, and the variants stored (by
// variantHash), at most MaxVariants of them. The snapshots live under
// variantKey(base, variant).
type varySpec struct {
	names    []string
	variants []uint64
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
//	"HCV" | version 2 | uvarint count | count × (uvarint length, name)
//	      | uvarint variants | variants × uint64 (big-endian)
const (
	specMagic       = "HCV"
	specVersion     = 2
	maxSpecNames    = 64 // names
	maxSpecVariants = 1 << 12
)

// encodeViewValue encodes a *httpcache.Snapshot or a *varySpec.
func encodeViewValue(val any) ([]byte, error) {
	switch x := val.(type) {
	case *httpcache.Snapshot:
		return x.Encode(nil), nil
	case *varySpec:
		b := append([]byte(specMagic), specVersion)
		b = binary.AppendUvarint(b, uint64(len(x.names)))
		for _, n := range x.names {
			b = binary.AppendUvarint(b, uint64(len(n)))
			b = append(b, n...)
		}
		b = binary.AppendUvarint(b, uint64(len(x.variants)))
		for _, h := range x.variants {
			b = binary.BigEndian.AppendUint64(b, h)
		}
		return b, nil
	}
	return nil, fmt.Errorf("caching: not a view value: %T", val)
}

// decodeViewPayload decodes what encodeViewValue wrote; anything else is an
// error wrapping errCorrupt.
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
	if len(p) == 0 || p[0] != specVersion {
		return nil, fmt.Errorf("%w: vary record version", errCorrupt)
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
	if uint64(len(p)) != 8*n {
		return nil, fmt.Errorf("%w: vary record variants", errCorrupt)
	}
	spec.variants = make([]uint64, n)
	for i := range spec.variants {
		spec.variants[i] = binary.BigEndian.Uint64(p[8*i:])
	}
	return spec, nil
}
