package caching

import (
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
)

// TestVariantKeysGolden pins the backend keys of Vary variants, and the
// names of variants in their Vary records, of a Cache without
// Options.VariantKeySecret: they are read by every process sharing the
// backend, older releases included, and must not change when no secret is
// set. A variant of content negotiation is spelled; one of Cookie, alone
// or with another field, is named by the SHA-256 of its variant key.
func TestVariantKeysGolden(t *testing.T) {
	cases := []struct {
		path, vary string
		hdr        []string // the request's fields, name, value pairs
		key, id    string   // the variant's key without KeyPrefix, and its name in the record (hex)
	}{
		{"/language", "Accept-Language", []string{"Accept-Language", "fr"},
			"v/http://example.com#view//language#vary:Accept-Language=fr", "c300dd3af9488585c8e51a0972396b42"},
		{"/cookie", "Cookie", []string{"Cookie", "session=0123456789abcdef"},
			"v/http://example.com#view//cookie#vary:#a4ZVLuv_TfAuFn0Egvk7YpU2Tieu3uXo4G3HJjbbpRw", "6b86552eebff4df02e167d0482f93b62"},
		{"/both", "Cookie, Accept-Language", []string{"Cookie", "session=0123456789abcdef", "Accept-Language", "fr"},
			"v/http://example.com#view//both#vary:#YRZ0H8QlnW2PQKi1xjkgUICGw8Wp48o266wil0GV8es", "6116741fc4259d6d8f40a8b5c6392050"},
	}
	srv := miniredis.RunT(t)
	c := Must(&Options{KeyPrefix: "app:", Backend: redisstore.Must(redisstore.Options{URL: "redis://" + srv.Addr()})})
	t.Cleanup(func() { c.Close() })
	for _, tc := range cases {
		t.Run(tc.vary, func(t *testing.T) {
			ch := c.Cached(time.Hour, CacheStatusHeader("X-Cache"))(&counter{body: "page",
				fn: func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Vary", tc.vary) }})
			get(ch, tc.path, tc.hdr...)
			require.Equal(t, "HIT", get(ch, tc.path, tc.hdr...).Header().Get("X-Cache"))
			var variants, records []string
			for _, k := range srv.Keys() {
				switch {
				case !strings.Contains(k, tc.path):
				case strings.Contains(k, "#vary:"):
					variants = append(variants, k)
				case strings.HasPrefix(k, "caching:app:v/"):
					records = append(records, k)
				}
			}
			require.Len(t, records, 1)
			rec, err := srv.Get(records[0])
			require.NoError(t, err)
			assert.Equal(t, []string{"caching:app:" + tc.key}, variants)
			id, err := hex.DecodeString(tc.id)
			require.NoError(t, err)
			assert.True(t, len(id) == 16 && strings.Contains(rec, string(id)), "the record names the variant %s", tc.id)
		})
	}
}
