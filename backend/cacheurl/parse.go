package cacheurl

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
)

// cacheURL is a cache URL split into its parts: scheme://[userinfo@]hosts/path?params.
// Hosts are a comma-separated list, which net/url does not parse.
type cacheURL struct {
	scheme   string
	userinfo string   // as written (still %-encoded); "" when absent
	hosts    []string // as written, split at commas; nil when there is none
	path     string   // %-decoded
	rawPath  string   // as written
	params   *params
	// atAfterHost: an '@' follows the hosts, in the path or a parameter
	// value. A password holding a raw '/' or '?' looks the same, so that any
	// host or parameter text may be part of a password: see hide.
	atAfterHost bool
}

// parse splits raw into its parts and checks their syntax; what each scheme
// accepts is checked by its opener.
func parse(raw string) (*cacheURL, error) {
	if raw == "" {
		return nil, invalid("url", "is empty; want one such as simple://, file:///var/cache/app, redis://host:6379/0 or memcached://host:11211")
	}
	for _, r := range raw {
		if r <= ' ' || r == 0x7f {
			return nil, invalid("url", "contains white space or a control character")
		}
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, invalid("scheme", "missing; want scheme://..., such as simple:// or redis://host:6379/0")
	}
	if !validScheme(scheme) {
		// Not quoted: a malformed URL may have a password where the scheme should be.
		return nil, invalid("scheme", "is malformed; want one of "+schemeList)
	}
	u := &cacheURL{scheme: strings.ToLower(scheme)}
	if _, ok := openers[u.scheme]; !ok {
		return nil, invalid("scheme", fmt.Sprintf("%q is unknown; want one of %s", scheme, schemeList))
	}
	if strings.Contains(rest, "#") {
		return nil, invalid("url", "has a fragment (#...); write a '#' in a password as %23")
	}
	rest, rawQuery, _ := strings.Cut(rest, "?")
	authority := rest
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority, u.rawPath = rest[:i], rest[i:]
	}
	if u.strayAt(rawQuery) {
		// Not quoted, and not opened as it reads: the text before the '@'
		// is most likely a password.
		return nil, invalid("user", rawDelimiters)
	}
	u.atAfterHost = strings.Contains(u.rawPath+rawQuery, "@")
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		u.userinfo, authority = authority[:i], authority[i+1:]
		if _, err := url.Parse("x://" + u.userinfo + "@h"); err != nil || u.userinfo == "" {
			return nil, invalid("user", "is malformed; write reserved characters of a user name or password %-encoded ('@' as %40, '/' as %2F)")
		}
	}
	if authority != "" {
		u.hosts = strings.Split(authority, ",")
	}
	var err error
	if u.path, err = url.PathUnescape(u.rawPath); err != nil {
		return nil, invalid("path", "has a malformed %-escape")
	}
	if u.params, err = parseParams(rawQuery, strings.Contains(u.userinfo, ":")); err != nil {
		return nil, u.hide(err)
	}
	return u, nil
}

// rawDelimiters is the reason a URL with an '@' in its path or in a
// parameter name is refused.
const rawDelimiters = "is malformed, or the path or a parameter name holds an '@': write a '/', '?' or '@' " +
	"of a user name or password %-encoded ('/' as %2F, '?' as %3F, '@' as %40)"

// strayAt reports whether an '@' stands where none belongs: in a parameter
// name, or in the path of a scheme whose path is not a file's. A user name
// or password holding a raw '/' or '?' ends the authority early and leaves
// its '@' there, so that the password would be read as the host and the
// real host as the path or a parameter.
func (u *cacheURL) strayAt(rawQuery string) bool {
	if u.scheme != "file" && u.scheme != "unix" && strings.Contains(u.rawPath, "@") {
		return true
	}
	for _, pair := range strings.Split(rawQuery, "&") {
		if name, _, _ := strings.Cut(pair, "="); strings.Contains(name, "@") {
			return true
		}
	}
	return false
}

// hiddenReason replaces the reason of an error that would quote a host, a
// parameter's name or its value of a URL with an '@' after its hosts.
const hiddenReason = "a host or a parameter is wrong, and which is not shown: the URL has an '@' after its hosts, " +
	"so that their text may be part of a password; write an '@' of a parameter value as %40 " +
	"(and a '/', '?' or '@' of a password as %2F, %3F, %40) to see which"

// hide returns err, or, when the URL has an '@' after its hosts and err
// is about a host or a parameter (whose messages quote the URL's text), an
// error that quotes nothing: what looks like a host or a parameter may be
// the tail of a password holding a raw '/' or '?'.
func (u *cacheURL) hide(err error) error {
	if err == nil || !u.atAfterHost || !quotesURL(err) {
		return err
	}
	return invalid("url", hiddenReason)
}

