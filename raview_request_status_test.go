package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/httpcache"
)

// raviewStatuses are the statuses a view never stores nor serves from the
// store, listed in StoreStatuses or not (requestStatus): each answers
// fields of the request (or its connection) that no key holds.
var raviewStatuses = []int{
	http.StatusIMUsed, http.StatusNotAcceptable, http.StatusRequestTimeout,
	http.StatusPreconditionFailed, http.StatusRequestedRangeNotSatisfiable,
	http.StatusExpectationFailed, http.StatusMisdirectedRequest, http.StatusTooEarly,
	http.StatusTooManyRequests, http.StatusRequestHeaderFieldsTooLarge,
}

// TestRequestStatusesOfTheClientNeverStored: a 429 from a per-client rate
// limit, a 431 for one request's oversized header, a 406 for an Accept the
// page has no representation for (without Vary, or with a Vary that does
// not name the field it answers), and the others of raviewStatuses answer
// the request, not the URL. Listed in StoreStatuses (a service caching its
// 4xx), one client's request made the page that error for every client of
// the key until it expired. Each request now gets its own answer.
func TestRequestStatusesOfTheClientNeverStored(t *testing.T) {
	var seen sync429
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		size := 0
		for k, vs := range r.Header {
			for _, v := range vs {
				size += len(k) + len(v)
			}
		}
		switch {
		case r.Header.Get("X-Answer") != "":
			// A status only this request's fields make (a proxy's origin
			// timed out reading it, an Expect, 0-RTT data, a connection
			// for another authority).
			status, _ := strconv.Atoi(r.Header.Get("X-Answer"))
			w.WriteHeader(status)
			io.WriteString(w, "for you only")
		case size > 4<<10:
			w.WriteHeader(http.StatusRequestHeaderFieldsTooLarge)
			io.WriteString(w, "header too large")
		case r.Header.Get("Accept") == "application/x-none":
			w.Header().Set("Vary", "Accept-Encoding") // a compressor's, on every response
			w.WriteHeader(http.StatusNotAcceptable)
			io.WriteString(w, "no such representation")
		case r.Header.Get("X-Client") != "" && seen.over(r.Header.Get("X-Client")):
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, "slow down")
		default:
			w.Header().Set("Vary", "Accept-Encoding")
			io.WriteString(w, "the page")
		}
	})
	type attack struct {
		name string
		hdr  []string
	}
	attacks := []attack{
		{"429", []string{"X-Client", "greedy"}},
		{"431", []string{"X-Padding", strings.Repeat("a", 5<<10)}},
		{"406", []string{"Accept", "application/x-none"}},
	}
	for _, s := range []int{http.StatusRequestTimeout, http.StatusExpectationFailed, http.StatusMisdirectedRequest, http.StatusTooEarly} {
		attacks = append(attacks, attack{strconv.Itoa(s), []string{"X-Answer", strconv.Itoa(s)}})
	}
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		for _, a := range attacks {
			t.Run(a.name, func(t *testing.T) {
				env := newViewEnv(t, k)
				srv := httptest.NewServer(env.c.Cached(time.Minute, CacheStatusHeader("X-Cache"),
					StoreStatuses(append([]int{200}, raviewStatuses...)...))(page))
				defer srv.Close()
				seen.reset()
				for i := range 2 { // the rate limit's first answer is a 200: the second is its 429
					body, _ := fetch(t, srv, http.MethodGet, "/page", "", a.hdr...)
					if i == 1 || a.name != "429" {
						require.NotEqual(t, "the page", body, "the attacker's own answer")
						break
					}
					require.NoError(t, env.c.Clear(t.Context()))
				}
				for i := range 2 {
					body, _ := fetch(t, srv, http.MethodGet, "/page", "")
					assert.Equal(t, "the page", body, "request %d after the attacker's", i)
				}
			})
		}
	})
}

// sync429 is a per-client rate limit of one request (a 429 past it).
type sync429 struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (s *sync429) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = map[string]bool{}
}

// over reports whether client asked before.
func (s *sync429) over(client string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[client] {
		return true
	}
	s.seen[client] = true
	return false
}

// TestRequestStatusSet: requestStatus names raviewStatuses, no other status,
// and each is one a SharedCache view never stores either, so that both
// modes refuse them alike.
func TestRequestStatusSet(t *testing.T) {
	for status := 100; status < 600; status++ {
		assert.Equal(t, slices.Contains(raviewStatuses, status), requestStatus(status), "%d", status)
	}
	for _, status := range raviewStatuses {
		assert.True(t, httpcache.UnsharedStatus(status), "%d stored by SharedCache", status)
	}
}
