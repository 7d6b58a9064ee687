package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// identityFields are the fields a front end that authenticates clients
// (TLS client certificates, an identity-aware load balancer or gateway)
// adds for the origin, as it spells them: nginx's and HAProxy's
// certificate fields (CGI-style too), IIS/Azure's, AWS ALB's mutual TLS
// and OIDC fields, Azure App Service's principal, a forward-auth
// gateway's Remote-User, Grafana's auth-proxy field.
var identityFields = []string{
	"X-Ssl-Client-Cert", "X-Ssl-Client-S-Dn", "Ssl_Client_S_Dn", "X-Client-Dn", "X-Client-Verify", "X-Arr-Clientcert",
	"X-Amzn-Mtls-Clientcert", "X-Amzn-Oidc-Identity", "X-Ms-Client-Principal-Name",
	"Remote-User", "X-Remote-User", "X-Webauth-User",
}

// TestIdentityFieldsAreCredentials: only field names with auth, token,
// key, session, secret, passw, credential or jwt counted as credentials,
// so an origin behind a front end that terminates mutual TLS (no Cookie,
// no Authorization: the client's certificate is the credential) or that
// signs users in itself, and answers by the identity fields the front end
// adds with max-age and neither private nor Vary, had one user's page
// stored and served to the next client, with -default-ttl even without
// max-age. Such fields are credentials now: a read with one is a token
// read, its response private unless public or s-maxage.
func TestIdentityFieldsAreCredentials(t *testing.T) {
	front, _ := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		field := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		user := r.Header.Get(field)
		if user == "" {
			user = "anonymous"
		}
		if !r.URL.Query().Has("default") {
			w.Header().Set("Cache-Control", "max-age=60")
		}
		_, _ = w.Write([]byte("page of " + user))
	}), nil, "-default-ttl", "1m")
	for _, field := range identityFields {
		for _, query := range []string{"", "?default"} {
			u := front.URL + "/me/" + field + query
			_, body := send(t, http.MethodGet, u, field, "alice")
			require.Equal(t, "page of alice", body)
			_, body = send(t, http.MethodGet, u)
			assert.Equal(t, "page of anonymous", body, "%s%s: alice's page served to another client", field, query)
		}
	}
}
