package caching

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gzipsWithoutVary answers in gzip to a client that accepts it and in plain
// text to others, without Vary: Accept-Encoding (nginx's gzip_vary off).
func gzipsWithoutVary(cacheControl string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cacheControl != "" {
			w.Header().Set("Cache-Control", cacheControl)
		}
		w.Header().Set("Content-Type", "text/plain")
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") || strings.Contains(r.Header.Get("Accept-Encoding"), "gzip;q=0") {
			fmt.Fprint(w, "plain page")
			return
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		fmt.Fprint(zw, "plain page")
		_ = zw.Close()
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(buf.Bytes())
	})
}

// TestCodedResponseWithoutVary: a gzip response made for a browser, whose
// origin forgot Vary: Accept-Encoding, was stored under the URL alone and
// served as a HIT to clients that refuse gzip (curl, bots, a Go client with
// DisableCompression). It is keyed by Accept-Encoding as if it varied on it.
func TestCodedResponseWithoutVary(t *testing.T) {
	for _, mode := range []struct {
		name string
		cc   string
		opts []ViewOption
	}{
		{"default mode", "", nil},
		{"SharedCache", "max-age=60", []ViewOption{SharedCache()}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			h := c.Cached(time.Minute, append(mode.opts, CacheStatusHeader("X-Cache"))...)(gzipsWithoutVary(mode.cc))
			w := get(h, "/page", "Accept-Encoding", "gzip, deflate, br")
			require.Equal(t, "gzip", w.Header().Get("Content-Encoding"))
			w = get(h, "/page", "Accept-Encoding", "gzip, deflate, br")
			assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the same client's profile shares the stored gzip")
			assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"))
			for _, ae := range []string{"", "identity", "gzip;q=0, identity"} {
				w = get(h, "/page", "Accept-Encoding", ae)
				assert.Empty(t, w.Header().Get("Content-Encoding"), "Accept-Encoding %q got a coding it refuses (%s)", ae, w.Header().Get("X-Cache"))
				assert.Equal(t, "plain page", w.Body.String(), "Accept-Encoding %q", ae)
			}
			w = get(h, "/page")
			assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the plain variant is stored too")
			assert.Equal(t, "plain page", w.Body.String())
		})
	}
}
