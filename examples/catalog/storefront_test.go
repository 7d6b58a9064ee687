package main

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/go-caching/caching"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The parts of a storefront page the tests read.
var (
	productIDs    = regexp.MustCompile(`data-product-id="(\d+)"`)
	productNames  = regexp.MustCompile(`<span class="name">([^<]*)</span>`)
	currentCat    = regexp.MustCompile(`<a href="([^"]*)" aria-current="page">`)
	categoryCount = regexp.MustCompile(`<a href="/\?category=(\d+)"[^>]*>[^<]*</a><span class="count">(\d+)</span>`)
)

// pageIDs returns the ids of the products on a storefront page, in order.
func pageIDs(body []byte) []int64 {
	var ids []int64
	for _, m := range productIDs.FindAllSubmatch(body, -1) {
		id, _ := strconv.ParseInt(string(m[1]), 10, 64)
		ids = append(ids, id)
	}
	return ids
}

// sidebarCounts returns the product counts the sidebar shows, by category.
func sidebarCounts(body []byte) map[int64]int {
	out := map[int64]int{}
	for _, m := range categoryCount.FindAllSubmatch(body, -1) {
		id, _ := strconv.ParseInt(string(m[1]), 10, 64)
		n, _ := strconv.Atoi(string(m[2]))
		out[id] = n
	}
	return out
}

// idsOf returns the ids of products.
func idsOf(products []Product) []int64 {
	ids := make([]int64, 0, len(products))
	for _, p := range products {
		ids = append(ids, p.ID)
	}
	return ids
}

// testStorefront: GET / is an HTML page of the products, cached and
// invalidated as the list is, with its sidebar cached on its own; its
// errors are HTML pages, never cached.
func testStorefront(t *testing.T, c *client) {
	ctx := context.Background()
	want, err := c.svc.Store.ListProducts(ctx, 1, storefrontPerPage)
	require.NoError(t, err)

	first := c.get("/", http.StatusOK)
	assert.Equal(t, "text/html; charset=utf-8", first.header.Get("Content-Type"))
	assert.Equal(t, "MISS", first.header.Get("X-Cache"))
	assert.Equal(t, idsOf(want.Products), pageIDs(first.body))
	assert.Contains(t, string(first.body), "<title>All products · Catalog</title>")
	assert.Equal(t, []string{"/"}, currents(first.body), "the sidebar highlights All products")
	// Server-Timing, sent to loopback clients: what the cache and the
	// database did for this page.
	assert.Equal(t, "miss", timingDesc(first.header, "cache"))
	assert.Equal(t, "miss", timingDesc(first.header, "sidebar"))
	assert.Regexp(t, `^[0-9]+ queries$`, timingDesc(first.header, "db"))

	// Page 2: the sidebar is the one page 1 rendered (no query for it).
	before := c.queries()
	second := c.get("/?page=2", http.StatusOK)
	assert.Equal(t, "MISS", second.header.Get("X-Cache"))
	assert.Equal(t, "hit", timingDesc(second.header, "sidebar"))
	assert.Equal(t, before+2, c.queries(), "page 2 ran more than its count and its products")
	want2, err := c.svc.Store.ListProducts(ctx, 2, storefrontPerPage)
	require.NoError(t, err)
	assert.Equal(t, idsOf(want2.Products), pageIDs(second.body))
	assert.Contains(t, string(second.body), `<a rel="prev" href="/">`)
	assert.Contains(t, string(second.body), `<a rel="next" href="/?page=3">`)

	// Cached: no SQL, and a parameter the page does not read shares the entry.
	before = c.queries()
	again := c.get("/", http.StatusOK)
	assert.Equal(t, "HIT", again.header.Get("X-Cache"))
	assert.Equal(t, first.body, again.body)
	assert.Equal(t, "HIT", c.get("/?utm_source=mail", http.StatusOK).header.Get("X-Cache"))
	assert.Equal(t, before, c.queries(), "a cached page ran SQL")
	etag := again.header.Get("ETag")
	require.NotEmpty(t, etag)
	assert.Equal(t, http.StatusNotModified, c.do("GET", "/", "", "If-None-Match: "+etag).status)

	// A category: its products only, highlighted in its own sidebar.
	cat := want.Products[0].CategoryID
	catPath := "/?category=" + strconv.FormatInt(cat, 10)
	byCat := c.get(catPath, http.StatusOK)
	assert.Equal(t, []string{catPath}, currents(byCat.body))
	assert.Contains(t, string(byCat.body), "<title>"+want.Products[0].Category+" · Catalog</title>")
	counts := sidebarCounts(byCat.body)
	assert.Len(t, counts, len(categoryNames))
	assert.NotEmpty(t, pageIDs(byCat.body))
	for _, id := range pageIDs(byCat.body) {
		p, err := c.svc.Store.GetProduct(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, cat, p.CategoryID, "product %d", id)
	}

	// A write makes the pages and the sidebar fresh (the tag "products"),
	// and a name is shown as text, never as markup.
	name := `<script>alert("x")</script> & Tea`
	r := c.do("POST", "/products", fmt.Sprintf(`{"name": %q, "price": 3.5, "category_id": %d}`, name, cat))
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	last := fmt.Sprintf("%s&page=%d", catPath, (counts[cat]+1+storefrontPerPage-1)/storefrontPerPage)
	fresh := c.get(last, http.StatusOK)
	assert.Equal(t, counts[cat]+1, sidebarCounts(fresh.body)[cat], "the sidebar was not invalidated")
	names := productNames.FindAllSubmatch(fresh.body, -1)
	require.NotEmpty(t, names)
	shown := string(names[len(names)-1][1])
	assert.NotContains(t, shown, "<script>")
	assert.Equal(t, name, html.UnescapeString(shown))
	assert.Equal(t, "MISS", c.get("/", http.StatusOK).header.Get("X-Cache"))

	// One fragment can be deleted by its key: the next page of that
	// category that is not cached renders it again.
	key, err := caching.FragmentKey("sidebar", cat)
	require.NoError(t, err)
	require.NoError(t, c.svc.Cache.Delete(ctx, key))
	// (Pages past the last: 404s, which are never stored, still show the
	// sidebar.)
	assert.Equal(t, "miss", timingDesc(c.get(catPath+"&page=100", http.StatusNotFound).header, "sidebar"))
	assert.Equal(t, "hit", timingDesc(c.get(catPath+"&page=101", http.StatusNotFound).header, "sidebar"))

	// Errors are HTML pages, and never stored.
	for _, tc := range []struct {
		path   string
		status int
		text   string
	}{
		{"/?page=0", http.StatusBadRequest, "page must be a positive integer"},
		{"/?page=two", http.StatusBadRequest, "page must be a positive integer"},
		{"/?page=99999999999", http.StatusBadRequest, "page is too large"},
		{"/?page=02", http.StatusBadRequest, "page must be a positive integer"},
		{"/?page=2&page=3", http.StatusBadRequest, "page is given more than once"},
		{"/?category=%2B3", http.StatusBadRequest, "category must be a positive integer"},
		{"/?page=2&x=%zz", http.StatusBadRequest, "malformed query string"},
		{"/?category=x", http.StatusBadRequest, "category must be a positive integer"},
		{"/?category=999", http.StatusNotFound, "There is no such category."},
	} {
		for i := range 2 {
			r := c.do("GET", tc.path, "")
			require.Equal(t, tc.status, r.status, "%s, try %d: %s", tc.path, i, r.body)
			assert.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"), tc.path)
			assert.Contains(t, string(r.body), tc.text, tc.path)
			assert.NotEqual(t, "HIT", r.header.Get("X-Cache"), tc.path)
		}
	}
	// A page past the last is a page with no products and a way back, but
	// a 404, never stored: an empty page per number asked for would be.
	for range 2 {
		past := c.get(fmt.Sprintf("/?page=%d", want.Pages+5), http.StatusNotFound)
		assert.NotEqual(t, "HIT", past.header.Get("X-Cache"))
		assert.Empty(t, pageIDs(past.body))
		assert.Contains(t, string(past.body), fmt.Sprintf(`<a rel="prev" href="/?page=%d">`, want.Pages))
	}
}

