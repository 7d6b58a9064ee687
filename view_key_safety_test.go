package caching

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/httpcache"
)

// Regression tests of a review of the view key (each found a way for one
// request to be served a response made for another): real servers, the
// attacker's request first, then the victim's.

// fetch sends one request to srv with host (when not "") and the header
// fields hdr (name, value, ...), and returns the body and X-Cache.
func fetch(t *testing.T, srv *httptest.Server, method, target, host string, hdr ...string) (body, status string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+target, nil)
	require.NoError(t, err)
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	return fetchRequest(t, srv, req)
}

// fetchRequest sends req to srv, and returns the body and X-Cache.
func fetchRequest(t *testing.T, srv *httptest.Server, req *http.Request) (body, status string) {
	t.Helper()
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b), res.Header.Get("X-Cache")
}

// TestKeyFuncCannotSpellAnotherUser: a KeyFunc returned a query parameter
// as it was, so "?doc=1%23u%3Dalice" from an anonymous client built
// alice's key ("doc/1#u=alice") and was served her private response.
func TestKeyFuncCannotSpellAnotherUser(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	user := func(r *http.Request) string { return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ") }
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := cmp(user(r), "anonymous")
		fmt.Fprintf(w, "doc %q, notes of %s", r.URL.Query().Get("doc"), u)
	})
	srv := httptest.NewServer(c.Cached(time.Minute,
		KeyFunc(func(r *http.Request) string { return "doc/" + r.URL.Query().Get("doc") }),
		UserKey(user), CacheStatusHeader("X-Cache"))(h))
	defer srv.Close()

	alice, _ := fetch(t, srv, http.MethodGet, "/?doc=1", "", "Authorization", "Bearer alice")
	require.Contains(t, alice, "notes of alice")
	got, st := fetch(t, srv, http.MethodGet, "/?doc=1%23u%3Dalice", "")
	assert.Contains(t, got, "notes of anonymous", "an anonymous client got alice's response (%s)", st)
}

// TestKeyFuncCannotSpellAnotherViewsKey: a KeyFunc's result stood where a
// format view's "view/<path>?<query>" stands, unmarked, so a KeyFunc built
// from a query parameter returned "view//account" for GET
// /item?id=view//account and stored the item view's response under the key
// of GET /account: the account page's clients got it.
func TestKeyFuncCannotSpellAnotherViewsKey(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	mux := http.NewServeMux()
	mux.Handle("GET /account", c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "account page") })))
	byID := KeyFunc(func(r *http.Request) string { return r.URL.Query().Get("id") })
	mux.Handle("GET /item", c.Cached(time.Minute, CacheStatusHeader("X-Cache"), byID)(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "item "+r.URL.Query().Get("id")+" not in stock")
		})))
	get := func(target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://shop.example"+target, nil))
		return w
	}
	get("/item?id=view//account")
	w := get("/account")
	assert.Equal(t, "account page", w.Body.String(), "X-Cache %q: the item view's response, keyed by a KeyFunc", w.Header().Get("X-Cache"))

	// Keys of views without KeyFunc, with IgnoreHost too: no KeyFunc
	// result spells one.
	for _, opts := range [][]ViewOption{nil, {IgnoreHost()}} {
		for _, target := range []string{"/account", "/account?a=1", "/"} {
			r := httptest.NewRequest(http.MethodGet, "http://shop.example"+target, nil)
			plain, err := c.ViewKey(r, opts...)
			require.NoError(t, err)
			// What a KeyFunc would have to return: the key less "v/" and
			// the host, which the KeyFunc view's key has too.
			spelled := strings.TrimPrefix(plain, "v/")
			if len(opts) == 0 {
				_, spelled, _ = strings.Cut(spelled, "#")
			}
			kr := httptest.NewRequest(http.MethodGet, "http://shop.example/item?id="+url.QueryEscape(spelled), nil)
			keyed, err := c.ViewKey(kr, append([]ViewOption{byID}, opts...)...)
			require.NoError(t, err)
			assert.NotEqual(t, plain, keyed, "KeyFunc returning %q", spelled)
		}
	}
}

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TestHostSpellingsKeptApart: the key lower-cased the Host, but
// http.ServeMux matches hosts case-sensitively: "SHOP.EXAMPLE" fell
// through to the default route, whose page was then stored under
// shop.example's key and served to its visitors.
func TestHostSpellingsKeptApart(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("shop.example/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "the shop") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "default site for %s", r.Host) })
	for name, h := range map[string]http.Handler{
		"Cached":    c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(mux),
		"CachedMux": c.CachedMux(mux, time.Minute, CacheStatusHeader("X-Cache")),
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			path := "/" + name
			atk, _ := fetch(t, srv, http.MethodGet, path, "SHOP.EXAMPLE")
			assert.Equal(t, "default site for SHOP.EXAMPLE", atk)
			got, st := fetch(t, srv, http.MethodGet, path, "shop.example")
			assert.Equal(t, "the shop", got, "shop.example's visitor (%s)", st)
			atk, _ = fetch(t, srv, http.MethodGet, path, "shop.example:80")
			assert.Equal(t, "the shop", atk, "the mux ignores the port")
		})
	}
}

