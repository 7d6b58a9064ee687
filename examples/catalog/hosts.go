package main

// hosts.go: the names a write may be sent to.

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/go-caching/caching/pool"
)

// hostGuard serves next, answering 403 to a request of any method but GET
// and HEAD unless its Host, and every name a proxy forwarded for it
// (X-Forwarded-Host, Forwarded's host=), is a loopback name
// (pool.LoopbackHost: localhost, a name under .localhost, 127.0.0.1,
// [::1]) or one of hosts (Config.Hosts, as configName reads them), its port
// and a final dot aside, in any case.
//
// Requiring application/json keeps the writes of other web sites out
// (jsonContent), but not through DNS rebinding: a page whose name the
// attacker makes resolve to 127.0.0.1 sends its fetch to its own origin,
// which the browser sends without asking the service first, from loopback,
// with the page's name as Host. Such a page cannot choose the Host: it is
// the name it was loaded from, which is none of the service's; nor can it
// add X-Forwarded-Host or Forwarded without the browser asking first. A
// client that writes its own requests can send any Host: this is no
// authentication. Reads are answered whatever the Host: the catalog is
// public, and the warm job and a service reached by a domain read it by
// other names.
//
// Behind a reverse proxy the check sees what the proxy sends: one that
// sends the upstream's address as Host (nginx's proxy_pass does unless
// told proxy_set_header Host $host; Apache's ProxyPass without
// ProxyPreserveHost) makes every write look local unless it says which
// name the browser asked for in X-Forwarded-Host or Forwarded, as Apache,
// Caddy and Traefik do. Have it pass the Host on, or send one of those.
func hostGuard(hosts []string, next http.Handler) http.Handler {
	known := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		if name, ok := configName(h); ok {
			known[name] = true
		}
	}
	ours := func(host string) bool { return known[hostName(host)] || pool.LoopbackHost(host) }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && (!ours(r.Host) || !forwardedOurs(r.Header, ours)) {
			writeError(w, http.StatusForbidden, "writes are taken only when sent to localhost, a loopback address or a name in CATALOG_HOSTS")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// forwardedOurs reports whether ours holds for every name that h, a
// request's header, says a proxy was asked for: each value of
// X-Forwarded-Host (a list, comma-separated) and the host= of each element
// of Forwarded (RFC 7239), in any case, quoted or not. An empty value says
// nothing and is left out; a value that does not parse as a name is not
// ours.
func forwardedOurs(h http.Header, ours func(string) bool) bool {
	for _, v := range h.Values("X-Forwarded-Host") {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" && !ours(name) {
				return false
			}
		}
	}
	for _, v := range h.Values("Forwarded") {
		for pair := range strings.FieldsFuncSeq(v, func(c rune) bool { return c == ',' || c == ';' }) {
			k, name, _ := strings.Cut(pair, "=")
			if !strings.EqualFold(strings.TrimSpace(k), "host") {
				continue
			}
			if name = strings.Trim(strings.TrimSpace(name), `"`); name != "" && !ours(name) {
				return false
			}
		}
	}
	return true
}

// hostName is host, a Host or a name of Config.Hosts, without its port
// (":" and digits after the name or after an IPv6 literal's "]") and final
// dot, in lower case, with an IPv6 literal in brackets written as net/netip
// writes it ([fd00::80] for [FD00:0::80]); "" for an empty one.
func hostName(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && i > strings.LastIndexByte(host, ']') && strings.Trim(host[i+1:], "0123456789") == "" {
		host = host[:i]
	}
	if lit, ok := ipv6Literal(host); ok {
		return lit
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// checkHosts returns an error naming the first of hosts, the names of
// Config.Hosts, that configName refuses: no Host could ever match it.
func checkHosts(hosts []string) error {
	for _, h := range hosts {
		if _, ok := configName(h); !ok {
			return fmt.Errorf("CATALOG_HOSTS (Config.Hosts): %q is not a host name, an IPv4 address or an IPv6 address without a zone, with an optional port (an IPv6 address with a port goes in brackets: [fd00::1]:8080)", h)
		}
	}
	return nil
}

// configName returns h, a name of Config.Hosts, as hostName writes a Host,
// and whether it is one a Host can match: a name of letters, digits, '-',
// '_' and '.', an IPv4 address, or an IPv6 address in brackets or not
// (fd00::80 or [fd00::80], without a zone), with an optional port (":" and
// digits) after a name, an IPv4 address or a "]". An IPv6 address without
// brackets is read whole, not as a name and a port (hostName's reading of
// a Host, where such an address is always in brackets).
func configName(h string) (string, bool) {
	if ip, err := netip.ParseAddr(h); err == nil && ip.Is6() && ip.Zone() == "" {
		return "[" + ip.String() + "]", true
	}
	name := hostName(h)
	if strings.HasPrefix(name, "[") {
		_, ok := ipv6Literal(name)
		return name, ok
	}
	return name, name != "" && strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") == ""
}

// ipv6Literal returns lit, an IPv6 address in brackets without a zone, as
// net/netip writes it, in brackets, and whether it is one.
func ipv6Literal(lit string) (string, bool) {
	if addr, ok := strings.CutPrefix(lit, "["); ok {
		if addr, ok := strings.CutSuffix(addr, "]"); ok {
			if ip, err := netip.ParseAddr(addr); err == nil && ip.Is6() && ip.Zone() == "" {
				return "[" + ip.String() + "]", true
			}
		}
	}
	return "", false
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
