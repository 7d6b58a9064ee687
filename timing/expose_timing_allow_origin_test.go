package timing_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/timing"
)

// A browser hands a response's Server-Timing to a page of another origin
// only when the response's Timing-Allow-Origin names that origin or is *.
// Expose decides on the request (an admin cookie, a loopback peer), and a
// page of any site can make the admin's browser send one: a handler's
// Timing-Allow-Origin: * (often set for all responses, for real-user
// monitoring) let that page read the admin's metrics. An admitted response
// now goes out with neither * nor null (the origin of any site's sandboxed
// frames) in Timing-Allow-Origin, however written; the origins the handler
// names are kept, and a response to another request keeps the field as the
// handler set it.
func TestAdmittedResponseAllowsNoOtherSiteItsTiming(t *testing.T) {
	mw := timing.Must(timing.Options{Expose: admin})
	for _, tc := range []struct {
		name string
		tao  []string // the handler's Timing-Allow-Origin lines
		want []string // what an admitted response carries
	}{
		{"star", []string{"*"}, nil},
		{"null", []string{"null"}, nil},
		{"quoted star", []string{`"*"`}, nil},
		{"star among origins", []string{"https://a.example, *", "null,https://b.example"}, []string{"https://a.example, https://b.example"}},
		{"origins only", []string{"https://a.example"}, []string{"https://a.example"}},
	} {
		for _, h2 := range []bool{false, true} {
			t.Run(tc.name+"/"+protoName(h2), func(t *testing.T) {
				srv, client := startServer(t, mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header()["timing-allow-origin"] = tc.tao
					_, _ = io.WriteString(w, "page")
				})), h2)
				resp := getWith(t, client, srv.URL, true)
				require.NotEmpty(t, resp.Header.Get("Server-Timing"))
				assert.Equal(t, tc.want, resp.Header.Values("Timing-Allow-Origin"), "the admitted response")

				resp = getWith(t, client, srv.URL, false)
				assert.Empty(t, resp.Header.Values("Server-Timing"))
				assert.Equal(t, tc.tao, resp.Header.Values("Timing-Allow-Origin"), "another request's response")
			})
		}
	}
}

// The response cache below the middleware stores the handler's
// Timing-Allow-Origin: the admin's miss fills it for everyone, and the
// field is not narrowed for them.
func TestAdmittedMissKeepsTimingAllowOriginInTheCache(t *testing.T) {
	c := caching.Must(nil)
	defer c.Close()
	srv := httptest.NewServer(timing.Must(timing.Options{Expose: admin})(
		c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=60")
			w.Header().Set("Timing-Allow-Origin", "*")
			_, _ = io.WriteString(w, "page")
		}))))
	defer srv.Close()

	resp := get(t, srv.URL+"/p", true)
	assert.Contains(t, resp.Header.Get("Server-Timing"), "cache;desc=miss")
	assert.Empty(t, resp.Header.Values("Timing-Allow-Origin"))

	resp = get(t, srv.URL+"/p", false)
	assert.Equal(t, []string{"*"}, resp.Header.Values("Timing-Allow-Origin"), "the anonymous hit")
}
