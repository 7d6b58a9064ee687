package compress_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// TestFileServerSiblingAge: a sibling is stale only when older than its
// original by more than 2 seconds. cp -r or scp -r without -p copies in
// directory order, so app.js.gz may land a moment before app.js, and a FAT
// file system keeps times to 2 seconds: such a sibling used to be ignored
// and every gzip client sent the uncompressed file. One a minute older was
// not rebuilt with its original and is still ignored.
func TestFileServerSiblingAge(t *testing.T) {
	t.Parallel()
	js := bytes.Repeat([]byte("function hello() { return 'world'; }\n"), 100)
	t0 := time.Now().Truncate(time.Second)
	for _, tc := range []struct {
		name    string
		older   time.Duration // the sibling's age before the original
		wantEnc string
	}{
		{"written 1 ms before", time.Millisecond, "gzip"},
		{"2 s before, a FAT time", 2 * time.Second, "gzip"},
		{"1 min before: stale", time.Minute, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			gz, orig := filepath.Join(dir, "app.js.gz"), filepath.Join(dir, "app.js")
			require.NoError(t, os.WriteFile(gz, encodeAll(t, compress.Gzip, js), 0o644))
			require.NoError(t, os.WriteFile(orig, js, 0o644))
			require.NoError(t, os.Chtimes(gz, t0.Add(-tc.older), t0.Add(-tc.older)))
			require.NoError(t, os.Chtimes(orig, t0, t0))

			w := serveFile(compress.Must(compress.Options{}).FileServer(os.DirFS(dir)), "/app.js", "Accept-Encoding", "gzip")
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, tc.wantEnc, w.Header().Get("Content-Encoding"))
			assert.Equal(t, js, decode(t, tc.wantEnc, w.Body.Bytes()))
		})
	}
}
