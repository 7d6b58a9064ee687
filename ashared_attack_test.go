package caching

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// attackStep is one request of a TestSharedCacheAttackSurface case, sent
// after the clock moved by advance.
type attackStep struct {
	method  string
	path    string
	kv      []string // request fields, name then value
	advance time.Duration
}

// TestSharedCacheAttackSurface pins what a SharedCache view does with
// responses and requests an attacker (or a careless origin) may shape: RFC
// 9111 sections 3, 4 and 5 read as a shared cache must read them, counted
// by the handler runs the steps cost (a response that is stored answers
// the later steps; one that is not, or is stale on arrival, runs again).
// Each case passed before this test was written: it records an audit.
func TestSharedCacheAttackSurface(t *testing.T) {
	t0 := testutil.NewClock().Now()
	lm := t0.Add(-100 * time.Hour).Format(http.TimeFormat)
	fixed := func(status int, kv ...string) func(http.ResponseWriter, *http.Request) int {
		return func(w http.ResponseWriter, _ *http.Request) int {
			for i := 0; i+1 < len(kv); i += 2 {
				w.Header().Add(kv[i], kv[i+1])
			}
			return status
		}
	}
	twice := []attackStep{{"GET", "/p", nil, 0}, {"GET", "/p", nil, 0}}
	cases := []struct {
		name  string
		serve func(http.ResponseWriter, *http.Request) int
		opts  []ViewOption
		steps []attackStep
		runs  int32
	}{
		// Freshness (section 4.2.1) and its parsing (section 1.2.2, 4.2.1).
		{"Age past max-age: stale on arrival", fixed(200, "Cache-Control", "max-age=60", "Age", "120"), nil, twice, 2},
		{"invalid Expires: already expired", fixed(200, "Expires", "0"), nil, twice, 2},
		{"Expires lines that disagree", fixed(200, "Expires", t0.Add(time.Hour).Format(http.TimeFormat), "Expires", t0.Add(2*time.Hour).Format(http.TimeFormat)), nil, twice, 2},
		{"max-age repeated: the smaller", fixed(200, "Cache-Control", "max-age=60", "Cache-Control", "max-age=0"), nil, twice, 2},
		{"negative max-age", fixed(200, "Cache-Control", "max-age=-1"), nil, twice, 2},
		{"non-integer max-age", fixed(200, "Cache-Control", "max-age=1.5e9"), nil, twice, 2},
		{"s-maxage over max-age", fixed(200, "Cache-Control", "max-age=60, s-maxage=0"), nil, twice, 2},
		{"upper-case directive", fixed(200, "Cache-Control", "MAX-AGE=60"), nil, twice, 1},
		{"quoted s-maxage", fixed(200, "Cache-Control", `s-maxage="60"`), nil, twice, 1},
		{"empty directive name hides private", fixed(200, "Cache-Control", "=private, max-age=60"), nil, twice, 2},
		{"overflowing values", fixed(200, "Cache-Control", "max-age=99999999999999999999999, stale-while-revalidate=99999999999999999999, stale-if-error=999999999999999999999", "Etag", `"a"`),
			[]ViewOption{StaleWhileRevalidate(time.Hour), StaleIfError(time.Hour)}, []attackStep{{"GET", "/p", nil, 0}, {"GET", "/p", nil, 10 * time.Second}}, 1},
		{"Expires in year 9999", fixed(200, "Expires", "Fri, 31 Dec 9999 23:59:59 GMT"), nil, []attackStep{{"GET", "/p", nil, 0}, {"GET", "/p", nil, 10 * time.Second}}, 1},
		// Clock skew (section 4.2.3): Expires counts from the origin's Date.
		{"Date an hour behind", fixed(200, "Cache-Control", "max-age=60", "Date", t0.Add(-time.Hour).Format(http.TimeFormat)), nil, twice, 2},
		{"Date an hour ahead", fixed(200, "Cache-Control", "max-age=60", "Date", t0.Add(time.Hour).Format(http.TimeFormat)), nil, twice, 1},
		{"Expires from a Date ahead, within", fixed(200, "Expires", t0.Add(time.Hour+30*time.Second).Format(http.TimeFormat), "Date", t0.Add(time.Hour).Format(http.TimeFormat)),
			nil, []attackStep{{"GET", "/p", nil, 0}, {"GET", "/p", nil, 20 * time.Second}}, 1},
		{"Expires from a Date ahead, past", fixed(200, "Expires", t0.Add(time.Hour+30*time.Second).Format(http.TimeFormat), "Date", t0.Add(time.Hour).Format(http.TimeFormat)),
			nil, []attackStep{{"GET", "/p", nil, 0}, {"GET", "/p", nil, 40 * time.Second}}, 2},
		// Heuristic freshness (section 4.2.2): statuses cacheable by default only.
		{"Last-Modified on a 200, Pragma ignored", fixed(200, "Pragma", "no-cache", "Last-Modified", lm), nil, twice, 1},
		{"Last-Modified on a 299", fixed(299, "Last-Modified", lm), nil, twice, 2},
		{"Last-Modified on a 302", fixed(302, "Last-Modified", lm), nil, twice, 2},
		{"Last-Modified on a 307", fixed(307, "Last-Modified", lm), nil, twice, 2},
		{"public on a 302", fixed(302, "Cache-Control", "public", "Last-Modified", lm), nil, twice, 1},
		// Storage refusals (section 3, 5.2.2).
		{"Vary with *", fixed(200, "Cache-Control", "max-age=60", "Vary", "Accept, *"), nil, twice, 2},
		{"no-cache with field names", fixed(200, "Cache-Control", `no-cache="Set-Cookie", max-age=60`), nil, twice, 2},
		{"private with field names", fixed(200, "Cache-Control", `private="X", max-age=60`), nil, twice, 2},
		{"public Set-Cookie", fixed(200, "Cache-Control", "public, max-age=60", "Set-Cookie", "a=b"), nil, twice, 2},
		{"must-understand lifts no-store on a 200", fixed(200, "Cache-Control", "must-understand, no-store, max-age=60"), nil, twice, 1},
		{"must-understand lifts no-store on a 302", fixed(302, "Cache-Control", "must-understand, no-store, max-age=60"), nil, twice, 1},
		{"must-understand on an unknown status", fixed(299, "Cache-Control", "must-understand, no-store, max-age=60"), nil, twice, 2},
		// Authorization (section 3.5).
		{"Authorization's answer not shared", fixed(200, "Cache-Control", "max-age=60"), nil,
			[]attackStep{{"GET", "/p", []string{"Authorization", "x"}, 0}, {"GET", "/p", nil, 0}}, 2},
		{"anonymous entry without public not served to Authorization", fixed(200, "Cache-Control", "max-age=60"), nil,
			[]attackStep{{"GET", "/p", nil, 0}, {"GET", "/p", []string{"Authorization", "x"}, 0}}, 2},
		{"HEAD with Authorization freshens nothing", func(w http.ResponseWriter, r *http.Request) int {
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("Etag", `"a"`)
			if r.Header.Get("Authorization") != "" {
				w.Header().Set("Cache-Control", "max-age=100000")
			}
			return 200
		}, nil, []attackStep{{"GET", "/p", nil, 0}, {"HEAD", "/p", []string{"Authorization", "x"}, 20 * time.Second}, {"GET", "/p", nil, 0}}, 3},
		// A Range request's full 200 is stored; a later request hits it.
		{"Range on a miss", fixed(200, "Cache-Control", "max-age=60"), nil,
			[]attackStep{{"GET", "/p", []string{"Range", "bytes=0-1"}, 0}, {"GET", "/p", nil, 0}}, 1},
		{"HEAD stores nothing for GET", fixed(200, "Cache-Control", "max-age=60"), nil,
			[]attackStep{{"HEAD", "/p", nil, 0}, {"GET", "/p", nil, 0}, {"GET", "/p", nil, 0}}, 2},
		// Stale serving (section 4.2.4): must-revalidate beats stale-while-revalidate.
		{"must-revalidate with stale-while-revalidate", fixed(200, "Cache-Control", "max-age=10, stale-while-revalidate=600, must-revalidate"),
			[]ViewOption{StaleWhileRevalidate(time.Hour)}, []attackStep{{"GET", "/p", nil, 0}, {"GET", "/p", nil, 20 * time.Second}}, 2},
		// A 304 saying no-store drops the entry (section 4.3.4).
		{"304 with no-store", func(w http.ResponseWriter, r *http.Request) int {
			w.Header().Set("Etag", `"a"`)
			if r.Header.Get("If-None-Match") == `"a"` {
				w.Header().Set("Cache-Control", "no-store")
				return http.StatusNotModified
			}
			w.Header().Set("Cache-Control", "max-age=10")
			return 200
		}, nil, []attackStep{{"GET", "/p", nil, 0}, {"GET", "/p", nil, 20 * time.Second}, {"GET", "/p", nil, 0}}, 3},
		// Invalidation (section 4.4).
		{"Location of another host invalidates nothing", func(w http.ResponseWriter, r *http.Request) int {
			w.Header().Set("Cache-Control", "max-age=600")
			if r.Method == http.MethodPost {
				w.Header().Set("Location", "http://evil.example/p")
			}
			return 200
		}, nil, []attackStep{{"GET", "/p", nil, 0}, {"POST", "/q", nil, 0}, {"GET", "/p", nil, 0}}, 2},
		{"a method of unknown safety invalidates", fixed(200, "Cache-Control", "max-age=600"), nil,
			[]attackStep{{"GET", "/p", nil, 0}, {"get", "/p", nil, 0}, {"GET", "/p", nil, 0}}, 3},
		// Request directives (section 5.2.1): one client's choice is its own.
		{"max-stale serves that client only", fixed(200, "Cache-Control", "max-age=10", "Etag", `"a"`), []ViewOption{HonorRequestCacheControl()},
			[]attackStep{{"GET", "/p", nil, 0}, {"GET", "/p", []string{"Cache-Control", "max-stale"}, 20 * time.Second}, {"GET", "/p", nil, 0}}, 2},
		{"only-if-cached on a miss", fixed(200, "Cache-Control", "max-age=10"), []ViewOption{HonorRequestCacheControl()},
			[]attackStep{{"GET", "/p", []string{"Cache-Control", "only-if-cached"}, 0}, {"GET", "/p", nil, 0}, {"GET", "/p", nil, 0}}, 1},
		{"overflowing min-fresh", fixed(200, "Cache-Control", "max-age=100"), []ViewOption{HonorRequestCacheControl()},
			[]attackStep{{"GET", "/p", nil, 0}, {"GET", "/p", []string{"Cache-Control", "min-fresh=99999999999999999999"}, 0}, {"GET", "/p", nil, 0}}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var runs atomic.Int32
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				runs.Add(1)
				w.WriteHeader(tc.serve(w, r))
				_, _ = w.Write([]byte("hello"))
			})
			clock := testutil.NewClock()
			c, _ := storeKinds[0].open(t, nil, clock, Options{})
			defer c.Close()
			opts := append([]ViewOption{SharedCache()}, tc.opts...)
			srv := httptest.NewServer(c.Cached(time.Hour, opts...)(h))
			defer srv.Close()
			for _, s := range tc.steps {
				clock.Advance(s.advance)
				req, err := http.NewRequestWithContext(t.Context(), s.method, srv.URL+s.path, nil)
				require.NoError(t, err)
				for i := 0; i+1 < len(s.kv); i += 2 {
					req.Header.Set(s.kv[i], s.kv[i+1])
				}
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				resp.Body.Close()
			}
			assert.Equal(t, tc.runs, runs.Load(), "handler runs")
		})
	}
}

// TestSharedCacheAttackOriginAge: a hit of a response that arrived with
// Age sends one Age, counted from the origin's (section 4.2.3, 5.1).
func TestSharedCacheAttackOriginAge(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Age", "100")
		_, _ = w.Write([]byte("hello"))
	})
	clock := testutil.NewClock()
	c, _ := storeKinds[0].open(t, nil, clock, Options{})
	defer c.Close()
	srv := httptest.NewServer(c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(h))
	defer srv.Close()
	fetchAt(t, srv.URL, http.MethodGet)
	clock.Advance(10 * time.Second)
	hit := fetchAt(t, srv.URL, http.MethodGet)
	require.Equal(t, "HIT", hit.Header.Get("X-Cache"))
	assert.Equal(t, []string{"110"}, hit.Header["Age"])
}
