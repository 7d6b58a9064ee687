package cacheurl_test

import (
	"context"
	"testing"

	"github.com/go-caching/caching/backend/cacheurl"
)

// A memcached host that does not resolve yet (DNS not ready at start-up)
// does not fail Open: the backend resolves names as it dials, and the
// calls fail until the name resolves, as with a server that is down.
func TestOpenMemcachedUnresolvedHost(t *testing.T) {
	b, err := cacheurl.Open("memcached://no-such-host.invalid:11211")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer b.Close()
	if _, err := b.Get(context.Background(), "k"); err == nil {
		t.Fatal("Get succeeded")
	}
}
