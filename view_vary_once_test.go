package caching

import (
	"bytes"
	"hash"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countedHash is a hash.Hash that counts the sums taken of it.
type countedHash struct {
	hash.Hash
	sums *atomic.Int64
}

func (h countedHash) Sum(b []byte) []byte {
	h.sums.Add(1)
	return h.Hash.Sum(b)
}

// TestVariantKeySecretRemoteHitHashesOnce: a hit, from Redis, of a page
// that varies on Cookie, with Options.VariantKeySecret, takes one
// HMAC-SHA-256 of its variant: the one that names its key also names it in
// the page's Vary record, which, read from Redis, is new on every hit and
// remembers no variant it listed. It took two.
func TestVariantKeySecretRemoteHitHashesOnce(t *testing.T) {
	c, _, _ := onRedisWith(t, Options{VariantKeySecret: bytes.Repeat([]byte("s"), 32)})

	// Count the sums of the Cache's own hashers: the secret, the pool and
	// the keys stay the Cache's.
	var sums atomic.Int64
	made := c.variants.macs.New
	c.variants.macs.New = func() any {
		m := made().(*variantMAC)
		m.h = countedHash{Hash: m.h, sums: &sums}
		return m
	}

	h := &counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Vary", "Cookie")
	}}
	view := c.Cached(time.Hour, CacheStatusHeader("X-Cache"))(h)
	const cookie = "session=0123456789abcdef0123456789abcdef"
	w := get(view, "/page", "Cookie", cookie)
	require.Equal(t, "MISS", w.Header().Get("X-Cache"))

	const hits = 3
	sums.Store(0)
	for range hits {
		w = get(view, "/page", "Cookie", cookie)
		require.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.Equal(t, "page #1", w.Body.String())
	}
	assert.EqualValues(t, hits, sums.Load(), "HMACs of the variant for %d hits", hits)
}

// TestVariantKeyIDOneHash: keyID gives the key key gives and, where it
// hashed the variant, the id id gives, with a secret or without, for a
// field the key spells and for one it hides.
func TestVariantKeyIDOneHash(t *testing.T) {
	for _, secret := range [][]byte{nil, bytes.Repeat([]byte("k"), 32)} {
		n := newVariantNames(secret)
		for _, tc := range []struct {
			field, value string
			hidden       bool
		}{
			{"Accept-Language", "de", false},
			{"Cookie", "session=42", true},
			{"Authorization", "Bearer x", true},
		} {
			names := []string{tc.field}
			variant := tc.field + "=" + tc.value
			key, id, hashed := n.keyID("v/base", variant, names)
			assert.Equal(t, n.key("v/base", variant, names), key, "%s, secret %v", tc.field, secret != nil)
			assert.Equal(t, tc.hidden, hashed, "%s, secret %v", tc.field, secret != nil)
			if hashed {
				assert.Equal(t, n.id(variant, names), id, "%s, secret %v", tc.field, secret != nil)
			}
		}
	}
}
