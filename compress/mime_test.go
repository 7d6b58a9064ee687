package compress

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCompressedExtNeverEncoded keeps compressedExt consistent with what
// is encoded: a response of each extension's type is never encoded under
// the default MimeTypes (so a resume of it keeps its range), and one of
// every type but the .iso's (not compressed by its format) whatever
// MimeTypes says, as alreadyCompressed rules.
func TestCompressedExtNeverEncoded(t *testing.T) {
	def, err := (&Options{}).validate()
	require.NoError(t, err)
	all, err := (&Options{MimeTypes: []string{"*/*"}}).validate()
	require.NoError(t, err)
	for ext, mt := range compressedExt {
		assert.False(t, def.typeOK(mt), "%s (%s) is encoded under the default MimeTypes", ext, mt)
		assert.True(t, def.neverEncodesPath("/f"+ext), ext)
		if ext == ".iso" {
			assert.False(t, all.neverEncodesPath("/f.iso"), "an ISO image is not compressed by its format")
			continue
		}
		assert.True(t, alreadyCompressed(mt), "%s (%s) is not listed by alreadyCompressed", ext, mt)
	}
}
