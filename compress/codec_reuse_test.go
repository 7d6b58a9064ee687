package compress

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAbandonedEncoderIsReusedClean: an encoder that goes back to its pool
// unclosed (a response aborted once its client left, or after a panic),
// with input it buffered and output it never emitted, must give the next
// response that gets it from the pool nothing of the abandoned one: not a
// byte, not a back-reference into it. Its output is that of a new encoder
// for the same input, byte for byte.
func TestAbandonedEncoderIsReusedClean(t *testing.T) {
	cfg, err := (&Options{}).validate()
	require.NoError(t, err)
	secret := []byte(strings.Repeat(`{"user":"alice","token":"s3cr3t-0123456789"},`, 3000))
	next := []byte(strings.Repeat(`{"user":"bob","token":"s3cr3t-0123456789"},`, 50))
	seen := map[*codec]bool{}
	for _, cd := range append(cfg.prefs.codecs, cfg.streamPrefs.codecs...) {
		if seen[cd] {
			continue
		}
		seen[cd] = true
		t.Run(cd.name, func(t *testing.T) {
			var fresh bytes.Buffer
			e := cd.pool.New().(encoder)
			e.Reset(&fresh)
			_, err := e.Write(next)
			require.NoError(t, err)
			require.NoError(t, e.Close())

			var abandoned bytes.Buffer
			e = cd.get(&abandoned)
			_, err = e.Write(secret[:len(secret)/2])
			require.NoError(t, err)
			require.NoError(t, e.Flush()) // part of it streamed
			_, err = e.Write(secret[len(secret)/2:])
			require.NoError(t, err) // part of it buffered, never emitted
			cd.put(e)

			var reused bytes.Buffer
			e.Reset(&reused) // what get does to the encoder the pool hands out
			_, err = e.Write(next)
			require.NoError(t, err)
			require.NoError(t, e.Close())
			assert.Equal(t, fresh.Bytes(), reused.Bytes(), "the reused encoder's output is a new one's")
		})
	}
}
