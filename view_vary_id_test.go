package caching

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVariantIDIs128Bits: a Vary record named its variants by a 64-bit
// FNV-1a hash; any 64-bit name falls to a birthday search of about 2^32
// tries (seconds for FNV), and variants that share a name count once
// against MaxVariants, so a client could store as many variants as it had
// found collisions. Variants are named by the first 128 bits of SHA-256,
// the same in every process and release.
func TestVariantIDIs128Bits(t *testing.T) {
	const variant = "Accept-Language=en-US"
	sum := sha256.Sum256([]byte(variant))
	assert.Equal(t, variantID{binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:16])}, newVariantID(variant))
	assert.NotEqual(t, newVariantID("Accept-Language=en"), newVariantID("Accept-Language=fr"))
	assert.NotZero(t, newVariantID(variant)[0], "the high half is used")
}

// TestVaryRecordFromVersion3KeepsCounting: the variants a version 3 record
// lists (64-bit names) never match a new name, and keep counting against
// MaxVariants until their entries leave the store: an upgrade never lets
// more variants in than the bound.
func TestVaryRecordFromVersion3KeepsCounting(t *testing.T) {
	v3 := []byte("HCV\x03\x01\x01A\x02" +
		"\x00\x00\x00\x00\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00\x08" +
		"\x00\x00\x00\x00\x00\x00\x00\x64\x00\x00\x00\x00\x00\x00\x00\x64") // both until 100
	got, err := decodeViewPayload(v3)
	require.NoError(t, err)
	spec := got.(*varySpec)
	assert.Nil(t, spec.withVariant(newVariantID("A=x"), 200, 50, 2), "two old variants still stored: full")
	next := spec.withVariant(newVariantID("A=x"), 200, 100, 2)
	require.NotNil(t, next, "gone by their time")
	assert.Equal(t, []variantID{newVariantID("A=x")}, next.variants)
}
