package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestShortKeyCannotSpellALongOne: a key over 200 bytes is kept as its
// head, '#' and the SHA-256 of the whole key, which anyone can compute for
// a known long key; a short key that spelled exactly that got the long
// key's backend key. For each kind of key that is shortened, the input a
// client would craft (the shortened form, or the part of it the kind's key
// is built from) gets another backend key than the long input it imitates.
func TestShortKeyCannotSpellALongOne(t *testing.T) {
	c := Must(&Options{KeyPrefix: "app:"})
	defer c.Close()
	long := "/" + strings.Repeat("a", 300)
	short := shortenKey(long)
	require.NotEqual(t, long, short, "the long input is shortened")
	require.LessOrEqual(t, len(short), maxReadableKey)

	t.Run("path", func(t *testing.T) {
		// A client requests /aaa…%23<hash>: its URL.Path is the shortened form.
		assert.NotEqual(t, c.pathTagKey(long), c.pathTagKey(short))
	})
	t.Run("tag", func(t *testing.T) {
		// ArgTags made of an argument the client chose.
		assert.NotEqual(t, c.tagKey(long), c.tagKey(short))
		assert.NotEqual(t, c.tagKeys([]string{long}), c.tagKeys([]string{short}))
	})
	t.Run("host", func(t *testing.T) {
		const host = "shop.example"
		rest := host + "#" + long
		crafted, ok := strings.CutPrefix(shortenKey(rest), host+"#")
		require.True(t, ok)
		assert.NotEqual(t, c.hostPathTagKey(host, long), c.hostPathTagKey(host, crafted))
	})
	t.Run("view", func(t *testing.T) {
		// The view's key is the path, or what its KeyFunc returns of the
		// query: the client chooses the whole rest of the key.
		for _, opts := range [][]ViewOption{
			nil,
			{IgnoreHost()},
			{IgnoreHost(), KeyFormat("%s")},
			{IgnoreHost(), KeyFunc(func(r *http.Request) string { return r.URL.Query().Get("k") })},
		} {
			longKey := viewKeyOf(t, c, long, opts)
			require.Contains(t, longKey, "#", "the long key is shortened")
			_, shortened, _ := strings.Cut(longKey, kindView)
			for _, crafted := range []string{short, shortened, strings.TrimPrefix(shortened, "#")} {
				assert.NotEqual(t, longKey, viewKeyOf(t, c, crafted, opts), "crafted %q", crafted)
			}
		}
	})
	t.Run("variant", func(t *testing.T) {
		// httpcache.VariantKey escapes '#' (TestShortVariantCannotSpellALongOne);
		// variantNames.key keeps them apart by itself.
		base := "app:v/http://shop.example#view//"
		assert.NotEqual(t, variantNames{}.key(base, long, []string{"Accept"}), variantNames{}.key(base, short, []string{"Accept"}))
		// A variant named by its hash alone (a field that may hold a
		// credential) cannot be spelled by a readable one either.
		hashed := variantNames{}.key(base, long, []string{"Cookie"})
		_, spelled, _ := strings.Cut(hashed, "#vary:")
		assert.NotEqual(t, hashed, variantNames{}.key(base, spelled, []string{"Accept"}))
	})
	t.Run("memo", func(t *testing.T) {
		m := Memoize(c, "f", func(_ context.Context, s string) (string, error) { return s, nil },
			KeyFunc(func(s string) string { return s }))
		longKey, err := m.Key(long)
		require.NoError(t, err)
		_, shortened, _ := strings.Cut(longKey, kindMemo)
		for _, crafted := range []string{short, shortened} {
			k, err := m.Key(crafted)
			require.NoError(t, err)
			assert.NotEqual(t, longKey, k, "crafted %q", crafted)
		}
	})
}

// viewKeyOf is the key of a request whose path, and query parameter k, are
// s, in a view with opts.
func viewKeyOf(t *testing.T, c *Cache, s string, opts []ViewOption) string {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Host = "shop.example"
	r.RequestURI = "" // the path is the one the view sees (requestPath)
	r.URL.Path = s
	r.URL.RawQuery = "k=" + strings.ReplaceAll(strings.ReplaceAll(s, "%", "%25"), "#", "%23")
	k, err := c.ViewKey(r, opts...)
	require.NoError(t, err)
	return k
}

// TestShortenKeyKeepsUnmarkedKeys pins that shortenKey keeps every key of
// at most 200 bytes byte for byte unless it ends in '#' and a hash of
// shortenKey's length after at most 64 bytes: the keys users have stored
// are not renamed.
func TestShortenKeyKeepsUnmarkedKeys(t *testing.T) {
	hash := strings.Repeat("A", hashLen)
	for _, k := range []string{
		"",
		"user:42",
		"/products#" + hash[1:],       // a hash one byte short
		"/products#" + hash + "A",     // one byte long
		"/products#" + hash[1:] + "=", // not base64
		strings.Repeat("p", hashedHead+1) + "#" + hash, // a head too long
		"shop.example#/products",                       // a host's path key
		strings.Repeat("a", maxReadableKey),
	} {
		assert.Equal(t, k, shortenKey(k))
	}
	for _, k := range []string{
		"#" + hash,
		"/products#" + hash,
		strings.Repeat("p", hashedHead) + "#" + hash,
	} {
		s := shortenKey(k)
		assert.NotEqual(t, k, s, "a key of the shortened shape is shortened")
		assert.True(t, looksShortened(s), "%q: the shortened shape", s)
	}
}
