package caching

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/httpcache"
	"github.com/go-caching/caching/internal/testutil"
)

// cookieVariant is the variant key of a request with Cookie cookie, for a
// response with Vary: Cookie.
func cookieVariant(cookie string) string {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Cookie", cookie)
	return httpcache.VariantKey(r, []string{"Cookie"})
}

// unkeyedTraces reports what of the unkeyed names of variant a key or a
// value of the backend holds: the base64 of its SHA-256, which names its key
// without a secret, or the first 128 bits of it, which name it in its Vary
// record. Whoever may read them can test guesses of the Cookie offline.
func unkeyedTraces(keys, values []string, variant string) []string {
	sum := sha256.Sum256([]byte(variant))
	var found []string
	for _, k := range keys {
		if strings.Contains(k, base64.RawURLEncoding.EncodeToString(sum[:])) {
			found = append(found, "key "+k)
		}
	}
	for i, v := range values {
		if strings.Contains(v, string(sum[:16])) {
			found = append(found, "value of "+keys[i])
		}
	}
	return found
}

// TestVariantKeySecretSharedOnRedis: with Options.VariantKeySecret, the
// Caches of one secret share a variant of a page that varies on Cookie (one
// stores it, the other serves it), while a Cache of another secret, or of
// none, never reaches it and stores its own. Neither the keys nor the
// values the secret's Caches write hold the SHA-256 of the variant, against
// which whoever may read the backend could test guesses of the Cookie: a
// Cache without the secret writes both.
func TestVariantKeySecretSharedOnRedis(t *testing.T) {
	ctx := context.Background()
	addr := testutil.RedisAddr(t)
	prefix := "caching-test-varysecret:" + time.Now().Format("150405.000000") + ":"
	admin := redisstore.Must(redisstore.Options{URL: "redis://" + addr + "/0?" + testutil.SlowRedisQuery, Prefix: prefix})
	dump := func() (keys, values []string) {
		keys, err := admin.Client().Keys(ctx, prefix+"*").Result()
		require.NoError(t, err)
		for _, k := range keys {
			v, err := admin.Client().Get(ctx, k).Result()
			require.NoError(t, err, k)
			values = append(values, v)
		}
		return keys, values
	}
	t.Cleanup(func() {
		if keys, _ := admin.Client().Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
			admin.Client().Del(ctx, keys...)
		}
		_ = admin.Close()
	})
	open := func(secret []byte) http.Handler {
		b, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "/0?" + testutil.SlowRedisQuery, Prefix: prefix})
		require.NoError(t, err)
		c, err := New(&Options{Backend: b, VariantKeySecret: secret})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		h := &counter{body: fmt.Sprintf("page of %.1s", secret), fn: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Vary", "Cookie")
		}}
		return c.Cached(time.Hour, CacheStatusHeader("X-Cache"))(h)
	}
	const cookie = "session=0123456789abcdef"
	serve := func(h http.Handler) (status, body string) {
		w := get(h, "/page", "Cookie", cookie)
		return w.Header().Get("X-Cache"), w.Body.String()
	}
	secretA, secretB := bytes.Repeat([]byte("a"), 32), bytes.Repeat([]byte("b"), 32)

	a1, a2 := open(secretA), open(bytes.Clone(secretA))
	serve(a1)
	status, body := serve(a2)
	assert.Equal(t, "HIT", status, "the same secret: one variant")
	assert.Equal(t, "page of a #1", body)

	b := open(secretB)
	status, body = serve(b)
	assert.Equal(t, "MISS", status, "another secret never reaches the variant")
	assert.Equal(t, "page of b #1", body)
	status, body = serve(b)
	assert.Equal(t, "HIT", status)
	assert.Equal(t, "page of b #1", body)
	status, body = serve(a2)
	assert.Equal(t, "HIT", status)
	assert.Equal(t, "page of a #1", body, "the other secret's variant is its own")

	keys, values := dump()
	assert.Empty(t, unkeyedTraces(keys, values, cookieVariant(cookie)), "the SHA-256 of a variant in the backend")

	none := open(nil)
	status, body = serve(none)
	assert.Equal(t, "MISS", status, "no secret never reaches a keyed variant")
	assert.Equal(t, "page of  #1", body)
	keys, values = dump()
	assert.Len(t, unkeyedTraces(keys, values, cookieVariant(cookie)), 2, "without a secret, the key and the record hold the variant's SHA-256")
	variants := 0
	for _, k := range keys {
		if strings.Contains(k, "#vary:") {
			variants++
		}
	}
	assert.Equal(t, 3, variants, "a variant per secret, and one for none")
}

