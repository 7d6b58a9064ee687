package caching_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/go-caching/caching"
)

// TestUserinfoTargetNotShared: net/http accepts an absolute-form
// target with user information ("GET http://alice:pw@shop.example/account
// HTTP/1.1") and keeps it in r.URL.User, which no key part holds and which
// the credentials check (Authorization, client certificate) does not see.
// A handler that reads it (r.URL.User, r.URL.String(), r.RequestURI) makes
// alice's page, stored under the key of GET /account for every client.
// RFC 9110 section 4.2.4 says to treat such a URI as an error; like an
// opaque target (6f74311) it passes through uncached.
func TestUserinfoTargetNotShared(t *testing.T) {
	for name, opts := range map[string][]caching.ViewOption{"default": nil, "shared": {caching.SharedCache()}} {
		t.Run(name, func(t *testing.T) {
			c := caching.Must(nil)
			defer c.Close()
			get := rawTargetGet(t, c, opts, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				who := "anonymous"
				if r.URL.User != nil {
					who = r.URL.User.Username()
				}
				_, _ = io.WriteString(w, "account of "+who)
			})
			get("http://alice:pw@shop.example/account")
			w := get("/account")
			if got := w.Body.String(); got != "account of anonymous" {
				t.Errorf("GET /account: %q (X-Cache %q): the response to a target with user information", got, w.Header().Get("X-Cache"))
			}
		})
	}
}
