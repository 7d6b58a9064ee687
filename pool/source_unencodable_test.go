package pool_test

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/pool"
)

// badJSON is a source's result whose MarshalJSON fails.
type badJSON struct{}

func (badJSON) MarshalJSON() ([]byte, error) { return nil, errors.New("secret=hunter2") }

// panicJSON is a source's result whose MarshalJSON panics.
type panicJSON struct{}

func (panicJSON) MarshalJSON() ([]byte, error) { panic("secret=hunter2") }

// TestStatsHandlerSurvivesUnencodableSource: the stats handler encoded the
// whole report at once, so one source whose result JSON cannot encode (a
// hit ratio of 0/0, NaN, before the first lookup; a channel; a
// MarshalJSON that fails or panics) answered 500, or nothing, for every
// pool. Each source is encoded apart: that one is reported as an error,
// the others as usual.
func TestStatsHandlerSurvivesUnencodableSource(t *testing.T) {
	for name, v := range map[string]any{
		"NaN":               map[string]float64{"hit_ratio": math.NaN()},
		"infinity":          math.Inf(1),
		"channel":           make(chan int),
		"MarshalJSON fails": badJSON{},
		"MarshalJSON panic": panicJSON{},
	} {
		t.Run(name, func(t *testing.T) {
			var reg pool.Registry
			require.NoError(t, reg.Register("bad", func() any { return v }))
			require.NoError(t, reg.RegisterMemcache("good", memcache.New("127.0.0.1:1")))
			h, err := pool.NewHandler(&reg, pool.HandlerOptions{Authorize: func(*http.Request) bool { return true }})
			require.NoError(t, err)
			rec := httptest.NewRecorder()
			func() {
				defer func() { assert.Nil(t, recover(), "the stats endpoint panicked") }()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/pool-stats", nil))
			}()
			require.Equal(t, http.StatusOK, rec.Code, "one source's result took the endpoint down: %s", rec.Body)
			var body map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			var good pool.Stats
			require.NoError(t, json.Unmarshal(body["good"], &good))
			assert.Equal(t, "memcache", good.Kind, "the working source is reported")
			assert.JSONEq(t, `{"error": "pool: the source's result does not encode as JSON"}`, string(body["bad"]))
			assert.NotContains(t, rec.Body.String(), "hunter2", "the encoder's error is not printed")
		})
	}
}
