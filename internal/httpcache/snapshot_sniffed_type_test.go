package httpcache

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestSnapshotStoresTheContentTypeNetHTTPSniffs: a response whose handler
// set no Content-Type got the one net/http sniffed from its body; a HEAD
// served from its snapshot, whose body net/http does not see, had none.
// The snapshot stores it, by net/http's rule: not for an empty body, a
// Content-Encoding, a status without a body, nor over the handler's own
// type.
func TestSnapshotStoresTheContentTypeNetHTTPSniffs(t *testing.T) {
	html := []byte(strings.Repeat("<p>hello</p>\n", 100))
	for _, tc := range []struct {
		name   string
		status int
		h      http.Header
		body   []byte
		want   []string
	}{
		{"sniffed", http.StatusOK, http.Header{}, html, []string{"text/html; charset=utf-8"}},
		{"another status with a body", http.StatusNotFound, http.Header{}, []byte("not found"), []string{"text/plain; charset=utf-8"}},
		{"the handler's own", http.StatusOK, http.Header{"Content-Type": {"application/xhtml+xml"}}, html, []string{"application/xhtml+xml"}},
		{"empty body", http.StatusOK, http.Header{}, nil, nil},
		{"encoded", http.StatusOK, http.Header{"Content-Encoding": {"gzip"}}, html, nil},
		{"no body allowed", http.StatusNoContent, http.Header{}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range []*Snapshot{
				NewSnapshot(tc.status, tc.h, tc.body, time.Unix(1e9, 0)),
				NewSharedSnapshot(tc.status, tc.h, tc.body, time.Unix(1e9, 0)),
			} {
				assert.Equal(t, tc.want, s.Header["Content-Type"])
				d, err := Decode(s.Encode(nil))
				if assert.NoError(t, err) {
					assert.Equal(t, tc.want, d.Header["Content-Type"], "decoded")
				}
			}
		})
	}
}
