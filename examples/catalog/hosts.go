package main

// hosts.go: the names a write may be sent to.

import (
	"net/http"
	"strings"

	"github.com/go-caching/caching/pool"
)

// hostGuard serves next, answering 403 to a request of any method but GET
// and HEAD whose Host is neither a loopback name (pool.LoopbackHost:
// localhost, a name under .localhost, 127.0.0.1, [::1]) nor one of hosts
// (Config.Hosts), its port and a final dot aside, in any case.
//
// Requiring application/json keeps the writes of other web sites out
// (jsonContent), but not through DNS rebinding: a page whose name the
// attacker makes resolve to 127.0.0.1 sends its fetch to its own origin,
// which the browser sends without asking the service first, from loopback,
// with the page's name as Host. Such a page cannot choose the Host: it is
// the name it was loaded from, which is none of the service's. Reads are
// answered whatever the Host: the catalog is public, and the warm job and
// a service reached by a domain read it by other names.
func hostGuard(hosts []string, next http.Handler) http.Handler {
	known := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		known[hostName(h)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !known[hostName(r.Host)] && !pool.LoopbackHost(r.Host) {
			writeError(w, http.StatusForbidden, "writes are taken only when sent to localhost, a loopback address or a name in CATALOG_HOSTS")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostName is host, a Host or a name of Config.Hosts, without its port
// (":" and digits after the name or after an IPv6 literal's "]") and final
// dot, in lower case; "" for an empty one.
func hostName(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && i > strings.LastIndexByte(host, ']') && strings.Trim(host[i+1:], "0123456789") == "" {
		host = host[:i]
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// splitHosts reads CATALOG_HOSTS: names separated by commas, each trimmed
// of spaces; empty ones are left out.
func splitHosts(s string) []string {
	var hosts []string
	for h := range strings.SplitSeq(s, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts
}
