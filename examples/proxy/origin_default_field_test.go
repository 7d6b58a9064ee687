package main

import (
	"fmt"
	"net/http"
	"testing"
)

// TestOriginDefaultFieldJudgesNothing: without -default-ttl the cache
// follows CDN-Cache-Control or Cache-Control, never the proxy's own
// X-Proxy-Cache-Control, but tokenPrivate, markAnonymous and
// credentialHits read an origin's X-Proxy-Cache-Control first (only
// -default-ttl dropped it). An origin that sent "X-Proxy-Cache-Control:
// public" beside "Cache-Control: max-age=60, must-revalidate" had a token
// user's own data stored unprivate and served to an anonymous client, and
// its anonymous page served to signed-in users. The origin's field now
// goes with or without -default-ttl, as markAnonymous's does.
func TestOriginDefaultFieldJudgesNothing(t *testing.T) {
	for _, args := range [][]string{nil, {"-default-ttl", "1m"}} {
		testCredentialPages(t, fmt.Sprint(args), args, http.Header{
			defaultField: {"public, max-age=600"}, "Cache-Control": {"max-age=60, must-revalidate"},
		})
	}
}
