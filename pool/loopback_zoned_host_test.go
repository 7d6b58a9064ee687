package pool_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/pool"
)

// TestLoopbackOnlyZonedHost: a client that names the IPv6 loopback with a
// zone (http://[::1%25lo]:8080/, RFC 6874) sends that Host as it is, and
// net/http hands it through unchanged in r.Host: LoopbackOnly refused it,
// though it names loopback as [::1] does (an IP literal: no DNS rebinding).
// A zoned address that is not loopback, or a zone on an IPv4 literal, is
// still refused, and so is a zone that is not the loopback interface's
// (see TestLoopbackOnlyStrictHost).
func TestLoopbackOnlyZonedHost(t *testing.T) {
	lo, _ := loopbackInterface(t)
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Host
		if !pool.LoopbackOnly(r) {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	defer srv.Close()
	for host, want := range map[string]int{
		"[::1%25" + lo.Name + "]:8080": http.StatusOK,
		"[::1%25" + lo.Name + "]":      http.StatusOK,
		"[::1%25eth0]:8080":            http.StatusForbidden, // not the loopback interface
		"[fe80::1%25lo]:8080":          http.StatusForbidden,
		"[::%25lo]:8080":               http.StatusForbidden,
		"127.0.0.1%25lo:8080":          http.StatusForbidden, // a zone on an IPv4 literal
		"[127.0.0.1%25lo]:8080":        http.StatusForbidden,
	} {
		status := hostStatus(t, srv, host)
		assert.Equal(t, want, status, "Host %q", host)
		if status != http.StatusBadRequest {
			assert.Equal(t, host, got, "r.Host as sent")
		}
	}
}
