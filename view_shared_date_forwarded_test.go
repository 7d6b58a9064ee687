package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// TestSharedCacheDatesWhatItPassesThroughUndated: a SharedCache view is a
// cache in front of its handler, and a cache that forwards a response
// without Date adds one, the time it received it (RFC 9110 section
// 6.6.1). dd1bac7 dated what the view's run records; the response to an
// unsafe method, which it passes on through InvalidateOnWrite's writer,
// went out without Date where the handler set it to nil, as net/http
// sends none then, and now goes out dated by the Cache's clock. A request
// the view forwards with the writer as it is (a HEAD no entry answers; a
// request it bypasses, for its body, BypassIf or its method) keeps the
// handler's suppression, as a default-mode view keeps it everywhere: a
// wrapper to date it hid http.CloseNotifier from a bypassed stream
// (TestSharedCacheBypassedStreamKeepsCloseNotifier).
func TestSharedCacheDatesWhatItPassesThroughUndated(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header()["Date"] = nil
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
		_, _ = w.Write([]byte("hello"))
	})
	bypass := BypassIf(func(_ context.Context, r *http.Request) bool { return r.Header.Get("X-Bypass") != "" })
	for _, tc := range []struct {
		name, method string
		kv           []string
	}{
		{"write", http.MethodPost, nil},
		{"head-miss", http.MethodHead, nil},
		{"bypassed", http.MethodGet, []string{"X-Bypass", "1"}},
		{"hop-by-hop", http.MethodGet, []string{"Connection", "X-Hop"}},
		{"options", http.MethodOptions, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, shared := range []bool{true, false} {
				clock := testutil.NewClock()
				clock.Advance(1500 * time.Millisecond)
				c, _ := storeKinds[0].open(t, nil, clock, Options{})
				defer c.Close()
				opts := []ViewOption{bypass, CacheStatusHeader("X-Cache")}
				if shared {
					opts = append(opts, SharedCache())
				}
				srv := httptest.NewServer(c.Cached(time.Hour, opts...)(page))
				defer srv.Close()
				resp := fetchAt(t, srv.URL, tc.method, tc.kv...)
				require.Less(t, resp.StatusCode, 300)
				require.NotEqual(t, "HIT", resp.Header.Get("X-Cache"))
				if !shared || tc.method != http.MethodPost {
					assert.Empty(t, resp.Header["Date"], "forwarded as it is: the handler's suppression")
					continue
				}
				assert.Equal(t, []string{clock.Now().UTC().Format(http.TimeFormat)}, resp.Header["Date"],
					"%s %s (%s): dated when received", tc.method, resp.Status, resp.Header.Get("X-Cache"))
			}
		})
	}
}

// TestSharedCacheStoresTheOuterDate: an outer middleware that dates every
// response before the handler runs (w.Header().Set("Date", ...)) dates the
// response the view receives from the handler, which leaves it: the miss
// goes out with it, and its age is judged from it. The view left it out of
// the entry, as it leaves out every field an outer middleware set, so each
// hit went out with the Date the outer middleware set on its own request,
// the time of the hit, beside an Age counting from the miss: a downstream
// cache counted the age twice. The entry now stores the Date the response
// had (RFC 9111 section 4: a hit sends the stored fields and the Age since),
// and so does a 304 or a HEAD 200 that freshens it (section 4.3.4): the
// entry takes the Date it had as the handler answered, not the time the
// view received it, which is the Date of a response that has none.
func TestSharedCacheStoresTheOuterDate(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		clock := testutil.NewClock()
		c, _ := k.open(t, nil, clock, Options{})
		defer c.Close()
		srv := outerDatedServer(t, c, clock, http.TimeFormat)
		dated := clock.Now().UTC().Format(http.TimeFormat)
		miss := fetchAt(t, srv.URL, http.MethodGet)
		require.Equal(t, "MISS", miss.Header.Get("X-Cache"))
		require.Equal(t, []string{dated}, miss.Header["Date"], "the miss, as the outer middleware dated it")
		clock.Advance(100 * time.Second)
		hit := fetchAt(t, srv.URL, http.MethodGet)
		require.Equal(t, "HIT", hit.Header.Get("X-Cache"))
		assert.Equal(t, []string{dated}, hit.Header["Date"], "the hit: the stored Date")
		assert.Equal(t, "102", hit.Header.Get("Age"), "the hit: the time since that Date")
		// Stale: a GET's 304, then a HEAD's 200, each dated by the outer
		// middleware, freshen the entry with the Date they had.
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			clock.Advance(time.Hour)
			dated := clock.Now().UTC().Format(http.TimeFormat)
			resp := fetchAt(t, srv.URL, method)
			require.Equal(t, http.StatusOK, resp.StatusCode, method)
			assert.Equal(t, []string{dated}, resp.Header["Date"], "%s %s", method, resp.Header.Get("X-Cache"))
			clock.Advance(10 * time.Second)
			hit := fetchAt(t, srv.URL, http.MethodGet)
			require.Equal(t, "HIT", hit.Header.Get("X-Cache"), method)
			assert.Equal(t, []string{dated}, hit.Header["Date"], "a hit of the entry freshened by a %s", method)
			assert.Equal(t, "12", hit.Header.Get("Age"), "a hit of the entry freshened by a %s", method)
		}
	})
}

