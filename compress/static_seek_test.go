package compress_test

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/compress"
)

// seekFailFS is fsys whose precompressed files cannot measure their size:
// a Seek to the end fails.
type seekFailFS struct{ fstest.MapFS }

func (f seekFailFS) Open(name string) (fs.File, error) {
	file, err := f.MapFS.Open(name)
	if err != nil || !strings.HasSuffix(name, ".gz") {
		return file, err
	}
	return seekFailFile{file.(seekerFile)}, nil
}

type seekerFile interface {
	fs.File
	io.Seeker
}

type seekFailFile struct{ seekerFile }

func (f seekFailFile) Seek(offset int64, whence int) (int64, error) {
	if whence == io.SeekEnd {
		return 0, errors.New("cannot seek to the end")
	}
	return f.seekerFile.Seek(offset, whence)
}

// TestFileServerSeekFailureServesOriginalUnencoded: when the size of the
// precompressed sibling cannot be measured, FileServer serves the original
// file; it must not go out labelled with the sibling's Content-Encoding,
// which the client would try to decode.
func TestFileServerSeekFailureServesOriginalUnencoded(t *testing.T) {
	js := []byte(strings.Repeat("var a = 1;\n", 300))
	fsys := seekFailFS{fstest.MapFS{
		"app.js":    {Data: js},
		"app.js.gz": {Data: encodeAll(t, compress.Gzip, js)},
	}}
	h := compress.Must(compress.Options{}).FileServer(fsys)
	r := httptest.NewRequest(http.MethodGet, "/app.js", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, string(js), w.Body.String(), "the original file")
	assert.Empty(t, w.Header().Get("Content-Encoding"), "the original is not encoded")
}
