package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-caching/caching/internal/testutil"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func uniqueName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// postgresURL creates a fresh schema on the CI PostgreSQL, drops it when the
// test ends, and returns a URL whose connections use it.
func postgresURL(t *testing.T) string {
	t.Helper()
	base := testutil.PostgresURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	require.NoError(t, err)
	schema := uniqueName("catalog_test_")
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		conn.Close(context.Background())
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// testSeed is the number of products the tests' databases are seeded with.
const testSeed = 300

// client talks to one running service.
type client struct {
	t    *testing.T
	base string
	svc  *Service
}

// startService starts the service in process on database ("sqlite" or
// "postgres") and cacheURL, on a loopback httptest server. On a shared
// server, cacheURL names a namespace of the test's own (Clear empties it).
func startService(t *testing.T, database, cacheURL string) *client {
	t.Helper()
	return startServiceWith(t, database, cacheURL, nil)
}

// startServiceWith is startService with the Config adjusted by adjust (when
// not nil) before the service starts.
func startServiceWith(t *testing.T, database, cacheURL string, adjust func(*Config)) *client {
	t.Helper()
	cfg := Config{
		CacheURL: cacheURL,
		Seed:     testSeed,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	switch database {
	case "sqlite":
		cfg.SQLitePath = filepath.Join(t.TempDir(), "catalog.db")
	case "postgres":
		cfg.DatabaseURL = postgresURL(t)
	}
	if adjust != nil {
		adjust(&cfg)
	}
	svc, err := NewService(context.Background(), cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(svc.Handler)
	t.Cleanup(func() {
		srv.Close()
		_ = svc.Cache.Clear(context.Background())
		require.NoError(t, svc.Close())
	})
	return &client{t: t, base: srv.URL, svc: svc}
}

// response is what a test looks at in an answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), "body: %s", r.body)
}

// do sends a request with the given headers ("Name: value") and returns the
// answer, its body decoded from its Content-Encoding. A body is sent as
// JSON (Content-Type: application/json) unless headers say otherwise; a
// "Host: name" header is sent as the request's Host.
func (c *client) do(method, path, body string, headers ...string) response {
	c.t.Helper()
	return c.send(method, path, body, "application/json", headers...)
}

// doRaw is do with only the headers given: a body has no Content-Type
// unless they give one.
func (c *client) doRaw(method, path, body string, headers ...string) response {
	c.t.Helper()
	return c.send(method, path, body, "", headers...)
}

// send is do, a body sent with Content-Type ctype when not empty.
func (c *client) send(method, path, body, ctype string, headers ...string) response {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(c.t, err)
	if body != "" && ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		if http.CanonicalHeaderKey(k) == "Host" {
			req.Host = v // the client sends req.Host, not a Host in Header
			continue
		}
		req.Header.Set(k, v)
	}
	// A Transport that does not add Accept-Encoding or decode by itself.
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	plain, err := decodeEncoding(resp.Header.Get("Content-Encoding"), raw)
	require.NoError(c.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: plain}
}

// get is do("GET", path) that requires the status.
func (c *client) get(path string, status int) response {
	c.t.Helper()
	r := c.do("GET", path, "")
	require.Equal(c.t, status, r.status, "GET %s: %s", path, r.body)
	return r
}

// adminStats is the part of /admin/pool-stats the tests read.
type adminStats struct {
	SQLQueries int64 `json:"sql_queries"`
	Cache      struct {
		Hits   int64 `json:"hits"`
		Misses int64 `json:"misses"`
	} `json:"cache"`
}

// queries returns the SQL queries run so far, read from /admin/pool-stats.
func (c *client) queries() int64 {
	c.t.Helper()
	var s adminStats
	c.get("/admin/pool-stats", http.StatusOK).json(c.t, &s)
	return s.SQLQueries
}

func TestCatalog(t *testing.T) {
	for _, database := range []string{"sqlite", "postgres"} {
		for _, cache := range []string{"simple", "redis", "memcached", "file"} {
			t.Run(database+"/"+cache, func(t *testing.T) {
				var cacheURL string
				switch cache {
				case "simple":
					cacheURL = "simple://"
				case "redis":
					cacheURL = "redis://" + testutil.RedisAddr(t) + "/0?prefix=" + uniqueName("catalog-test:")
				case "memcached":
					cacheURL = "memcached://" + strings.Join(testutil.MemcachedAddrs(t), ",") + "?namespace=" + uniqueName("catalog-test-")
				case "file":
					cacheURL = "file://" + filepath.ToSlash(t.TempDir())
				}
				c := startService(t, database, cacheURL)
				t.Run("list is cached", func(t *testing.T) { testListCached(t, c) })
				t.Run("writes make reads fresh", func(t *testing.T) { testWritesFresh(t, c) })
				t.Run("stats are memoized", func(t *testing.T) { testStatsMemoized(t, c) })
				t.Run("compression", func(t *testing.T) { testCompression(t, c) })
				t.Run("bad input", func(t *testing.T) { testBadInput(t, c) })
				t.Run("names round-trip", func(t *testing.T) { testNames(t, c) })
				t.Run("huge sales do not overflow the stats", func(t *testing.T) { testHugeSales(t, c) })
				t.Run("routing errors are JSON", func(t *testing.T) { testRoutingErrors(t, c) })
				t.Run("admin", func(t *testing.T) { testAdmin(t, c) })
				t.Run("orders and reports are enqueued", func(t *testing.T) { testEnqueue(t, c) })
				t.Run("storefront", func(t *testing.T) { testStorefront(t, c) })
				t.Run("a product has one cached path", func(t *testing.T) { testProductAliases(t, c) })
				t.Run("parameters do not fill the cache", func(t *testing.T) { testParameterFlood(t, c) })
			})
		}
	}
}

func testListCached(t *testing.T, c *client) {
	first := c.get("/products?page=2&per_page=10", http.StatusOK)
	assert.Equal(t, "MISS", first.header.Get("X-Cache"))
	var page Page
	first.json(t, &page)
	assert.Equal(t, Page{Products: page.Products, Total: testSeed, Page: 2, Pages: testSeed / 10, PerPage: 10, HasNext: true, HasPrev: true}, page)
	require.Len(t, page.Products, 10)
	assert.Equal(t, int64(11), page.Products[0].ID)

	before := c.queries()
	second := c.get("/products?page=2&per_page=10", http.StatusOK)
	assert.Equal(t, "HIT", second.header.Get("X-Cache"))
	assert.JSONEq(t, string(first.body), string(second.body))
	// The same query in another order is the same entry.
	assert.Equal(t, "HIT", c.get("/products?per_page=10&page=2", http.StatusOK).header.Get("X-Cache"))
	assert.Equal(t, before, c.queries(), "a cached list read ran SQL")

	// Another page is another entry; per_page goes up to 100 (past it, a
	// 400: see testBadInput).
	assert.Equal(t, "MISS", c.get("/products?page=3&per_page=10", http.StatusOK).header.Get("X-Cache"))
	c.get("/products?per_page=100", http.StatusOK).json(t, &page)
	assert.Equal(t, 100, page.PerPage)
	assert.Len(t, page.Products, 100)
}

func testWritesFresh(t *testing.T, c *client) {
	var p Product
	c.get("/products/7", http.StatusOK).json(t, &p)
	assert.Equal(t, "HIT", c.get("/products/7", http.StatusOK).header.Get("X-Cache"))
	c.get("/products?page=1&per_page=10", http.StatusOK)
	assert.Equal(t, "HIT", c.get("/products?page=1&per_page=10", http.StatusOK).header.Get("X-Cache"))

	// PUT: the product and the page holding it are read fresh.
	r := c.do("PUT", "/products/7", `{"price": 123.45, "name": "Renamed"}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var updated Product
	r.json(t, &updated)
	assert.Equal(t, 123.45, updated.Price)
	assert.Equal(t, "Renamed", updated.Name)
	assert.Equal(t, p.CategoryID, updated.CategoryID)

	one := c.get("/products/7", http.StatusOK)
	assert.Equal(t, "MISS", one.header.Get("X-Cache"))
	one.json(t, &p)
	assert.Equal(t, 123.45, p.Price)
	list := c.get("/products?page=1&per_page=10", http.StatusOK)
	assert.Equal(t, "MISS", list.header.Get("X-Cache"))
	var page Page
	list.json(t, &page)
	assert.Equal(t, "Renamed", page.Products[6].Name)

	// POST: the list grows, and answers 201 with the product.
	r = c.do("POST", "/products", `{"name": "Brand new", "price": 5, "category_id": 3}`)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	var created Product
	r.json(t, &created)
	assert.Equal(t, "Brand new", created.Name)
	assert.NotZero(t, created.ID)
	assert.NotEmpty(t, created.Category)
	c.get("/products?page=1&per_page=10", http.StatusOK).json(t, &page)
	assert.Equal(t, testSeed+1, page.Total)

	// DELETE: the product is gone at once, and its 404 is not cached.
	require.Equal(t, http.StatusNoContent, c.do("DELETE", "/products/7", "").status)
	c.get("/products/7", http.StatusNotFound)
	before := c.queries()
	assert.NotEqual(t, "HIT", c.get("/products/7", http.StatusNotFound).header.Get("X-Cache"))
	assert.Greater(t, c.queries(), before, "a 404 was served from the cache")
	c.get("/products?page=1&per_page=10", http.StatusOK).json(t, &page)
	assert.Equal(t, testSeed, page.Total)
	assert.Equal(t, http.StatusNotFound, c.do("PUT", "/products/7", `{"price": 1}`).status)
	assert.Equal(t, http.StatusNotFound, c.do("DELETE", "/products/7", "").status)
}

func testStatsMemoized(t *testing.T, c *client) {
	stats := func(path string) SalesStats {
		var s SalesStats
		c.get(path, http.StatusOK).json(t, &s)
		return s
	}
	monthly := stats("/api/stats/5?period=yearly")
	assert.Equal(t, SalesStats{UserID: 5, Period: "yearly", Total: monthly.Total, Orders: monthly.Orders, Average: monthly.Average}, monthly)
	assert.Positive(t, monthly.Orders, "the seed gives every user sales")

	before := c.queries()
	assert.Equal(t, monthly, stats("/api/stats/5?period=yearly"))
	assert.Equal(t, before, c.queries(), "memoized stats ran SQL")
	// Another period and another user are other entries.
	stats("/api/stats/5?period=weekly")
	stats("/api/stats/6?period=yearly")
	assert.Greater(t, c.queries(), before)

	// A sale forgets that user's statistics, and only that user's.
	r := c.do("POST", "/api/sales", `{"user_id": 5, "amount": 100}`)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	after := stats("/api/stats/5?period=yearly")
	assert.Equal(t, monthly.Orders+1, after.Orders)
	assert.InDelta(t, monthly.Total+100, after.Total, 0.001)
	before = c.queries()
	stats("/api/stats/6?period=yearly")
	assert.Equal(t, before, c.queries(), "another user's stats were forgotten")
	// The default period is monthly.
	assert.Equal(t, "monthly", stats("/api/stats/5").Period)
}

func testCompression(t *testing.T, c *client) {
	plain := c.do("GET", "/products?page=4&per_page=50", "", "Accept-Encoding: identity")
	require.Equal(t, http.StatusOK, plain.status)
	assert.Empty(t, plain.header.Get("Content-Encoding"))
	// deflate: the tests' client (and -compare's) read it as raw DEFLATE,
	// where HTTP's deflate is the zlib format.
	for _, enc := range []string{"gzip", "br", "zstd", "deflate"} {
		t.Run(enc, func(t *testing.T) {
			r := c.do("GET", "/products?page=4&per_page=50", "", "Accept-Encoding: "+enc)
			require.Equal(t, http.StatusOK, r.status)
			assert.Equal(t, enc, r.header.Get("Content-Encoding"))
			assert.JSONEq(t, string(plain.body), string(r.body))
		})
	}
}

func testBadInput(t *testing.T, c *client) {
	cases := []struct{ name, method, path, body string }{
		{"non-numeric product id", "GET", "/products/abc", ""},
		{"zero product id", "GET", "/products/0", ""},
		{"negative page", "GET", "/products?page=-1", ""},
		{"non-numeric page", "GET", "/products?page=two", ""},
		{"zero per_page", "GET", "/products?per_page=0", ""},
		// Each of these was a page of its own in the cache, clamped or
		// read as another spelling of one it already had.
		{"per_page over the maximum", "GET", "/products?per_page=101", ""},
		{"zero-padded page", "GET", "/products?page=02", ""},
		{"signed per_page", "GET", "/products?per_page=+10", ""},
		{"page given twice", "GET", "/products?page=2&page=3", ""},
		{"malformed query string", "GET", "/products?page=2&x=%zz", ""},
		{"semicolon in the query string", "GET", "/products?page=2;x=1", ""},
		{"zero-padded product id", "GET", "/products/042", ""},
		{"signed product id", "GET", "/products/+42", ""},
		{"escaped product id", "GET", "/products/%34%32", ""},
		{"zero-padded id update", "PUT", "/products/042", `{"price": 1}`},
		{"zero-padded id delete", "DELETE", "/products/042", ""},
		{"zero-padded user id", "GET", "/api/stats/07", ""},
		{"unknown period", "GET", "/api/stats/1?period=daily", ""},
		{"non-numeric user id", "GET", "/api/stats/bob", ""},
		{"malformed JSON create", "POST", "/products", `{"name": "x",`},
		{"wrong JSON type", "POST", "/products", `{"name": "x", "price": "cheap", "category_id": 1}`},
		{"missing fields", "POST", "/products", `{"name": "x"}`},
		{"unknown category", "POST", "/products", `{"name": "x", "price": 1, "category_id": 999}`},
		{"negative price", "PUT", "/products/1", `{"price": -1}`},
		{"malformed JSON update", "PUT", "/products/1", `not json`},
		{"non-numeric id update", "PUT", "/products/x", `{"price": 1}`},
		{"non-numeric id delete", "DELETE", "/products/x", ""},
		{"malformed JSON sale", "POST", "/api/sales", `{"user_id": 1, "amount": }`},
		{"sale without amount", "POST", "/api/sales", `{"user_id": 1}`},
		// A NUL in a name was a 500 on PostgreSQL (text cannot hold it).
		{"NUL in a new product's name", "POST", "/products", `{"name": "Tea\u0000pot", "price": 1, "category_id": 1}`},
		{"NUL in a renamed product", "PUT", "/products/1", `{"name": "\u0000"}`},
		{"line break in a name", "POST", "/products", `{"name": "Tea\npot", "price": 1, "category_id": 1}`},
		{"blank name", "PUT", "/products/1", `{"name": " \t "}`},
		{"name too long", "PUT", "/products/1", `{"name": "` + strings.Repeat("é", maxNameLen+1) + `"}`},
		{"body not UTF-8", "PUT", "/products/1", "{\"name\": \"caf\xe9\"}"},
		{"price over the maximum", "PUT", "/products/1", `{"price": 1e308}`},
		{"price out of float64's range", "PUT", "/products/1", `{"price": 1e309}`},
		{"sale of 1e308", "POST", "/api/sales", `{"user_id": 1, "amount": 1e308}`},
		{"sale over the maximum", "POST", "/api/sales", `{"user_id": 1, "amount": 1000000.01}`},
		{"sale of zero", "POST", "/api/sales", `{"user_id": 1, "amount": 0}`},
		{"negative sale", "POST", "/api/sales", `{"user_id": 1, "amount": -5}`},
		{"negative user", "POST", "/api/sales", `{"user_id": -1, "amount": 5}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 2 { // twice: an error must never be served from the cache
				r := c.do(tc.method, tc.path, tc.body)
				require.Equal(t, http.StatusBadRequest, r.status, "try %d: %s", i, r.body)
				assert.Equal(t, "application/json", r.header.Get("Content-Type"))
				var e struct{ Error string }
				r.json(t, &e)
				assert.NotEmpty(t, e.Error)
				assert.NotEqual(t, "HIT", r.header.Get("X-Cache"))
			}
		})
	}
	// A body over 1 MiB is refused whole.
	r := c.do("POST", "/api/sales", `{"user_id": 1, "amount": 5, "pad": "`+strings.Repeat("x", maxBody)+`"}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.status, "%s", r.body)
}

// testNames: names at the bounds, in any script, are stored and read back
// as they were sent, on both databases.
func testNames(t *testing.T, c *client) {
	for _, name := range []string{"Théière 茶壺 🫖", strings.Repeat("é", maxNameLen), "x"} {
		body, err := json.Marshal(map[string]any{"name": name})
		require.NoError(t, err)
		r := c.do("PUT", "/products/2", string(body))
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var p Product
		c.get("/products/2", http.StatusOK).json(t, &p)
		assert.Equal(t, name, p.Name)
	}
}

// testHugeSales: two sales of 1e308 overflowed the sum of a user's sales,
// a 500 on PostgreSQL and a negative total on SQLite. Amounts are now at
// most maxAmount, and the statistics stay right at that bound.
func testHugeSales(t *testing.T, c *client) {
	stats := func() SalesStats {
		var s SalesStats
		c.get("/api/stats/77?period=yearly", http.StatusOK).json(t, &s)
		return s
	}
	before := stats()
	for range 2 {
		r := c.do("POST", "/api/sales", `{"user_id": 77, "amount": 1e308}`)
		require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	}
	for range 2 {
		r := c.do("POST", "/api/sales", fmt.Sprintf(`{"user_id": 77, "amount": %d}`, maxAmount))
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	}
	after := stats()
	assert.Equal(t, before.Orders+2, after.Orders)
	assert.InDelta(t, before.Total+2*maxAmount, after.Total, 0.01)
	assert.Positive(t, after.Average)
}

// testRoutingErrors: the mux's own 404 and 405 were text/plain where every
// other error is JSON.
func testRoutingErrors(t *testing.T, c *client) {
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/nope", http.StatusNotFound, ""},
		{"GET", "/products/1/reviews", http.StatusNotFound, ""},
		{"GET", "/products/999999", http.StatusNotFound, ""}, // the handler's own
		{"POST", "/admin/pool-stats", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"POST", "/metrics", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"PATCH", "/products/1", http.StatusMethodNotAllowed, "DELETE, GET, HEAD, PUT"},
		{"DELETE", "/products", http.StatusMethodNotAllowed, "GET, HEAD, POST"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := c.do(tc.method, tc.path, "")
			require.Equal(t, tc.status, r.status, "%s", r.body)
			assert.Equal(t, "application/json", r.header.Get("Content-Type"))
			assert.Empty(t, r.header.Get("X-Content-Type-Options"))
			var e struct{ Error string }
			r.json(t, &e)
			assert.NotEmpty(t, e.Error)
			assert.Equal(t, tc.allow, r.header.Get("Allow"))
		})
	}
	// The mux's redirects to a cleaned path are kept as they are.
	for _, path := range []string{"/products/../products/1", "/nope/../nope"} {
		r := c.do("GET", path, "")
		assert.Equal(t, http.StatusTemporaryRedirect, r.status, path)
		assert.NotContains(t, r.header.Get("Location"), "..", path)
	}
}

func testAdmin(t *testing.T, c *client) {
	r := c.get("/admin/pool-stats", http.StatusOK)
	var s adminStats
	r.json(t, &s)
	assert.Positive(t, s.SQLQueries)
	assert.Positive(t, s.Cache.Hits)
	assert.Positive(t, s.Cache.Misses)
	assert.Contains(t, string(r.body), `"database"`, "the pool's own statistics")
	assert.NotEmpty(t, c.get("/products/1", http.StatusOK).header.Get("X-Response-Time"))
	// The note says what SQLAlchemy's negative overflow means.
	assert.Contains(t, string(r.body), "negative while fewer than size connections are open")

	// Behind a proxy every client looks like loopback; the proxy's header
	// gives it away, whatever its spelling. The refusal is JSON too.
	for _, h := range []string{"X-Forwarded-For: 203.0.113.9", "Via: 1.1 proxy", "Forwarded: for=203.0.113.9",
		"x-real-ip: 203.0.113.9", "X_Forwarded_For: 203.0.113.9", "X-Forwarded-Proto: https"} {
		for _, m := range []string{"GET", "POST", "DELETE"} {
			for _, path := range []string{"/admin/pool-stats", "/metrics"} {
				// Refused first, whatever the method: a 405 with Allow
				// would tell any client what is there.
				r := c.do(m, path, "", h)
				assert.Equal(t, http.StatusForbidden, r.status, "%s %s, %s", m, path, h)
				assert.Equal(t, "application/json", r.header.Get("Content-Type"), h)
				assert.Empty(t, r.header.Get("Allow"), h)
				assert.NotContains(t, string(r.body), "sql_queries", h)
			}
		}
	}
}

// testProductAliases: GET /products/042 and /products/+42 were answered as
// /products/42 and cached under keys of their own, which the write to
// /products/42 did not drop: after an update they showed the old price,
// X-Cache: HIT, for the TTL. An id now has one spelling (any other is a
// 400, never stored), and a write drops every cached response of the
// product's path, whatever query string or coding it was read with.
func testProductAliases(t *testing.T, c *client) {
	aliases := []string{"/products/042", "/products/+42", "/products/0042", "/products/%34%32"}
	reads := []struct{ path, encoding string }{
		{"/products/42", ""}, {"/products/42?ref=mail", ""}, {"/products/42", "gzip"}, {"/products/42", "br"},
	}
	var old Product
	c.get("/products/42", http.StatusOK).json(t, &old)
	read := func(path, encoding string) response {
		if encoding == "" {
			return c.do("GET", path, "")
		}
		return c.do("GET", path, "", "Accept-Encoding: "+encoding)
	}
	for _, p := range aliases {
		read(p, "") // cached, once, if the alias is answered
	}
	for _, rd := range reads {
		read(rd.path, rd.encoding)
	}

	newPrice := old.Price + 1
	r := c.do("PUT", "/products/42", fmt.Sprintf(`{"price": %v}`, newPrice))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	for _, p := range aliases {
		r := c.do("GET", p, "")
		assert.Equal(t, http.StatusBadRequest, r.status, "%s: %s", p, r.body)
		assert.NotEqual(t, "HIT", r.header.Get("X-Cache"), p)
		if r.status == http.StatusOK {
			var p2 Product
			r.json(t, &p2)
			assert.Equal(t, newPrice, p2.Price, "%s shows the price before the update", p)
		}
	}
	for _, rd := range reads {
		r := read(rd.path, rd.encoding)
		require.Equal(t, http.StatusOK, r.status, "%s %q", rd.path, rd.encoding)
		var p Product
		r.json(t, &p)
		assert.Equal(t, newPrice, p.Price, "%s %q shows the price before the update", rd.path, rd.encoding)
	}
	// Cached again, then deleted: no spelling shows the product any more.
	for _, rd := range reads {
		read(rd.path, rd.encoding)
	}
	require.Equal(t, http.StatusNoContent, c.do("DELETE", "/products/42", "").status)
	for _, rd := range reads {
		assert.Equal(t, http.StatusNotFound, read(rd.path, rd.encoding).status, "%s %q", rd.path, rd.encoding)
	}
	for _, p := range aliases {
		assert.NotEqual(t, http.StatusOK, c.do("GET", p, "").status, p)
	}
}

// testParameterFlood: requests that differ from a page only in what its
// handler does not read, or in how a number is spelled, each added an
// entry to the cache (600 of them took it from 137 entries to 1138): a
// junk parameter, another per_page past 100 (clamped to 100), another
// zero-padded id, another page past the last (an empty page). Now a
// parameter the handler does not read shares the page's entry, and the
// rest are 400 or 404, which the cache does not store.
func testParameterFlood(t *testing.T, c *client) {
	pages := []string{"/products?page=2&per_page=10", "/products/1", "/?page=2"}
	for _, p := range pages {
		c.get(p, http.StatusOK) // cached
	}
	before := c.svc.Cache.Stats().Entries // -1 where the backend does not count
	const n = 40
	for i := range n {
		for _, p := range []string{
			fmt.Sprintf("/products?page=2&per_page=10&junk=%d", i),
			fmt.Sprintf("/products/1?x=%d", i),
			fmt.Sprintf("/?page=2&utm_source=%d", i),
		} {
			assert.Equal(t, "HIT", c.get(p, http.StatusOK).header.Get("X-Cache"), p)
		}
		for _, tc := range []struct {
			path   string
			status int
		}{
			{fmt.Sprintf("/products?per_page=%d", maxPerPage+1+i), http.StatusBadRequest},
			{"/products/" + strings.Repeat("0", i+1) + "1", http.StatusBadRequest},
			{fmt.Sprintf("/products?page=2&junk=%%zz%d", i), http.StatusBadRequest},
			{fmt.Sprintf("/products?page=2&junk=1;%d", i), http.StatusBadRequest},
			{fmt.Sprintf("/?page=2&junk=%%zz%d", i), http.StatusBadRequest},
			{fmt.Sprintf("/products?page=%d", 1000+i), http.StatusNotFound},
			{fmt.Sprintf("/products?page=%d&per_page=100", 1000+i), http.StatusNotFound},
			{fmt.Sprintf("/?page=%d", 1000+i), http.StatusNotFound},
		} {
			r := c.do("GET", tc.path, "")
			assert.Equal(t, tc.status, r.status, tc.path)
			assert.NotEqual(t, "HIT", r.header.Get("X-Cache"), tc.path)
		}
	}
	if before >= 0 {
		assert.LessOrEqual(t, c.svc.Cache.Stats().Entries-before, int64(2),
			"%d requests for variants of %d pages added entries", 11*n, len(pages))
	}
}
