package caching

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echoSource is a page that echoes utm_source (a landing page keeping it in
// a sign-up form's hidden field), read three ways a handler may read it.
func echoSource(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "max-age=600")
	w.Header().Set("X-Seen", r.URL.RawQuery+" "+r.RequestURI)
	fmt.Fprintf(w, `<input type=hidden name=src value="%s"> uri=%s form=%s `,
		html.EscapeString(r.URL.Query().Get("utm_source")), html.EscapeString(r.RequestURI), html.EscapeString(r.FormValue("utm_source")))
}

// TestViewIgnoredQueryReachesHandler: QueryString(QueryKeyOptions{Ignore:
// ...}) (the README recommends Ignore: utm_*) left the ignored parameters
// out of the key but handed them to the handler as the client sent them.
// A page that echoes one was stored with one client's value and served to
// every client of the URL: one request poisoned the page for everyone (the
// unkeyed-input poisoning Varnish and CDN recipes avoid by removing utm_*
// from the URL sent on). The same held of a parameter Allow leaves out, of
// a form an outer middleware parsed, of a background refresh and of a
// SharedCache view's HEAD, whose fields freshen the stored GET.
func TestViewIgnoredQueryReachesHandler(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		for _, tc := range []struct {
			name string
			opts []ViewOption
		}{
			{"Ignore", []ViewOption{QueryString(QueryKeyOptions{Ignore: []string{"utm_*"}})}},
			{"Allow", []ViewOption{QueryString(QueryKeyOptions{Allow: []string{"page"}})}},
			{"Ignore shared", []ViewOption{SharedCache(), QueryString(QueryKeyOptions{Ignore: []string{"utm_*"}})}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := newViewEnv(t, k)
				h := &counter{body: "page", fn: echoSource}
				ch := e.c.Cached(time.Hour, append(tc.opts, CacheStatusHeader("X-Cache"))...)(h)
				// An outer middleware that parsed the form before the view.
				parsed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_ = r.ParseForm()
					ch.ServeHTTP(w, r)
				})

				r := httptest.NewRequest(http.MethodGet, "/landing?page=2&utm_source=attacker-campaign", nil)
				w := httptest.NewRecorder()
				parsed.ServeHTTP(w, r) // the attacker
				assert.Equal(t, "page=2&utm_source=attacker-campaign", r.URL.RawQuery, "the caller's request is left as it is")
				assert.Equal(t, "/landing?page=2&utm_source=attacker-campaign", r.RequestURI)
				assert.Equal(t, "attacker-campaign", r.Form.Get("utm_source"))

				w = get(ch, "/landing?page=2") // every other client
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the same key")
				assert.NotContains(t, w.Body.String(), "attacker", "the body")
				assert.Equal(t, "page=2 /landing?page=2", w.Header().Get("X-Seen"))
			})
		}
	})
}

// TestViewIgnoredQueryRefreshAndHead: a background refresh started by a
// request with an ignored parameter, and a SharedCache HEAD that freshens
// the stored GET with its fields, do not store what the parameter made.
func TestViewIgnoredQueryRefreshAndHead(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		t.Run("refresh", func(t *testing.T) {
			e := newViewEnv(t, k)
			h := &counter{body: "page", fn: echoSource}
			ignore := QueryString(QueryKeyOptions{Ignore: []string{"utm_*"}})
			ch := e.c.Cached(time.Minute, ignore, StaleWhileRevalidate(time.Hour), CacheStatusHeader("X-Cache"))(h)
			get(ch, "/landing")
			e.clock.Advance(2 * time.Minute)
			assert.Equal(t, "STALE", get(ch, "/landing?utm_source=attacker").Header().Get("X-Cache"))
			e.c.wait()
			w := get(ch, "/landing")
			assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
			assert.Contains(t, w.Body.String(), "#2", "refreshed")
			assert.NotContains(t, w.Body.String(), "attacker")
		})
		t.Run("shared HEAD", func(t *testing.T) {
			e := newViewEnv(t, k)
			h := &counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("ETag", `"v1"`)
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("Link", "<"+r.RequestURI+">; rel=canonical")
			}}
			ch := e.sharedView(h, QueryString(QueryKeyOptions{Ignore: []string{"utm_*"}}))
			get(ch, "/landing")
			e.clock.Advance(2 * time.Minute)
			send(ch, http.MethodHead, "/landing?utm_source=attacker") // freshens the GET
			w := get(ch, "/landing")
			require.Equal(t, "HIT", w.Header().Get("X-Cache"), "freshened by the HEAD")
			assert.Equal(t, "</landing>; rel=canonical", w.Header().Get("Link"))
		})
	})
}

// TestKeyedQuery: what the handler of a view with QueryKeyOptions sees of
// the query string: the parameters the key keeps, as the client wrote them.
func TestKeyedQuery(t *testing.T) {
	ignore := QueryKeyOptions{Ignore: []string{"utm_*", "fbclid"}}
	allow := QueryKeyOptions{Allow: []string{"page", "sort_*"}}
	for _, tc := range []struct {
		raw  string
		opts QueryKeyOptions
		want string
	}{
		{"", ignore, ""},
		{"a=1", QueryKeyOptions{}, "a=1"},
		{"utm_source=x", ignore, ""},
		{"b=2&utm_source=x&a=1", ignore, "b=2&a=1"},
		{"utm_source=x&a=%20&fbclid", ignore, "a=%20"},
		{"utm%5Fsource=x&a=1", ignore, "a=1"},   // the name as net/url reads it
		{"a=1&&utm_medium=y&", ignore, "a=1&&"}, // the empty parts, which no one reads, stay
		{"a=1;utm_source=x", ignore, "a=1;utm_source=x"},
		{"utm_source=%zz&a=1", ignore, "utm_source=%zz&a=1"}, // kept whole in the key too
		{"page=2&sort_by=name&q=x", allow, "page=2&sort_by=name"},
		{"q=x", allow, ""},
	} {
		assert.Equal(t, tc.want, keyedQuery(tc.raw, tc.opts), "%q", tc.raw)
		assert.Equal(t, CanonicalQuery(tc.raw, tc.opts), CanonicalQuery(keyedQuery(tc.raw, tc.opts), tc.opts),
			"%q: the key is unchanged", tc.raw)
	}
}
