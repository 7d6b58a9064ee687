package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/httpcache"
)

// sessionPage varies on Cookie: a logged-in user (a session cookie) gets
// no-cache without a validator, a life of 0 in a SharedCache view; anyone
// else max-age=600.
func sessionPage() *counter {
	return &counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Cookie")
		if strings.HasPrefix(r.Header.Get("Cookie"), "session=") {
			w.Header().Set("Cache-Control", "no-cache")
		} else {
			w.Header().Set("Cache-Control", "max-age=600")
		}
	}}
}

// TestShortLivedVariantKeepsVaryRecord: the Vary record was written again
// with the life of the variant just stored, not the longest of the live
// variants it lists: one logged-in visit (no-cache, life 0) wrote a record
// already dead, and the anonymous variant, fresh for ten more minutes,
// was no longer found: every request missed.
func TestShortLivedVariantKeepsVaryRecord(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		ch := e.sharedView(sessionPage())
		get(ch, "/home")
		assert.Equal(t, "HIT", get(ch, "/home").Header().Get("X-Cache"), "the anonymous page is stored")
		get(ch, "/home", "Cookie", "session=alice")
		e.clock.Advance(time.Second)
		w := get(ch, "/home")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the anonymous variant is fresh for 599 s more")
		assert.Equal(t, "page #1", w.Body.String())

		// The record still ends with its variants: once the anonymous
		// one has expired, nothing answers.
		e.clock.Advance(600 * time.Second)
		w = get(ch, "/home")
		assert.Equal(t, "MISS", w.Header().Get("X-Cache"))
		assert.Equal(t, "page #3", w.Body.String())
	})
}

// TestShortLivedVariantsKeepMaxVariants: a dead record restarted counting
// from one while the variants it had listed stayed in the store, so that
// MaxVariants no longer bounded them: every logged-in visit between two
// new variants let one more in. The variants stored stay within the bound,
// and a short-lived variant still stops counting once it has expired.
func TestShortLivedVariantsKeepMaxVariants(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		const maxVariants = 2
		ch := e.sharedView(sessionPage(), MaxVariants(maxVariants))
		base, err := e.c.ViewKey(httptest.NewRequest(http.MethodGet, "/home", nil), SharedCache(), MaxVariants(maxVariants))
		require.NoError(t, err)
		stored := func(cookie string) bool {
			r := httptest.NewRequest(http.MethodGet, "/home", nil)
			if cookie != "" {
				r.Header.Set("Cookie", cookie)
			}
			key := variantNames{}.key(base, httpcache.VariantKey(r, []string{"Cookie"}), []string{"Cookie"})
			_, err := e.c.store.lookup(context.Background(), key, nil, time.Time{})
			return err == nil
		}

		prefs := []string{"", "pref=a", "pref=b", "pref=c", "pref=d"}
		for i, pref := range prefs {
			if pref == "" {
				get(ch, "/home")
			} else {
				get(ch, "/home", "Cookie", pref)
			}
			get(ch, "/home", "Cookie", "session=u"+string(rune('0'+i)))
			e.clock.Advance(time.Second)
		}
		n := 0
		for _, pref := range prefs {
			if stored(pref) {
				n++
			}
		}
		assert.LessOrEqual(t, n, maxVariants, "long-lived variants stored")
		assert.True(t, stored(""), "the first variant, within the bound, is stored")
		assert.True(t, stored("pref=a"), "the second variant, within the bound, is stored (the session variant before it expired)")
		assert.Equal(t, "HIT", get(ch, "/home", "Cookie", "pref=a").Header().Get("X-Cache"))
		assert.Equal(t, "HIT", get(ch, "/home").Header().Get("X-Cache"))
	})
}