// quotesURL reports whether err, or an error it wraps or joins, is an
// *Error about a host or a parameter.
func quotesURL(err error) bool {
	if e, ok := err.(*Error); ok && (e.Part == "host" || e.Part == "parameter") {
		return true
	}
	switch w := err.(type) {
	case interface{ Unwrap() []error }:
		for _, err := range w.Unwrap() {
			if quotesURL(err) {
				return true
			}
		}
	case interface{ Unwrap() error }:
		return quotesURL(w.Unwrap())
	}
	return false
}

// validScheme reports whether s has the syntax of RFC 3986's scheme.
func validScheme(s string) bool {
	for i, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		case i > 0 && ('0' <= r && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// parseParams parses the query string: each parameter once, with a value.
// The URL holds a password when its userinfo does (secret) or a parameter
// does; then errors do not show the names of unknown parameters (see
// paramError).
func parseParams(rawQuery string, secret bool) (*params, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		// Not quoted: the query may hold a password.
		return nil, invalid("query", "does not parse: want name=value pairs joined by '&', with '%' escapes of two hex digits")
	}
	for name := range q {
		secret = secret || passwordParam(name)
	}
	p := &params{m: make(map[string]string, len(q)), secret: secret}
	for _, name := range slices.Sorted(maps.Keys(q)) {
		switch vs := q[name]; {
		case name == "":
			return nil, invalid("query", "has a value without a parameter name")
		case len(vs) > 1:
			return nil, paramError(name, "is given more than once", secret)
		case vs[0] == "":
			return nil, paramError(name, "has no value", secret)
		default:
			p.m[name] = vs[0]
		}
	}
	return p, nil
}

// noUser fails when the URL has a user or password: only Redis reads them.
func (u *cacheURL) noUser() error {
	if u.userinfo != "" {
		return invalid("user", u.scheme+":// takes no user or password")
	}
	return nil
}

// noHost fails when the URL names a host (localhost is allowed when
// allowLocal, as RFC 8089 allows it in file URLs).
func (u *cacheURL) noHost(allowLocal bool) error {
	if len(u.hosts) == 0 || allowLocal && len(u.hosts) == 1 && strings.EqualFold(u.hosts[0], "localhost") {
		return nil
	}
	want := u.scheme + ":// takes no host"
	if u.scheme == "file" {
		want = "file:// takes no host: write file:///var/cache/app (three slashes) for the directory /var/cache/app"
	}
	return invalid("host", want)
}

// noPath fails when the URL has a path other than "/".
func (u *cacheURL) noPath() error {
	if u.path != "" && u.path != "/" {
		return invalid("path", u.scheme+":// takes no path")
	}
	return nil
}

// hostPorts returns the hosts as host:port, with defPort where a host has
// none; max > 0 bounds their number.
func (u *cacheURL) hostPorts(defPort string, max int) ([]string, error) {
	if len(u.hosts) == 0 {
		want := "missing; want " + u.scheme + "://host[:port]"
		if max != 1 {
			want += "[,host[:port]...]"
		}
		return nil, invalid("host", want)
	}
	if max > 0 && len(u.hosts) > max {
		return nil, invalid("host", fmt.Sprintf("%s:// takes one host; use redis+cluster:// or redis+sentinel:// for several", u.scheme))
	}
	out := make([]string, len(u.hosts))
	for i, h := range u.hosts {
		hp, err := hostPort(h, defPort)
		if err != nil {
			return nil, err
		}
		out[i] = hp
	}
	return out, nil
}

// hostPort checks h, as host, host:port, [ipv6] or [ipv6]:port, and returns
// it as host:port.
func hostPort(h, defPort string) (string, error) {
	host, port := h, defPort
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", invalid("host", fmt.Sprintf("%q has no closing ']'", h))
		}
		host = h[1:end]
		if rest := h[end+1:]; rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return "", invalid("host", fmt.Sprintf("%q: want [address]:port", h))
			}
			port = rest[1:]
		}
		if net.ParseIP(host) == nil {
			return "", invalid("host", fmt.Sprintf("%q is not an IPv6 address", h))
		}
	} else if i := strings.LastIndexByte(h, ':'); i >= 0 {
		host, port = h[:i], h[i+1:]
		if strings.Contains(host, ":") {
			return "", invalid("host", fmt.Sprintf("%q: write an IPv6 address in brackets, as [::1]:%s", h, defPort))
		}
	}
	if host == "" {
		return "", invalid("host", fmt.Sprintf("%q has an empty host name", h))
	}
	for _, r := range host {
		if !(r == '-' || r == '.' || r == '_' || r == ':' && strings.HasPrefix(h, "[") || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return "", invalid("host", fmt.Sprintf("%q is not a host name or address", h))
		}
	}
	if n, ok := decimal(port, false); !ok || n < 1 || n > 65535 {
		return "", invalid("host", fmt.Sprintf("%q: the port must be a number from 1 to 65535", h))
	}
	return net.JoinHostPort(host, port), nil
}
