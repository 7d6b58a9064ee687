package caching_test

import (
	"context"
	"testing"

	"github.com/go-caching/caching"
)

// TestGetOrSetCountsOneLookup: a GetOrSet that misses and loads counts one
// miss in Stats, not one for its read and another for the second look its
// load takes; the next call counts one hit.
func TestGetOrSetCountsOneLookup(t *testing.T) {
	inEachStore(t, testGetOrSetCountsOneLookup)
}

func testGetOrSetCountsOneLookup(t *testing.T, c *caching.Cache) {
	ctx := context.Background()
	load := func(context.Context) (int, error) { return 7, nil }
	if _, err := caching.GetOrSet(ctx, c, "k", 0, load); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Misses != 1 || s.Hits != 0 {
		t.Fatalf("after a loading GetOrSet: %d misses, %d hits; want 1 and 0", s.Misses, s.Hits)
	}
	if _, err := caching.GetOrSet(ctx, c, "k", 0, load); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Misses != 1 || s.Hits != 1 {
		t.Fatalf("after a hit: %d misses, %d hits; want 1 and 1", s.Misses, s.Hits)
	}
}