// TestSharedCacheDateAndFreshnessFromOneTime: a SharedCache view dates an
// undated response with respTime, the time its header was committed, and
// judges its freshness from the same time (Expires minus that Date, RFC
// 9111 section 4.2.1). The recorder judges a response again when a judged
// field changes past the commit (at Finish, once the body is complete),
// and each judgement read the clock again: the stored Date was the
// commit's, the lifetime counted to Expires from the end of the body,
// seconds later, and the view took the entry for stale while its Date,
// Expires and Age told a downstream cache it was fresh for seconds more.
func TestSharedCacheDateAndFreshnessFromOneTime(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		clock := testutil.NewClock()
		c, _ := k.open(t, nil, clock, Options{})
		defer c.Close()
		received := clock.Now()
		expires := received.Add(time.Hour).UTC().Format(http.TimeFormat)
		page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Expires", expires)
			w.Header()["Date"] = nil
			_, _ = w.Write([]byte(strings.Repeat("x", 100)))
			clock.Advance(5 * time.Second) // a slow body
			_, _ = w.Write([]byte(strings.Repeat("y", 100)))
			// A field decided late, which the recorder judges again.
			w.Header().Set("Cache-Control", "public")
		})
		srv := httptest.NewServer(c.Cached(Forever, SharedCache(), CacheStatusHeader("X-Cache"))(page))
		defer srv.Close()
		miss := fetchAt(t, srv.URL, http.MethodGet)
		require.Equal(t, "MISS", miss.Header.Get("X-Cache"))
		require.Equal(t, []string{received.UTC().Format(http.TimeFormat)}, miss.Header["Date"])
		// 3 seconds before Expires: fresh, by the entry's Date and Age
		// as by the view's own judgement.
		clock.Advance(time.Hour - 5*time.Second - 3*time.Second)
		hit := fetchAt(t, srv.URL, http.MethodGet)
		require.Equal(t, "HIT", hit.Header.Get("X-Cache"), "fresh until Expires")
		require.Equal(t, miss.Header["Date"], hit.Header["Date"], "the stored Date")
		date, err := http.ParseTime(hit.Header.Get("Date"))
		require.NoError(t, err)
		age, err := strconv.Atoi(hit.Header.Get("Age"))
		require.NoError(t, err)
		assert.Equal(t, 3*time.Second, time.Hour-time.Duration(age)*time.Second, "what a downstream cache finds left")
		assert.Equal(t, clock.Now().Sub(date), time.Duration(age)*time.Second, "Age counts from the Date")
	})
}

// TestSharedCacheReplacesAnUnreadableOuterDate: an outer middleware that
// dates responses with a value no recipient can parse (time.RFC1123, which
// ends in "UTC" where an HTTP-date has "GMT") had that Date stored and sent
// with every hit beside an Age counted from the time the view received the
// response. A recipient with a clock may replace an invalid Date with the
// time it received the response (RFC 9110 section 6.6.1): the miss, the
// entry and its hits now carry that time, and so does an entry freshened
// by a 304 whose Date does not parse.
func TestSharedCacheReplacesAnUnreadableOuterDate(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		clock := testutil.NewClock()
		c, _ := k.open(t, nil, clock, Options{})
		defer c.Close()
		srv := outerDatedServer(t, c, clock, time.RFC1123)
		received := clock.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat)
		miss := fetchAt(t, srv.URL, http.MethodGet)
		require.Equal(t, "MISS", miss.Header.Get("X-Cache"))
		require.Equal(t, []string{received}, miss.Header["Date"], "the miss, dated when received")
		clock.Advance(100 * time.Second)
		hit := fetchAt(t, srv.URL, http.MethodGet)
		require.Equal(t, "HIT", hit.Header.Get("X-Cache"))
		assert.Equal(t, []string{received}, hit.Header["Date"], "the hit: the Date the view gave the miss")
		// The age counts the two seconds the handler took too (the
		// response delay, RFC 9111 section 4.2.3).
		assert.Equal(t, "102", hit.Header.Get("Age"), "the hit: the time since that Date, and the delay")
		// Stale: a GET's 304, dated by the outer middleware unreadably,
		// freshens the entry with the time the view received it.
		clock.Advance(time.Hour)
		received = clock.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat)
		resp := fetchAt(t, srv.URL, http.MethodGet)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		clock.Advance(10 * time.Second)
		hit = fetchAt(t, srv.URL, http.MethodGet)
		require.Equal(t, "HIT", hit.Header.Get("X-Cache"))
		assert.Equal(t, []string{received}, hit.Header["Date"], "a hit of the entry freshened by the 304")
		assert.Equal(t, "12", hit.Header.Get("Age"), "a hit of the entry freshened by the 304")
	})
}

// outerDatedServer serves a SharedCache view of a page that takes two
// seconds by clock (a 304 to If-None-Match "v1") behind a middleware that
// sets Date, in layout, before the view runs.
func outerDatedServer(t *testing.T, c *Cache, clock *testutil.Clock, layout string) *httptest.Server {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Etag", `"v1"`)
		clock.Advance(2 * time.Second) // the handler takes two seconds
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(sniffedPage)
	})
	view := c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(page)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", clock.Now().UTC().Format(layout))
		view.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}