// TestHeadRefreshStoresNothing: a HEAD that RefreshIf matched ran the
// handler as a refresh and stored its bodiless response, which every
// later GET got as a hit.
func TestHeadRefreshStoresNothing(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if r.Method == http.MethodHead {
			return // the header only
		}
		fmt.Fprint(w, "the full body")
	})
	srv := httptest.NewServer(c.Cached(time.Minute, CacheStatusHeader("X-Cache"),
		RefreshIf(func(_ context.Context, r *http.Request) bool { return r.Header.Get("X-Refresh") == "1" }))(h))
	defer srv.Close()
	got, _ := fetch(t, srv, http.MethodGet, "/page", "")
	require.Equal(t, "the full body", got)
	_, st := fetch(t, srv, http.MethodHead, "/page", "", "X-Refresh", "1")
	assert.Equal(t, "MISS", st, "the handler answers a refreshing HEAD")
	got, st = fetch(t, srv, http.MethodGet, "/page", "")
	assert.Equal(t, "the full body", got, "a GET after a refreshing HEAD (%s)", st)
	assert.Equal(t, "HIT", st, "the GET entry is left as it was")
}

// TestShortVariantCannotSpellALongOne: a variant longer than 200 bytes is
// kept as its head, '#' and a hash; a client's header value holding a
// '#' spelled exactly that, and its response was stored under the long
// variant, then served to every client sending the long value.
func TestShortVariantCannotSpellALongOne(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "User-Agent")
		fmt.Fprintf(w, "page for %q", r.Header.Get("User-Agent"))
	})
	srv := httptest.NewServer(c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(h))
	defer srv.Close()

	// A public in-app browser User-Agent of over 200 bytes.
	victim := "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) " +
		"Mobile/15E148 [FBAN/FBIOS;FBAV/456.0.0.38.108;FBBV/581245432;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.4;FBSS/3;FBCR/;FBID/phone;FBLC/en_US;FBOP/80]"
	vr := httptest.NewRequest(http.MethodGet, "/", nil)
	vr.Header.Set("User-Agent", victim)
	long := httpcache.VariantKey(vr, []string{"User-Agent"})
	short := shortenKey(long)
	require.NotEqual(t, long, short, "the victim's variant is shortened")
	attacker := strings.TrimPrefix(short, "User-Agent=")

	fetch(t, srv, http.MethodGet, "/", "", "User-Agent", "baseline") // the Vary record
	fetch(t, srv, http.MethodGet, "/", "", "User-Agent", attacker)
	got, st := fetch(t, srv, http.MethodGet, "/", "", "User-Agent", victim)
	assert.Contains(t, got, "FBAN", "the victim got the attacker's variant (%s)", st)
}

// TestOuterVaryKeysVariants: an i18n middleware outside the cache set
// Vary: Accept-Language and handed its choice on in the context; the
// view left the outer Vary out of the entry and of the key, so a French
// client got the English page.
func TestOuterVaryKeysVariants(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	srv := httptest.NewServer(i18n(c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(greeting(""))))
	defer srv.Close()
	got, _ := fetch(t, srv, http.MethodGet, "/", "", "Accept-Language", "en-US")
	require.Equal(t, "Hello", got)
	got, st := fetch(t, srv, http.MethodGet, "/", "", "Accept-Language", "fr-FR")
	assert.Equal(t, "Bonjour", got, "the French client (%s)", st)
	got, st = fetch(t, srv, http.MethodGet, "/", "", "Accept-Language", "en-US")
	assert.Equal(t, "Hello", got)
	assert.Equal(t, "HIT", st, "each language is cached")
}

// TestHeadRefreshStoresNothingShared is TestHeadRefreshStoresNothing in a
// SharedCache view, which takes a path of its own.
func TestHeadRefreshStoresNothingShared(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Cache-Control", "max-age=60")
		if r.Method == http.MethodHead {
			return // the header only
		}
		fmt.Fprint(w, "the full body")
	})
	srv := httptest.NewServer(c.Cached(time.Minute, SharedCache(), CacheStatusHeader("X-Cache"),
		RefreshIf(func(_ context.Context, r *http.Request) bool { return r.Header.Get("X-Refresh") == "1" }))(h))
	defer srv.Close()
	got, _ := fetch(t, srv, http.MethodGet, "/page", "")
	require.Equal(t, "the full body", got)
	fetch(t, srv, http.MethodHead, "/page", "", "X-Refresh", "1")
	got, st := fetch(t, srv, http.MethodGet, "/page", "")
	assert.Equal(t, "the full body", got, "a GET after a refreshing HEAD (%s)", st)
	assert.Equal(t, "HIT", st)
}

// TestRefreshKeepsKeyFuncHeaders: a background refresh (stale-while-
// revalidate, RefreshAhead) kept only the headers Vary names, so in a view
// keyed by its KeyFunc on a header (a tenant) the refresh rendered the
// default page and stored it under the tenant's key.
func TestRefreshKeepsKeyFuncHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		ch := c.Cached(10*time.Second, StaleWhileRevalidate(time.Minute),
			KeyFunc(func(r *http.Request) string { return r.URL.Path + "|" + r.Header.Get("X-Tenant") }),
		)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "dashboard of %s", cmp(r.Header.Get("X-Tenant"), "default"))
		}))
		assert.Equal(t, "dashboard of acme", get(ch, "/dash", "X-Tenant", "acme").Body.String())
		time.Sleep(15 * time.Second)
		assert.Equal(t, "dashboard of acme", get(ch, "/dash", "X-Tenant", "acme").Body.String(), "stale, refreshed")
		synctest.Wait()
		assert.Equal(t, "dashboard of acme", get(ch, "/dash", "X-Tenant", "acme").Body.String(), "after the refresh")
	})
}
