package caching

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClientPreconditionsStoreOnlyThePlainResponse: the handler of a miss
// sees the client's Range, If-Range, If-Match, If-Unmodified-Since and
// A-IM (only If-None-Match and If-Modified-Since are left out:
// withoutValidators). What it makes of them is never stored for the
// others unless it is the response to the plain request: a 206, 412 or
// 226 is refused for its status (a later plain GET is a MISS), and a 200
// (a precondition that held, an If-Range that did not match) is the whole
// representation, the plain request's own (a later plain GET is a HIT with
// the whole body).
func TestClientPreconditionsStoreOnlyThePlainResponse(t *testing.T) {
	body := []byte("0123456789")
	cases := []struct {
		name   string
		header []string
		status int
	}{
		{"Range", []string{"Range", "bytes=0-3"}, http.StatusPartialContent},
		{"If-Range other", []string{"Range", "bytes=0-3", "If-Range", `"other"`}, http.StatusOK},
		{"If-Range same", []string{"Range", "bytes=0-3", "If-Range", `"v1"`}, http.StatusPartialContent},
		{"If-Match other", []string{"If-Match", `"other"`}, http.StatusPreconditionFailed},
		{"If-Match same", []string{"If-Match", `"v1"`}, http.StatusOK},
		{"If-Unmodified-Since past", []string{"If-Unmodified-Since", "Thu, 01 Jan 2015 00:00:00 GMT"}, http.StatusPreconditionFailed},
		{"If-Unmodified-Since later", []string{"If-Unmodified-Since", "Fri, 01 Jan 2027 00:00:00 GMT"}, http.StatusOK},
		{"If_Match other", []string{"If_Match", `"other"`}, http.StatusOK}, // ServeContent reads no '_' spelling
		{"A-IM", []string{"A-IM", "vcdiff"}, http.StatusIMUsed},
	}
	for _, shared := range []bool{false, true} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("shared=%v/%s", shared, tc.name), func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				var runs atomic.Int64
				gate := make(chan struct{})
				close(gate)
				h := partialView(c, shared, body, gate, &runs, CacheStatusHeader("X-Cache"))
				require.Equal(t, tc.status, get(h, "/file", tc.header...).Code, "the handler's answer to the client")
				w := get(h, "/file")
				require.Equal(t, http.StatusOK, w.Code)
				assert.Equal(t, body, w.Body.Bytes(), "the plain request gets the whole representation")
				want := "MISS"
				if tc.status == http.StatusOK {
					want = "HIT"
				}
				assert.Equal(t, want, w.Header().Get("X-Cache"))
			})
		}
	}
}
