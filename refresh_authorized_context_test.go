package caching

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// accountKey is the context key under which bearerAccount puts the
// account a request's Authorization names.
type accountKey struct{}

// bearerAccount is an application's authentication outside the view: it
// reads the account from Authorization ("Bearer alice") into the request's
// context, where the handler finds it.
func bearerAccount(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if acct, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			r = r.WithContext(context.WithValue(r.Context(), accountKey{}, acct))
		}
		next.ServeHTTP(w, r)
	})
}

// signedInPage answers an anonymous request with a public page, and a
// signed-in account (read from the context, as handlers behind
// authentication do) with its own page, which only says max-age: under RFC
// 9111 section 3.5 a shared cache never stores it for a request with
// Authorization.
func signedInPage(w http.ResponseWriter, r *http.Request) {
	if acct, _ := r.Context().Value(accountKey{}).(string); acct != "" {
		w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=60")
		fmt.Fprintf(w, "the account page of %s", acct)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=10, stale-while-revalidate=60")
	fmt.Fprint(w, "the public page")
}

// TestRefreshOfAuthorizedRequestStoresNoAccountPage: in a SharedCache
// view without UserKey, a request with Authorization may be served a
// shared entry that says public (RFC 9111 section 3.5), stale within its
// stale-while-revalidate or within RefreshAhead. Its refresh ran without
// the Authorization header but with the request's context values, where
// the application's authentication had put the account: the handler made
// that account's page, which, asked for without Authorization, was stored
// for every client. Such a request now starts no refresh (as a request
// with a session cookie does not: see refreshable); its own run, when the
// entry is stale, is judged with its Authorization.
func TestRefreshOfAuthorizedRequestStoresNoAccountPage(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []ViewOption
		wait time.Duration
	}{
		{"stale-while-revalidate", []ViewOption{StaleWhileRevalidate(time.Minute)}, 15 * time.Second},
		{"RefreshAhead", []ViewOption{RefreshAhead(8 * time.Second)}, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				synctest.Test(t, func(t *testing.T) {
					e := newViewEnv(t, k)
					h := bearerAccount(e.sharedView(http.HandlerFunc(signedInPage), tc.opts...))
					assert.Equal(t, "the public page", get(h, "/home").Body.String())
					e.clock.Advance(tc.wait)
					get(h, "/home", "Authorization", "Bearer alice")
					synctest.Wait() // any refresh it started has stored
					for range 2 {
						bob := get(h, "/home")
						assert.Equal(t, "the public page", bob.Body.String(), "an anonymous client was served alice's page (%s)", bob.Header().Get("X-Cache"))
						synctest.Wait()
					}
				})
			})
		})
	}
}
