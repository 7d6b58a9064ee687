package main

import (
	"strings"
	"testing"

	"github.com/go-caching/caching/benchmarks/internal/e2e"
)

// TestPickAlwaysHasTheReference checks that a list without the naive map
// server still measures it, first.
func TestPickAlwaysHasTheReference(t *testing.T) {
	picked, skipped, err := pick("cached-simple", e2e.Env{}, false)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range picked {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); got != "naive-map,cached-simple" || len(skipped) != 0 {
		t.Errorf("picked %s, skipped %v; want naive-map,cached-simple and none", got, skipped)
	}
}

func TestPickRejectsAnUnknownContender(t *testing.T) {
	if _, _, err := pick("naive-map,nginx", e2e.Env{}, false); err == nil || !strings.Contains(err.Error(), `"nginx"`) {
		t.Errorf("error %v; want one naming nginx", err)
	}
}

// TestPickSkipsOrRequires checks that a contender that cannot run here is
// skipped with its reason, or fails the run with -require.
func TestPickSkipsOrRequires(t *testing.T) {
	env := e2e.Env{Redis: "redis://127.0.0.1:1/0"} // nothing listens on port 1
	_, skipped, err := pick("cached-redis", env, false)
	if err != nil || len(skipped) != 1 || !strings.HasPrefix(skipped[0], "cached-redis (no Redis at 127.0.0.1:1") {
		t.Errorf("skipped %v, error %v; want cached-redis skipped for want of Redis", skipped, err)
	}
	if _, _, err := pick("cached-redis", env, true); err == nil {
		t.Error("-require with no Redis: no error")
	}
}
