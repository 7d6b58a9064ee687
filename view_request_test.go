package caching

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPartialAndNotModifiedNeverStored: StoreStatuses(200, 206) stored a
// Range request's 206 under the URL's key, and the next client that asked
// for the whole body got ten bytes of it. A 206 or 304 is never a response
// to the URL: StoreStatuses refuses them (and the policy never stores a
// 206: TestPolicyResponse).
func TestPartialAndNotModifiedNeverStored(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	for _, code := range []int{http.StatusPartialContent, http.StatusNotModified} {
		assert.Panics(t, func() { c.Cached(time.Minute, StoreStatuses(200, code)) }, "%d", code)
		_, err := c.ViewKey(httptest.NewRequest(http.MethodGet, "/", nil), StoreStatuses(code))
		assert.ErrorIs(t, err, ErrInvalidOption, "%d", code)
	}
	content := strings.Repeat("0123456789", 100)
	h := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "x.txt", time.Time{}, strings.NewReader(content))
	}))
	w := get(h, "/file", "Range", "bytes=0-9")
	require.Equal(t, http.StatusPartialContent, w.Code)
	w = get(h, "/file")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, content, w.Body.String())
}
