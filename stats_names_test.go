package caching_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-caching/caching"
)

// TestConnectPathIsNotAViewName: ServeMux reports the path it redirects a
// CONNECT request to as that request's pattern, so a client choosing paths
// under a subtree route would make each one a view name (kept for good, and
// a metric label). CONNECT requests are counted under "" instead.
func TestConnectPathIsNotAViewName(t *testing.T) {
	c := caching.Must(nil)
	defer c.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/users/{id}/", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("profile")) })
	h := c.CachedMux(mux, time.Minute)

	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/users/1/", nil))
	for i := range 300 {
		path := fmt.Sprintf("/users/attacker-%d-%s", i, strings.Repeat("A", 100))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodConnect, path, nil))
	}
	stats := c.ViewStats()
	if len(stats) > 2 {
		t.Fatalf("ViewStats holds %d names after 300 CONNECT requests to distinct paths; want the route's and \"\" at most", len(stats))
	}
	if got := stats["/users/{id}/"].Misses; got != 1 {
		t.Errorf("the route's misses = %d, want 1", got)
	}
	if got := stats[""].Bypasses; got != 300 {
		t.Errorf("the CONNECT requests' bypasses under \"\" = %d, want 300", got)
	}
}

// TestViewNamesAreBounded: however many names views are given, ViewStats
// holds at most 1024, the ones past the first 1023 counted together under
// OtherName.
func TestViewNamesAreBounded(t *testing.T) {
	c := caching.Must(nil)
	defer c.Close()
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("x")) })
	const n = 1100
	for i := range n {
		h := c.Cached(time.Minute, caching.Name(fmt.Sprintf("view-%d", i)))(handler)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, fmt.Sprintf("/v/%d", i), nil))
	}
	stats := c.ViewStats()
	if len(stats) != 1024 {
		t.Fatalf("ViewStats holds %d names, want 1024", len(stats))
	}
	if got := stats[caching.OtherName].Misses; got != n-1023 {
		t.Errorf("%s counts %d misses, want %d", caching.OtherName, got, n-1023)
	}
	if got := stats["view-0"].Misses; got != 1 {
		t.Errorf("view-0 counts %d misses, want 1", got)
	}
	var total int64
	for _, s := range stats {
		total += s.Misses
	}
	if total != n {
		t.Errorf("the names count %d misses in all, want %d: none is lost", total, n)
	}
}

// TestMemoNamesAreBounded is TestViewNamesAreBounded for MemoStats.
func TestMemoNamesAreBounded(t *testing.T) {
	c := caching.Must(nil)
	defer c.Close()
	ctx := context.Background()
	const n = 1030
	for i := range n {
		f := caching.Memoize(c, fmt.Sprintf("fn-%d", i), func(_ context.Context, a int) (int, error) { return a, nil })
		if _, err := f.Get(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	stats := c.MemoStats()
	if len(stats) != 1024 {
		t.Fatalf("MemoStats holds %d names, want 1024", len(stats))
	}
	if got := stats[caching.OtherName].Misses; got != n-1023 {
		t.Errorf("%s counts %d misses, want %d", caching.OtherName, got, n-1023)
	}
}
