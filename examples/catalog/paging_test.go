package main

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestPerPageSizes: per_page is one of a few sizes, so that a page of the
// list has a few keys in the cache, not one per size from 1 to 100 (with
// 5,000 products that was 26,000 pages to cache, each in several
// encodings, enough to flush a simple:// store).
func TestPerPageSizes(t *testing.T) {
	c := startService(t, "sqlite", "simple://")
	for _, n := range perPageSizes {
		var page Page
		c.get(fmt.Sprintf("/products?per_page=%d", n), http.StatusOK).json(t, &page)
		assert.Equal(t, int(n), page.PerPage)
		assert.Len(t, page.Products, int(n))
	}
	for _, n := range []int{1, 4, 7, 11, 19, 21, 99} {
		r := c.get(fmt.Sprintf("/products?per_page=%d", n), http.StatusBadRequest)
		assert.Contains(t, string(r.body), "per_page must be 5, 10, 20, 50 or 100", n)
	}
}