// TestVariantKeySecretNamesHiddenFieldsOnly: with a secret, a variant of a
// field a key may not spell is named by the HMAC-SHA-256 of its variant key
// under the secret, in its key and in its Vary record, while a variant of
// content negotiation keeps its spelled key (TestVariantKeysGolden's).
func TestVariantKeySecretNamesHiddenFieldsOnly(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	srv := miniredis.RunT(t)
	c := Must(&Options{KeyPrefix: "app:", VariantKeySecret: secret, Backend: redisstore.Must(redisstore.Options{URL: "redis://" + srv.Addr()})})
	t.Cleanup(func() { _ = c.Close() })
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(cookieVariant("session=0123456789abcdef")))
	sum := mac.Sum(nil)
	for _, tc := range []struct {
		path, vary, key string
		hdr             []string
		id              []byte // the variant's name in the record
	}{
		{"/language", "Accept-Language", "v/http://example.com#view//language#vary:Accept-Language=fr",
			[]string{"Accept-Language", "fr"}, []byte("\xc3\x00\xdd\x3a\xf9\x48\x85\x85\xc8\xe5\x1a\x09\x72\x39\x6b\x42")},
		{"/cookie", "Cookie", "v/http://example.com#view//cookie#vary:#" + base64.RawURLEncoding.EncodeToString(sum),
			[]string{"Cookie", "session=0123456789abcdef"}, sum[:16]},
	} {
		t.Run(tc.vary, func(t *testing.T) {
			ch := c.Cached(time.Hour, CacheStatusHeader("X-Cache"))(&counter{body: "page",
				fn: func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Vary", tc.vary) }})
			get(ch, tc.path, tc.hdr...)
			require.Equal(t, "HIT", get(ch, tc.path, tc.hdr...).Header().Get("X-Cache"))
			assert.True(t, srv.Exists("caching:app:"+tc.key), "the variant's key %s in %q", tc.key, srv.Keys())
			rec, err := srv.Get("caching:app:v/http://example.com#view/" + tc.path)
			require.NoError(t, err)
			assert.True(t, strings.Contains(rec, string(tc.id)), "the record names the variant %x", tc.id)
		})
	}
}

// TestVariantKeySecretChecked: a secret shorter than 32 bytes, an empty one
// too (an unset environment variable), is an error at New that names the
// option and not the secret; nil is none.
func TestVariantKeySecretChecked(t *testing.T) {
	for _, n := range []int{0, 1, 16, 31} {
		secret := bytes.Repeat([]byte("Q"), n)
		c, err := New(&Options{VariantKeySecret: secret})
		assert.Nil(t, c)
		require.Error(t, err, "%d bytes", n)
		assert.True(t, errors.Is(err, ErrInvalidOption), err)
		assert.Contains(t, err.Error(), "Options.VariantKeySecret")
		assert.Contains(t, err.Error(), fmt.Sprintf("%d bytes", n))
		assert.NotContains(t, err.Error(), "Q", "the secret in an error")
	}
	for _, secret := range [][]byte{nil, bytes.Repeat([]byte("s"), 32), bytes.Repeat([]byte("s"), 200)} {
		c, err := New(&Options{VariantKeySecret: secret})
		require.NoError(t, err, "%d bytes", len(secret))
		require.NoError(t, c.Close())
	}
}

// TestVariantKeySecretCopied: New copies the secret, so that a caller that
// reuses or clears its slice afterwards changes no key: the variants stored
// are still found once the hashers made before are gone.
func TestVariantKeySecretCopied(t *testing.T) {
	secret := bytes.Repeat([]byte("k"), 32)
	c := Must(&Options{VariantKeySecret: secret})
	t.Cleanup(func() { _ = c.Close() })
	ch := c.Cached(time.Hour, CacheStatusHeader("X-Cache"))(&counter{body: "page",
		fn: func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Vary", "Cookie") }})
	get(ch, "/page", "Cookie", "session=1")
	clear(secret)
	runtime.GC() // twice: a sync.Pool keeps its items over one collection
	runtime.GC()
	assert.Equal(t, "HIT", get(ch, "/page", "Cookie", "session=1").Header().Get("X-Cache"))
}

// TestVariantKeySecretConcurrentHits: the hashers a secret's Cache lends
// each request are never shared by two at once: concurrent requests of many
// sessions each get their own session's page, stored once.
func TestVariantKeySecretConcurrentHits(t *testing.T) {
	for _, st := range viewStores {
		t.Run(st.name, func(t *testing.T) {
			c, _ := st.open(t, nil, testutil.NewClock(), Options{VariantKeySecret: bytes.Repeat([]byte("k"), 32)})
			t.Cleanup(func() { _ = c.Close() })
			var runs sync.Map // of *atomic.Int64, by Cookie
			ch := c.Cached(time.Hour, MaxVariants(64))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n, _ := runs.LoadOrStore(r.Header.Get("Cookie"), new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
				w.Header().Set("Vary", "Cookie")
				fmt.Fprint(w, "page of ", r.Header.Get("Cookie"))
			}))
			const sessions = 16
			for i := range sessions { // each session's page, stored once
				get(ch, "/page", "Cookie", fmt.Sprint("session=", i))
			}
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range 200 {
						cookie := fmt.Sprint("session=", (g+i)%sessions)
						w := get(ch, "/page", "Cookie", cookie)
						assert.Equal(t, "page of "+cookie, w.Body.String())
					}
				})
			}
			wg.Wait()
			runs.Range(func(k, n any) bool {
				assert.Equal(t, int64(1), n.(*atomic.Int64).Load(), "the handler's runs for %s", k)
				return true
			})
		})
	}
}

