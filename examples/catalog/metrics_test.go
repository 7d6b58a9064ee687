package main

import (
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// metric returns the value of the series line of the text exposition
// that starts with series, or -1 when there is none.
func metric(body, series string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// TestMetricsWithLease: CACHE_LEASE=1 turns the lease on for the response
// cache and the memoized statistics, and GET /metrics shows what they did.
func TestMetricsWithLease(t *testing.T) {
	c := startServiceWith(t, "sqlite", "", func(cfg *Config) { cfg.Lease = true })
	c.get("/products/7", http.StatusOK)
	c.get("/products/7", http.StatusOK)
	c.get("/api/stats/3", http.StatusOK)
	c.get("/api/stats/3", http.StatusOK)

	r := c.get("/metrics", http.StatusOK)
	body := string(r.body)
	assert.Contains(t, r.header.Get("Content-Type"), "text/plain")
	assert.Equal(t, 1.0, metric(body, `caching_view_requests_total{outcome="hit",view="GET /products/{id}"}`))
	assert.Equal(t, 1.0, metric(body, `caching_view_requests_total{outcome="miss",view="GET /products/{id}"}`))
	assert.Equal(t, 1.0, metric(body, `caching_memoize_calls_total{function="sales-stats",outcome="hit"}`))
	assert.Equal(t, 2.0, metric(body, `caching_leases_total`), "one lease per miss: the page and the statistics")
	assert.Positive(t, metric(body, `caching_pool_connections{pool="database",state="open"}`))
	require.Equal(t, -1.0, metric(body, `caching_breaker_state{state="closed"}`), "an in-process store has no breaker")

	r = c.do("GET", "/metrics", "", "X-Forwarded-For: 203.0.113.9")
	assert.Equal(t, http.StatusForbidden, r.status, "loopback clients only")
}

// TestNearWithRedis: CACHE_NEAR=1 puts the near cache in front of Redis:
// once the news of its own first writes has come back from Redis (the
// invalidations a write triggers drop what was read before they arrived),
// reads of a page are served from process memory, as /metrics shows.
func TestNearWithRedis(t *testing.T) {
	url := "redis://" + testutil.RedisAddr(t) + "/0?prefix=" + uniqueName("catalog-near:")
	c := startServiceWith(t, "sqlite", url, func(cfg *Config) { cfg.Near = true })
	c.get("/products/7", http.StatusOK)
	var body string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		c.get("/products/7", http.StatusOK)
		if body = string(c.get("/metrics", http.StatusOK).body); metric(body, `caching_near_hits_total`) > 0 {
			break
		}
	}
	assert.Positive(t, metric(body, `caching_near_hits_total`), "hits came from process memory")
	assert.Equal(t, 1.0, metric(body, `caching_near_watching`), "invalidations arrive")
	assert.Positive(t, metric(body, `caching_view_requests_total{outcome="hit",view="GET /products/{id}"}`))
}
