package testutil

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The query's four timeouts are SlowTimeout, as go-redis reads them.
func TestSlowRedisQueryIsSlowTimeout(t *testing.T) {
	opt, err := redis.ParseURL("redis://127.0.0.1:6379/0?" + SlowRedisQuery)
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]time.Duration{"dial": opt.DialTimeout, "read": opt.ReadTimeout, "write": opt.WriteTimeout, "pool": opt.PoolTimeout} {
		if d != SlowTimeout {
			t.Errorf("%s timeout %v, want SlowTimeout (%v)", name, d, SlowTimeout)
		}
	}
}