// TestVariantKeySecretHitAllocations: a hit of a variant named by the HMAC
// of its variant key allocates no more than one named by its SHA-256 (the
// hashers are lent by a pool, their sums written in place), on an
// in-process store and on one that encodes its entries.
func TestVariantKeySecretHitAllocations(t *testing.T) {
	if raceOn {
		t.Skip("allocation counts are not meaningful under -race")
	}
	for _, st := range viewStores {
		t.Run(st.name, func(t *testing.T) {
			allocs := func(secret []byte) float64 {
				c, _ := st.open(t, nil, testutil.NewClock(), Options{VariantKeySecret: secret})
				ch := c.Cached(time.Hour)(&counter{body: "page",
					fn: func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Vary", "Cookie") }})
				r := httptest.NewRequest(http.MethodGet, "/page", nil)
				r.Header.Set("Cookie", "session=0123456789abcdef")
				ch.ServeHTTP(httptest.NewRecorder(), r)
				return testutil.AllocsPerRun(100, func() {
					w := httptest.NewRecorder()
					ch.ServeHTTP(w, r)
					if w.Body.String() != "page #1" {
						t.Fatalf("not a hit: %q", w.Body.String())
					}
				})
			}
			assert.Equal(t, allocs(nil), allocs(bytes.Repeat([]byte("k"), 32)))
		})
	}
}
