package pool_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/pool"
)

// TestRegisterRefusesNilPools: a nil pool was registered without a word,
// and the first request to the stats endpoint, or the first scrape of a
// metrics Collector given the Registry, dereferenced it. Under a scrape
// that takes the whole program down (Prometheus collects on goroutines of
// its own), and for a Redis client the read runs on a goroutine of the
// Registry's, where even the stats endpoint's panic is fatal. A nil pool is
// refused when it is registered, as a nil source is.
func TestRegisterRefusesNilPools(t *testing.T) {
	var reg pool.Registry
	var cfg pool.Config
	for name, register := range map[string]func() error{
		"sql":            func() error { return reg.RegisterSQL("sql", nil) },
		"sql zero DB":    func() error { return reg.RegisterSQL("sql zero", &pool.DB{}) },
		"redis nil":      func() error { return reg.RegisterRedis("redis", nil, cfg) },
		"redis client":   func() error { return reg.RegisterRedis("client", (*redis.Client)(nil), cfg) },
		"redis cluster":  func() error { return reg.RegisterRedis("cluster", (*redis.ClusterClient)(nil), cfg) },
		"memcache nil":   func() error { return reg.RegisterMemcache("memcache", nil) },
		"redis universe": func() error { return reg.RegisterRedis("universal", redis.UniversalClient(nil), cfg) },
	} {
		t.Run(name, func(t *testing.T) {
			assert.Error(t, register(), "a nil pool is registered")
		})
	}
	assert.Empty(t, reg.Snapshot(), "a refused pool is not reported")
}

// panickingPooler is a RedisPooler whose statistics panic, as a client
// wrapper of the program's with a bug would.
type panickingPooler struct{}

func (panickingPooler) PoolStats() *redis.PoolStats { panic("pooler bug") }

// TestSnapshotSurvivesPanickingSource: one source that panicked took the
// stats endpoint down for every pool (net/http recovered the request's
// panic, the client got no answer), a Prometheus scrape down with the whole
// program (Gather calls a Collector on a goroutine of its own), and a
// RedisPooler's panic ran on the Registry's own goroutine, fatal wherever
// it was called from. The other sources are reported, and the one that
// panicked is reported as an error, without the panic's value (it may
// hold what the program would not print).
func TestSnapshotSurvivesPanickingSource(t *testing.T) {
	var reg pool.Registry
	require.NoError(t, reg.Register("bad", func() any { panic("source bug: password=hunter2") }))
	require.NoError(t, reg.RegisterRedis("bad redis", panickingPooler{}, pool.Config{}))
	mc := memcache.New("127.0.0.1:1")
	require.NoError(t, reg.RegisterMemcache("good", mc))

	var snap map[string]any
	require.NotPanics(t, func() { snap = reg.Snapshot() })
	require.IsType(t, pool.Stats{}, snap["good"], "the working source is reported")
	assert.Equal(t, "memcache", snap["good"].(pool.Stats).Kind)
	assert.Equal(t, map[string]string{"error": "pool: the source panicked"}, snap["bad"])
	require.IsType(t, pool.Stats{}, snap["bad redis"], "a Redis client whose read panics shows its last read")
	assert.Equal(t, "redis", snap["bad redis"].(pool.Stats).Kind)

	h, err := pool.NewHandler(&reg, pool.HandlerOptions{Authorize: func(*http.Request) bool { return true }})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { assert.Nil(t, recover(), "the stats endpoint panicked") }()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/pool-stats", nil))
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stats endpoint hung")
	}
	require.Equal(t, http.StatusOK, rec.Code)
	var body map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	assert.Contains(t, body, "good")
	assert.JSONEq(t, `{"error": "pool: the source panicked"}`, string(body["bad"]))
	assert.NotContains(t, rec.Body.String(), "hunter2", "the panic's value is not printed")
}
