package argkey_test

import (
	"encoding/hex"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

type goldenCase struct {
	name string
	v    any
	hex  string
}

// goldenMapCases are maps whose encodings TestGoldenMaps pins: the order of
// their pairs is the format's (sorted by key bytes, then by value bytes),
// whatever the encoder does to find it.
func goldenMapCases() []goldenCase {
	nanKeys := map[float64]string{1: "c", 0: "z"}
	nanKeys[math.NaN()] = "b"
	nanKeys[math.NaN()] = "a"
	nanKeys[math.Copysign(0, -1)] = "y" // the same key as 0
	nanMaps := map[float64]map[string]int{}
	nanMaps[math.NaN()] = map[string]int{"b": 1}
	nanMaps[math.NaN()] = map[string]int{"a": 1, "c": 2}
	nanMaps[math.NaN()] = map[string]int{"a": 1}
	type point struct{ X, Y float64 }
	return []goldenCase{
		{"map one pair", map[string]int{"a": 1}, "020a010701610302"},
		{"map empty", map[string]int{}, "020a00"},
		{"map nil", map[string]int(nil), "020a00"},
		{"map nested", map[string]any{
			"b": map[string]any{"y": 1, "x": "s", "z": []any{nil, 2.5}},
			"a": []any{map[string]int{"k": 2, "j": 3}},
			"":  map[string]any{},
		}, "020a0307000d176d61705b737472696e675d696e74657266616365207b7d0a000701610d0e5b5d696e74657266616365207b7d09010d0e6d61705b737472696e675d696e740a0207016a030607016b03040701620d176d61705b737472696e675d696e74657266616365207b7d0a030701780d06737472696e670701730701790d03696e74030207017a0d0e5b5d696e74657266616365207b7d0902000d07666c6f61743634054004000000000000"},
		{"map nested single", map[string]any{"a": map[string]any{"a": map[string]any{"a": "x"}}}, "020a010701610d176d61705b737472696e675d696e74657266616365207b7d0a010701610d176d61705b737472696e675d696e74657266616365207b7d0a010701610d06737472696e67070178"},
		{"map NaN keys", nanKeys, "020a04050000000000000000070179053ff0000000000000070163057ff8000000000001070161057ff8000000000001070162"},
		{"map NaN keys of maps", nanMaps, "020a03057ff80000000000010a010701610302057ff80000000000010a010701620302057ff80000000000010a0207016103020701630304"},
		{"map pointer keys", map[*int]int{ptr(1): 2, ptr(1): 1, ptr(0): 5, nil: 7}, "020a0400030e0c0300030a0c030203020c03020304"},
		{"map any keys", map[any]int{1: 1, "1": 2, int64(1): 3, nil: 4, 1.5: 5, UserID(1): 6}, "020a060003080d03696e74030203020d05696e743634030203060d06737472696e6707013103040d07666c6f61743634053ff8000000000000030a0d396769746875622e636f6d2f676f2d63616368696e672f63616368696e672f696e7465726e616c2f6172676b65795f746573742e5573657249440302030c"},
		{"map struct keys", map[point]string{{1, 2}: "a", {math.NaN(), 0}: "b", {math.NaN(), 0}: "c", {0, 1}: "d"}, "020a040b0201580500000000000000000159053ff00000000000000701640b020158053ff000000000000001590540000000000000000701610b020158057ff800000000000101590500000000000000000701620b020158057ff80000000000010159050000000000000000070163"},
		{"map int keys", map[int]bool{300: true, -1: false, 0: true, 1: false, 128: true}, "020a050300020301010302010380020203d80402"},
		{"map in struct", Args{UserID: 1, Opts: map[string]int{"z": 26, "a": 1, "m": 13}}, "020b0406557365724944030206506572696f64070004546167730900044f7074730a03070161030207016d031a07017a0334"},
	}
}

// TestGoldenMaps pins the encoding of maps: single pairs, nesting, keys
// that encode the same (NaN, pointers to equal values), keys of several
// dynamic types. Keys stored by one release are looked up by the next.
func TestGoldenMaps(t *testing.T) {
	for _, tt := range goldenMapCases() {
		t.Run(tt.name, func(t *testing.T) {
			for range 8 { // map iteration order differs each time
				assert.Equal(t, tt.hex, hex.EncodeToString(enc(t, tt.v)))
			}
		})
	}
}
