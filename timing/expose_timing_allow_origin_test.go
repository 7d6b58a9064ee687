package timing_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
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

// Browsers do not all read Timing-Allow-Origin as Fetch's "get, decode, and
// split" does. Older Blink and WebKit split the field at every comma,
// quoted or not, and trim all ASCII whitespace (vertical tab and form feed
// too); net/http's HTTP/1 writer turns a CR or LF in a value into a space.
// The middleware read the field as Fetch does only: a * or null that one
// of those readings finds went out on an admitted response (in each case
// below). Now a member that any of them reads as * or null goes; an
// origin outside it is kept.
func TestAdmittedResponseAllowsNoOtherSiteHoweverRead(t *testing.T) {
	for _, tc := range []struct {
		name string
		tao  string
		keep string // an origin the admitted response still names, if any
	}{
		{"LF before star", "https://a.example,\n*", "https://a.example"},
		{"CR LF before null", "https://a.example,\r\nnull", "https://a.example"},
		{"vertical tab", "\v*", ""},
		{"form feed", "https://a.example, *\f", "https://a.example"},
		{"star in a quoted list", `"https://a.example,*,https://b.example", https://c.example`, "https://c.example"},
		{"null in a quoted list", `"x,null,y"`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, timing.Options{Expose: func(*http.Request) bool { return true }},
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Timing-Allow-Origin", tc.tao)
				}))
			got := rec.Result().Header.Values("Timing-Allow-Origin")
			require.NotEmpty(t, rec.Result().Header.Get("Server-Timing"))
			members := taoReadings(got)
			assert.NotContains(t, members, "*", "%q", got)
			assert.NotContains(t, members, "null", "%q", got)
			if tc.keep != "" {
				assert.Contains(t, members, tc.keep, "%q", got)
			}
		})
	}
}

// taoReadings returns the members of the Timing-Allow-Origin lines vs as
// browsers may read them once net/http's HTTP/1 writer has sent them (CR
// and LF as spaces): split at commas outside quoted-strings and trimmed of
// spaces and tabs (Fetch, Blink today), and split at every comma and
// trimmed of all ASCII whitespace (older Blink, WebKit).
func taoReadings(vs []string) []string {
	v := strings.NewReplacer("\r", " ", "\n", " ").Replace(strings.Join(vs, ", "))
	var members []string
	for _, m := range strings.Split(v, ",") {
		members = append(members, strings.Trim(m, " \t\n\v\f\r"))
	}
	quoted := false
	start := 0
	for i := 0; i <= len(v); i++ {
		switch {
		case i == len(v) || v[i] == ',' && !quoted:
			members = append(members, strings.Trim(v[start:i], " \t"))
			start = i + 1
		case v[i] == '"':
			quoted = !quoted
		case v[i] == '\\' && quoted:
			i++
		}
	}
	return members
}

// The handler's header map gets its Timing-Allow-Origin back once the
// status went down, as the fields keepFromSharedCaches changes do: a
// response cache below that reads the header after WriteHeader stores what
// the handler sent, for every client.
func TestAdmittedResponseGivesTheHandlerItsTimingAllowOriginBack(t *testing.T) {
	var after []string
	rec := serve(t, timing.Options{Expose: func(*http.Request) bool { return true }},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Timing-Allow-Origin", "*")
			w.WriteHeader(http.StatusOK)
			after = w.Header().Values("Timing-Allow-Origin")
		}))
	assert.Empty(t, rec.Result().Header.Values("Timing-Allow-Origin"), "the admitted response")
	assert.Equal(t, []string{"*"}, after, "the handler's map after WriteHeader")
}
