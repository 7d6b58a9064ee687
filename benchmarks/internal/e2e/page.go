package e2e

import (
	_ "embed"
	"net/http"
	"sync/atomic"
)

// Page is the response body every contender serves: the 2 KiB JSON document
// of the in-process response cache benchmarks (benchmarks/body_test.go's
// jsonBody(2048); a test there checks they are the same bytes).
//
//go:embed page.json
var Page []byte

// Path is the request target of the cached route. Flask-Caching keys its
// view by path only and Cached by path and canonical query: both cache it
// as one entry.
const Path = "/products?page=1"

// StatusHeader is the response header in which every contender says whether
// a response came from its cache: HIT, or MISS when the handler ran.
const StatusHeader = "X-Cache"

// PageHandler serves Page as application/json and counts its calls in
// calls, when calls is not nil.
func PageHandler(calls *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if calls != nil {
			calls.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(Page)
	}
}
