package caching

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// TestPeek: a view's stored response is read without running anything:
// status, header, body, Age and freshness, the variant of the request's
// headers, on every store.
func TestPeek(t *testing.T) {
	clock := testutil.NewClock()
	everyBackend(t, Options{Clock: clock.Now}, func(t *testing.T, c *Cache) {
		opts := []ViewOption{StaleWhileRevalidate(time.Hour), Tags("products")}
		h := &counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Accept-Language")
			w.Header().Set("Content-Language", r.Header.Get("Accept-Language"))
		}}
		ch := c.Cached(time.Minute, opts...)(h)
		req := func(lang string) *http.Request {
			r := httptest.NewRequest(http.MethodGet, "http://shop.example/products?b=2&a=1", nil)
			r.Header.Set("Accept-Language", lang)
			return r
		}

		_, _, err := c.Peek(req("fr"), opts...)
		assert.ErrorIs(t, err, ErrNotFound, "nothing stored yet")
		get(ch, "http://shop.example/products?a=1&b=2", "Accept-Language", "fr")
		get(ch, "http://shop.example/products?a=1&b=2", "Accept-Language", "de")
		clock.Advance(5 * time.Second)

		resp, fresh, err := c.Peek(req("fr"), opts...)
		require.NoError(t, err)
		assert.True(t, fresh)
		assert.Equal(t, http.StatusOK, resp.Status)
		assert.Equal(t, "page #1", string(resp.Body))
		assert.Equal(t, "fr", resp.Header.Get("Content-Language"), "the request's variant")
		assert.NotEmpty(t, resp.Header.Get("ETag"), "the header a hit sends")
		assert.Equal(t, 5*time.Second, resp.Age)
		resp, _, err = c.Peek(req("de"), opts...)
		require.NoError(t, err)
		assert.Equal(t, "page #2", string(resp.Body))
		_, _, err = c.Peek(req("en"), opts...)
		assert.ErrorIs(t, err, ErrNotFound, "a variant never stored")

		clock.Advance(time.Minute)
		resp, fresh, err = c.Peek(req("fr"), opts...)
		require.NoError(t, err)
		assert.False(t, fresh, "past its TTL, kept for stale-while-revalidate")
		assert.Equal(t, "page #1", string(resp.Body))

		_, _, err = c.Peek(req("fr"), Tags("products"))
		assert.NoError(t, err, "the stale window does not change the key")
		_, _, err = c.Peek(req("fr"), Version("2"))
		assert.ErrorIs(t, err, ErrNotFound, "other options, another key")
		require.NoError(t, c.InvalidateTags(t.Context(), "products"))
		_, _, err = c.Peek(req("fr"), opts...)
		assert.ErrorIs(t, err, ErrNotFound, "invalidated")

		assert.EqualValues(t, 2, h.calls.Load(), "Peek runs nothing")
		st := c.Stats()
		assert.Zero(t, st.Hits+st.StaleHits, "Peek is not counted")
	})
}

// TestPeekAuthorization: a request with Authorization is never stored
// without UserKey, so Peek finds nothing for it; with UserKey it finds the
// user's own response.
func TestPeekAuthorization(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	user := UserKey(func(r *http.Request) string { return r.Header.Get("Authorization") })
	ch := c.Cached(time.Minute, user)(&counter{body: "me"})
	get(ch, "/me", "Authorization", "alice")
	get(ch, "/me")
	r := httptest.NewRequest(http.MethodGet, "/me", nil)
	r.Header.Set("Authorization", "alice")
	_, _, err := c.Peek(r)
	assert.ErrorIs(t, err, ErrNotFound, "without UserKey")
	resp, _, err := c.Peek(r, user)
	require.NoError(t, err)
	assert.Equal(t, "me #1", string(resp.Body))
	r.Header.Set("Authorization", "bob")
	_, _, err = c.Peek(r, user)
	assert.ErrorIs(t, err, ErrNotFound, "bob has nothing stored")
	_, _, err = c.Peek(r, PathOnly(), QueryString(QueryKeyOptions{}))
	assert.ErrorIs(t, err, ErrInvalidOption)
}
