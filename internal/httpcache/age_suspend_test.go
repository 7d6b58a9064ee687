package httpcache

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/internal/testutil"
)

// TestInitialAgeDelayCountsSuspend: the response delay, which the
// corrected initial age adds, counted on the monotonic clock alone left
// out a suspend while the request was out: a response that may have aged
// an hour meanwhile was taken for a second old.
func TestInitialAgeDelayCountsSuspend(t *testing.T) {
	sent := time.Now()
	got := testutil.Suspended(t, sent.Add(time.Second), time.Hour)
	assert.Equal(t, time.Hour+time.Second, InitialAge(http.Header{}, got, sent, got))
	assert.Equal(t, time.Hour+11*time.Second, InitialAge(http.Header{"Age": {"10"}}, got, sent, got), "with an upstream Age")
}
