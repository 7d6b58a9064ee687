package compress_test

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// TestCurlCompressed is the end-to-end check with a client that is not Go:
// curl --compressed decodes every encoding its build supports (the CI image's
// curl has zlib, brotli and zstd).
func TestCurlCompressed(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	srv := httptest.NewServer(compress.Must(compress.Options{}).Handler(writeJSON(big)))
	defer srv.Close()

	for _, enc := range []string{"", "zstd", "br", "gzip", "deflate"} {
		t.Run("accept="+enc, func(t *testing.T) {
			headers := filepath.Join(t.TempDir(), "headers")
			args := []string{"--silent", "--show-error", "--compressed", "--dump-header", headers}
			if enc != "" {
				args = append(args, "--header", "Accept-Encoding: "+enc)
			}
			out, err := exec.CommandContext(t.Context(), curl, append(args, srv.URL)...).Output()
			require.NoError(t, err)
			assert.Equal(t, string(big), string(out), "curl decoded the body")
			raw, err := os.ReadFile(headers)
			require.NoError(t, err)
			h := strings.ToLower(string(raw))
			assert.Contains(t, h, "vary: accept-encoding")
			if enc == "" {
				assert.Regexp(t, `content-encoding: (zstd|br|gzip|deflate)`, h, "curl's own Accept-Encoding")
			} else {
				assert.Contains(t, h, "content-encoding: "+enc)
			}
		})
	}
}
