package caching

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMaxVariantsAboveRecordLimitRejected: MaxVariants above what a Vary
// record can hold (maxSpecVariants) was accepted. On a remote store the
// record listing its 4097th variant could not be read back: it was dropped
// as corrupt and written again with one variant, so that the bound was
// never reached and a client sending a new header value on every request
// stored a variant for each. Such a MaxVariants is now an error at
// construction, naming the valid range.
func TestMaxVariantsAboveRecordLimitRejected(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	r := httptest.NewRequest("GET", "/page", nil)

	_, err := c.ViewKey(r, MaxVariants(maxSpecVariants+1))
	require.ErrorIs(t, err, ErrInvalidOption)
	assert.Contains(t, err.Error(), fmt.Sprint(maxSpecVariants))
	assert.Panics(t, func() { c.Cached(time.Minute, MaxVariants(maxSpecVariants+1)) })

	_, err = c.ViewKey(r, MaxVariants(maxSpecVariants))
	assert.NoError(t, err, "the largest count a record holds is valid")
}