// timingDesc returns the description of the Server-Timing metric name in
// h ("miss" of sidebar;dur=1.2;desc=miss), unquoted.
func timingDesc(h http.Header, name string) string {
	for _, m := range strings.Split(h.Get("Server-Timing"), ",") {
		params := strings.Split(strings.TrimSpace(m), ";")
		if params[0] != name {
			continue
		}
		for _, p := range params[1:] {
			if v, ok := strings.CutPrefix(p, "desc="); ok {
				return strings.Trim(v, `"`)
			}
		}
	}
	return ""
}

// currents returns the addresses the sidebar marks as the current page.
func currents(body []byte) []string {
	var out []string
	for _, m := range currentCat.FindAllSubmatch(body, -1) {
		out = append(out, html.UnescapeString(string(m[1])))
	}
	return out
}

// TestStorefrontCompressed: the page is compressed in each coding a client
// accepts, and the same page once decoded.
// renderedAt matches the times a storefront page says it was rendered at.
var renderedAt = regexp.MustCompile(`rendered at \d\d:\d\d:\d\d UTC`)

func TestStorefrontCompressed(t *testing.T) {
	c := startService(t, "sqlite", "simple://")
	plain := c.do("GET", "/", "", "Accept-Encoding: identity")
	require.Equal(t, http.StatusOK, plain.status)
	assert.Empty(t, plain.header.Get("Content-Encoding"))
	for _, enc := range []string{"gzip", "br", "zstd", "deflate"} {
		r := c.do("GET", "/", "", "Accept-Encoding: "+enc)
		require.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, enc, r.header.Get("Content-Encoding"))
		// Each coding is a variant of its own, rendered when first asked
		// for: only its "rendered at" times may differ from the plain one's.
		assert.Equal(t, renderedAt.ReplaceAllString(string(plain.body), "T"), renderedAt.ReplaceAllString(string(r.body), "T"), enc)
	}
	assert.True(t, strings.HasPrefix(string(plain.body), "<!doctype html>"))
}
