// Command proxy is a caching reverse proxy in front of any HTTP origin: an
// httputil.ReverseProxy wrapped in a SharedCache view, so that the origin's
// own Cache-Control, CDN-Cache-Control, Expires, Last-Modified, ETag, Age,
// stale-while-revalidate and stale-if-error decide what is kept and for how
// long, as RFC 9111 says a shared cache must.
//
//	go -C examples run ./proxy -origin http://127.0.0.1:8080 -default-ttl 1m   # the catalog, cached again
//	CACHE_URL=redis://127.0.0.1:6379/0 go -C examples run ./proxy -origin https://example.org
//
// Beside the proxy, an admin listener (-admin, loopback by default) takes
// invalidations: POST /invalidate?path=/products/42 drops every stored
// response of a path (every query and Vary variant), POST
// /invalidate?tag=api every response of the routes tagged api (see -tag).
// Writes through the proxy (POST, PUT, DELETE, PATCH) invalidate their path
// by themselves. The proxy's status is in X-Proxy-Cache. A client's
// forwarding fields never reach the origin (see rewrite), reads with a
// Cookie bypass the cache unless -share-cookie-requests, and reads with a
// token field (X-Api-Key, X-Auth-Token, -identity-fields...) or a token
// parameter (?access_token=, ?api_key=, -token-params) are cached as
// reads with Authorization are (see tokenReads). See README.md beside this file.
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"path"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/cacheurl"
)

// config is what the flags and the environment set.
type config struct {
	listen, admin, origin, cacheURL string
	ttl, swr, sie, defaultTTL       time.Duration
	maxBody                         int // 0: what the backend can hold, at most defaultMaxBody
	shareCookieRequests             bool
	timeouts                        timeouts
	tags                            map[string]string // path prefix -> tag
	dropHeaders                     []string          // canonical names of request fields never sent to the origin
	creds                           credentials       // -identity-fields, -token-params
	variantKeySecret                []byte            // nil: none (see readVariantKeySecret)
}

// timeouts bound how long a client or the origin may hold a connection, so
// that slow or silent peers cannot pile up connections until the process
// runs out of file descriptors.
type timeouts struct {
	read, idle, send, origin time.Duration
}

// defaultMaxBody is -max-body's upper bound when the flag is not given.
const defaultMaxBody = 8 << 20

func parseFlags(args []string, getenv func(string) string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:8081", "address the proxy listens on")
	fs.StringVar(&cfg.admin, "admin", "127.0.0.1:8082", `address of the invalidation API ("" for none); keep it private`)
	fs.StringVar(&cfg.origin, "origin", "", "origin URL every request is sent to (required)")
	// Not getenv("CACHE_URL") as the flag's default: the usage prints
	// defaults (on -h and on any flag error), and the backend's password
	// with it.
	fs.StringVar(&cfg.cacheURL, "cache-url", "", "cache backend URL (default $CACHE_URL, else simple://)")
	fs.DurationVar(&cfg.ttl, "ttl", 10*time.Minute, "the longest a response is kept fresh, and how long one with a validator is kept to revalidate")
	fs.DurationVar(&cfg.defaultTTL, "default-ttl", 0, "freshness of a GET response whose origin sends no Cache-Control, CDN-Cache-Control or Expires (0: such responses are not stored unless heuristically cacheable)")
	fs.DurationVar(&cfg.swr, "max-stale-while-revalidate", time.Minute, "upper bound of the origin's stale-while-revalidate (0: never)")
	fs.DurationVar(&cfg.sie, "max-stale-if-error", time.Hour, "upper bound of the origin's stale-if-error (0: never)")
	fs.IntVar(&cfg.maxBody, "max-body", 0, "largest body stored, in bytes; larger ones pass through (default: what the backend holds, at most 8 MiB)")
	fs.BoolVar(&cfg.shareCookieRequests, "share-cookie-requests", false, "answer and store GET requests with a Cookie like any other (default: they bypass the cache)")
	fs.DurationVar(&cfg.timeouts.read, "read-timeout", time.Minute, "the longest a client may take to send a request, body included (0: none)")
	fs.DurationVar(&cfg.timeouts.idle, "idle-timeout", 2*time.Minute, "how long an idle keep-alive connection is kept open (0: -read-timeout)")
	fs.DurationVar(&cfg.timeouts.send, "send-timeout", time.Minute, "the longest one write to a client may block (a client that stops reading); 0: none")
	fs.DurationVar(&cfg.timeouts.origin, "origin-timeout", time.Minute, "the longest the origin may take to send its response header (0: none)")
	drop := fs.String("drop-request-headers", "", "more request fields the origin reads and the proxy must not pass on, comma-separated (beside the forwarding fields it always drops)")
	identity := fs.String("identity-fields", "", "more request fields that carry a client's credential or identity, comma-separated (beside Authorization, Cookie and the fields named as credentials: see README); a read with one is a token read")
	params := fs.String("token-params", strings.Join(defaultTokenParams, ","), `query parameters (and path parameters, ;jsessionid=) that carry a credential, comma-separated ("" for none); a read with one is a token read`)
	secretFile := fs.String("variant-key-secret-file", "", "file holding the secret (at least 32 bytes; a trailing newline is dropped) that keys the hashes naming Vary variants of credential fields in the backend, the same for every proxy sharing it (default $PROXY_VARIANT_KEY_SECRET, else none)")
	tags := fs.String("tag", "", "tags by path prefix: /api/=api,/img/=images (the longest prefix wins; / tags the rest)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if cfg.origin == "" {
		return cfg, errors.New("proxy: -origin is required")
	}
	cacheURLSet := false
	fs.Visit(func(f *flag.Flag) { cacheURLSet = cacheURLSet || f.Name == "cache-url" })
	if !cacheURLSet {
		cfg.cacheURL = getenv("CACHE_URL")
	}
	if cfg.cacheURL == "" {
		cfg.cacheURL = "simple://"
	}
	for name, d := range map[string]time.Duration{
		"-ttl": cfg.ttl, "-default-ttl": cfg.defaultTTL,
		"-max-stale-while-revalidate": cfg.swr, "-max-stale-if-error": cfg.sie,
		"-read-timeout": cfg.timeouts.read, "-idle-timeout": cfg.timeouts.idle,
		"-send-timeout": cfg.timeouts.send, "-origin-timeout": cfg.timeouts.origin,
	} {
		if d < 0 {
			return cfg, fmt.Errorf("proxy: %s %v: must not be negative", name, d)
		}
	}
	// 0 is refused for both: the library reads it as its own default
	// (a ttl of 0 as the Cache's DefaultTTL, a body size of 0 as
	// 1 MiB), not as what the flag's text says.
	if cfg.ttl == 0 {
		return cfg, errors.New("proxy: -ttl 0: must be positive")
	}
	maxBodySet := false
	fs.Visit(func(f *flag.Flag) { maxBodySet = maxBodySet || f.Name == "max-body" })
	if maxBodySet && cfg.maxBody <= 0 {
		return cfg, fmt.Errorf("proxy: -max-body %d: must be positive", cfg.maxBody)
	}
	for _, name := range strings.Split(*drop, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if !isToken(name) {
			return cfg, fmt.Errorf("proxy: -drop-request-headers: %q is not a header name", name)
		}
		cfg.dropHeaders = append(cfg.dropHeaders, http.CanonicalHeaderKey(strings.ReplaceAll(name, "_", "-")))
	}
	var err error
	if cfg.variantKeySecret, err = readVariantKeySecret(*secretFile, getenv); err != nil {
		return cfg, err
	}
	cfg.creds.markKey = tokenMarkKey(cfg.variantKeySecret)
	for _, name := range strings.Split(*identity, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if !isToken(name) {
			return cfg, fmt.Errorf("proxy: -identity-fields: %q is not a header name", name)
		}
		cfg.creds.fields = append(cfg.creds.fields, normField(name))
	}
	for _, name := range strings.Split(*params, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if strings.ContainsAny(name, "&=#?%+ ") || normParam(name) == "" {
			return cfg, fmt.Errorf("proxy: -token-params: %q: want a parameter's name as decoded, without &=#?%%+ or spaces", name)
		}
		cfg.creds.params = append(cfg.creds.params, normParam(name))
	}
	cfg.tags = map[string]string{}
	seen := map[string]bool{} // prefixes without their trailing slash
	for _, kv := range strings.Split(*tags, ",") {
		if kv == "" {
			continue
		}
		prefix, tag, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(prefix, "/") || tag == "" {
			return cfg, fmt.Errorf("proxy: -tag %q: want /prefix=tag", kv)
		}
		if err := checkTagPrefix(prefix); err != nil {
			return cfg, err
		}
		key := strings.TrimSuffix(prefix, "/")
		if seen[key] {
			return cfg, fmt.Errorf("proxy: -tag: prefix %q is tagged twice (/a and /a/ are one prefix)", prefix)
		}
		seen[key] = true
		cfg.tags[prefix] = tag
	}
	return cfg, nil
}

// variantKeySecretEnv holds the variant key secret itself, where no
// -variant-key-secret-file is given.
const variantKeySecretEnv = "PROXY_VARIANT_KEY_SECRET"

// readVariantKeySecret returns the proxy's Options.VariantKeySecret: the
// contents of file, less a trailing newline (echo and most editors add
// one), else $PROXY_VARIANT_KEY_SECRET; nil when neither is given. Giving
// both, a secret shorter than 32 bytes, or a file others could read (see
// readSecretFile), is an error.
//
// The cache names the Vary variants of a field other than content
// negotiation's (Cookie, Authorization, an API key's field: a credential)
// by a hash of its value, in the backend's keys and Vary records. Without
// a secret it is a SHA-256, and whoever reads the backend (a Redis
// replica, a dump, MONITOR) can test guesses of those credentials offline
// (a weak Basic password, a short session id); with one it is an HMAC
// under it. Proxies sharing a backend must share the secret: with
// different ones (or a random one each) they never share those variants,
// and each stores its own. The key of token reads' marks is derived from
// it too (tokenMarkKey). Keep it as a credential is.
func readVariantKeySecret(file string, getenv func(string) string) ([]byte, error) {
	env := getenv(variantKeySecretEnv)
	var secret []byte
	switch {
	case file != "" && env != "":
		return nil, fmt.Errorf("proxy: give -variant-key-secret-file or $%s, not both", variantKeySecretEnv)
	case file != "":
		b, err := readSecretFile(file)
		if err != nil {
			return nil, err
		}
		b = bytes.TrimSuffix(b, []byte("\n"))
		secret = bytes.TrimSuffix(b, []byte("\r"))
	case env != "":
		secret = []byte(env)
	default:
		return nil, nil
	}
	if len(secret) < 32 {
		return nil, fmt.Errorf("proxy: the variant key secret is %d bytes; want at least 32 random ones (openssl rand -base64 48)", len(secret))
	}
	return secret, nil
}

// isToken reports whether s is a token (RFC 9110 section 5.6.2), as a
// field name is.
func isToken(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
	})
}

// checkTagPrefix returns an error unless prefix, which begins with "/", is
// a path as a client spells one: clean (no "//", "." or ".." segments, which
// clients resolve before sending), without spaces or control characters,
// '{' or '}' (kept out so that a prefix never reads as a ServeMux pattern's
// wildcard to a reader), '%' (the prefix is compared with the decoded path:
// write the path itself), '?' or '#' (never in a request's path).
func checkTagPrefix(prefix string) error {
	clean := path.Clean(prefix)
	if strings.HasSuffix(prefix, "/") && clean != "/" {
		clean += "/"
	}
	if clean != prefix || strings.ContainsFunc(prefix, func(r rune) bool {
		return r <= ' ' || r == 0x7f || strings.ContainsRune("{}%?#", r)
	}) {
		return fmt.Errorf("proxy: -tag: prefix %q: want a clean path without spaces, control characters or any of {}%%?#", prefix)
	}
	return nil
}

// newProxy returns the caching proxy and the invalidation API over c.
func newProxy(cfg config, c *caching.Cache, log *slog.Logger) (proxy, admin http.Handler, err error) {
	u, err := url.Parse(cfg.origin)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, nil, fmt.Errorf("proxy: -origin %q is not an absolute URL", cfg.origin)
	}
	rp := &httputil.ReverseProxy{
		Rewrite:        rewrite(u, cfg.dropHeaders),
		Transport:      originTransport(cfg.timeouts.origin),
		ModifyResponse: tokenPrivate(markAnonymous(defaultFreshness(cfg.defaultTTL, cfg.creds))),
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	opts := []caching.ViewOption{
		caching.SharedCache(),
		caching.StaleWhileRevalidate(cfg.swr),
		caching.StaleIfError(cfg.sie),
		caching.MaxBodySize(maxBody(cfg.maxBody, c.Backend(), log)),
		caching.CacheStatusHeader(statusHeader),
	}
	if !cfg.shareCookieRequests {
		opts = append(opts, caching.BypassIf(readsWithCookie))
	}
	if cfg.defaultTTL > 0 {
		opts = append(opts, caching.TargetedCacheControl(defaultField))
	}
	var routes []route
	if _, ok := cfg.tags["/"]; !ok { // the untagged rest
		routes = append(routes, route{prefix: "/", h: c.Cached(cfg.ttl, opts...)(rp)})
	}
	for prefix, tag := range cfg.tags {
		withTag := append(opts[:len(opts):len(opts)], caching.Tags(tag))
		routes = append(routes, route{prefix: prefix, h: c.Cached(cfg.ttl, withTag...)(rp)})
	}
	// A read with a credential that the cache would answer with a stored
	// response that may not answer it (see credentialHits) goes past it.
	pass := c.Cached(cfg.ttl, caching.SharedCache(), caching.CacheStatusHeader(statusHeader),
		caching.BypassIf(func(context.Context, *http.Request) bool { return true }))(rp)
	proxy = dropResponseFields(tokenReads(byPrefix(routes), pass, cfg.creds), defaultField, anonymousField)
	return withSendTimeout(proxy, cfg.timeouts.send), adminAPI(c), nil
}

// statusHeader tells what the proxy's cache did (HIT, MISS, STALE,
// BYPASS). It is not X-Cache, which origins (examples/catalog among them)
// send for their own cache: the proxy's would replace theirs.
const statusHeader = "X-Proxy-Cache"

// forwardingHeaders are the request fields, beside every X-Forwarded-* and
// X-Original-* (see forwardingPrefixes), that frameworks and servers behind
// a trusted proxy read as the public URL or scheme, the client's address
// or the method: RFC 7239's Forwarded; X-Forwarded, X-Scheme (Tornado),
// X-Url-Scheme, Front-End-Https and X-ARR-SSL (IIS and Microsoft front
// ends), Cf-Visitor; X-Original-URL and X-Rewrite-URL (IIS, Symfony, Zend
// route by them), X-Host; X-Script-Name and Script-Name (the mount
// path: Flask's ReverseProxied recipe and Gunicorn, which reads a
// SCRIPT_NAME header, prefix every link and redirect with it); X-Real-IP, X-Client-IP, Client-IP (Rails),
// X-Cluster-Client-IP, X-ProxyUser-IP, CF-Connecting-IP, Fastly-Client-IP,
// True-Client-IP, Proxy-Client-IP and WL-Proxy-Client-IP (WebLogic); and
// X-HTTP-Method-Override, X-HTTP-Method and X-Method-Override (Symfony,
// Laravel, Express's method-override, for a POST). None is in the cache's
// key, so a client's own would make the origin answer differently for one
// request, and that answer would be stored for everyone: rewrite drops
// them, and those -drop-request-headers names.
var forwardingHeaders = []string{
	"Forwarded", "X-Forwarded", "X-Scheme", "X-Url-Scheme", "Front-End-Https", "X-Arr-Ssl",
	"Cf-Visitor", "X-Rewrite-Url", "X-Host", "X-Script-Name", "Script-Name",
	"X-Real-Ip", "X-Client-Ip", "Client-Ip", "X-Cluster-Client-Ip", "X-Proxyuser-Ip",
	"Cf-Connecting-Ip", "Fastly-Client-Ip", "True-Client-Ip", "Proxy-Client-Ip", "Wl-Proxy-Client-Ip",
	"X-Http-Method-Override", "X-Http-Method", "X-Method-Override",
}

// forwardingPrefixes name families of forwarding fields: X-Forwarded-For,
// -Host, -Proto, -Prefix, -Port, -Server, -Ssl, -Scheme, -Uri...; and
// X-Original-URL, -URI, -Host, -Forwarded-For, -Proto, -Method...
var forwardingPrefixes = []string{"X-Forwarded-", "X-Original-"}

// rewrite sends every request to origin with only the forwarding fields
// the proxy sets itself (Forwarded and X-Forwarded-For/-Host/-Proto, from
// the client's address and request), never those a client sent (see
// forwardingHeaders), nor any field drop names (canonical names).
func rewrite(origin *url.URL, drop []string) func(*httputil.ProxyRequest) {
	return func(pr *httputil.ProxyRequest) {
		for name := range pr.Out.Header {
			// CGI-style origins (PHP, WSGI, Rack) read "X_Forwarded_Prefix" as
			// X-Forwarded-Prefix: compare with '_' as '-'.
			norm := http.CanonicalHeaderKey(strings.ReplaceAll(name, "_", "-"))
			if slices.ContainsFunc(forwardingPrefixes, func(p string) bool { return strings.HasPrefix(norm, p) }) ||
				slices.Contains(forwardingHeaders, norm) || slices.Contains(drop, norm) {
				delete(pr.Out.Header, name)
			}
		}
		if asked, ok := pr.In.Context().Value(originAsked{}).(*atomic.Bool); ok {
			asked.Store(true)
		}
		if isTokenMark(pr.Out.Header["Authorization"]) {
			delete(pr.Out.Header, "Authorization") // tokenReads', never the client's
			if auth, ok := pr.In.Context().Value(clientAuthorization{}).([]string); ok {
				pr.Out.Header["Authorization"] = auth // the client's own, which the mark hid
			}
		}
		if h2cUpgrade(pr.Out.Header) {
			// ReverseProxy passes an upgrade on, and tunnels the client to
			// an origin that answers 101: see h2cUpgrade.
			for _, name := range []string{"Connection", "Upgrade", "Http2-Settings"} {
				delete(pr.Out.Header, name)
			}
		}
		pr.SetURL(origin)
		pr.SetXForwarded()
		pr.Out.Header.Set("Forwarded", forwarded(pr.In))
	}
}

// h2cUpgrade reports whether h asks to upgrade to h2c (HTTP/2 over
// cleartext), which rewrite never passes on: the request goes to the
// origin as the plain HTTP/1.1 request the cache took it for. An origin
// that speaks h2c (golang.org/x/net/http2/h2c, Envoy) would answer 101,
// and httputil.ReverseProxy would then tunnel the client's connection to
// it, so that every request the client sent down it reached the origin
// past rewrite (with the X-Forwarded-For or X-Original-URL it forged) and
// past the cache: h2c smuggling. A WebSocket upgrade still goes through;
// its tunnel carries frames, not requests.
func h2cUpgrade(h http.Header) bool {
	for _, line := range h["Upgrade"] {
		for e := range strings.SplitSeq(line, ",") {
			if strings.EqualFold(strings.TrimSpace(e), "h2c") {
				return true
			}
		}
	}
	return false
}

// forwarded returns the Forwarded field (RFC 7239) describing in as the
// proxy received it: for= the client's address (an IPv6 one bracketed and
// quoted; left out when RemoteAddr is not host:port), host= its Host and
// proto= http or https, as X-Forwarded-For, -Host and -Proto say.
func forwarded(in *http.Request) string {
	var b strings.Builder
	if ip, _, err := net.SplitHostPort(in.RemoteAddr); err == nil {
		if strings.Contains(ip, ":") {
			ip = "[" + ip + "]"
		}
		b.WriteString("for=" + forwardedValue(ip) + ";")
	}
	proto := "http"
	if in.TLS != nil {
		proto = "https"
	}
	b.WriteString("host=" + forwardedValue(in.Host) + ";proto=" + proto)
	return b.String()
}

// forwardedValue returns v as a token when it is one, else as a
// quoted-string (RFC 7239 section 4; RFC 9110 section 5.6.4).
func forwardedValue(v string) string {
	if isToken(v) {
		return v
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// originTransport is http.DefaultTransport with bounds on how long the
// origin may take to accept a connection and to answer, so that a hung
// origin holds no client and no connection forever. The body is not
// bounded: a stream may last.
func originTransport(responseHeader time.Duration) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.ResponseHeaderTimeout = responseHeader
	return t
}

// defaultField is the targeted cache-control field (RFC 9213) the proxy's
// cache follows when -default-ttl is given, in place of CDN-Cache-Control:
// the proxy's own, never sent to the origin's clients (see dropResponseFields).
// defaultFreshness fills it from the origin's response.
const defaultField = "X-Proxy-Cache-Control"

// defaultFreshness returns a ModifyResponse that sets defaultField, the
// field the proxy's cache reads before Cache-Control, on every response of
// the origin:
//   - a copy of its CDN-Cache-Control when it has one, which this cache
//     then follows as it would follow CDN-Cache-Control itself;
//   - else, when it has Cache-Control or Expires, an empty value, which the
//     cache ignores (an empty targeted field is no field): it follows them;
//   - else, for a GET response of a status that nginx's
//     proxy_cache_valid stores by default (200, 301) or another non-error
//     one RFC 9110 section 15.1 makes cacheable by default,
//     "max-age=<ttl>", as proxy_cache_valid gives.
//
// A 304 or HEAD response that freshens a stored one replaces its fields,
// this one included (RFC 9111 sections 4.3.4 and 4.3.5): when the origin's
// 304 or HEAD says Cache-Control: private, no-store or an Expires, the
// stored default goes, and the origin's word applies; one that says nothing
// of freshness keeps the stored field, the default or the empty one. So
// neither is given the default: a HEAD 200 is never stored, and its default
// would replace the stored empty field, turning the origin's no-cache page
// into -default-ttl of hits unvalidated after any client's HEAD. The default lives in a field of its own rather than in
// CDN-Cache-Control, which a 304 without one would leave in place, and which
// a CDN in front of the proxy reads: no cache below or above is told
// anything the origin did not say. The cost: after a 304 with Cache-Control
// or Expires and no CDN-Cache-Control, the cache follows Cache-Control even
// where the stored response had the origin's CDN-Cache-Control (RFC 9110
// section 15.4.5 has a 304 carry the fields its 200 would; most origins'
// 304 carry it). ttl 0: the origin's own defaultField is dropped, and
// nothing else done: the cache then follows CDN-Cache-Control, but
// tokenPrivate, markAnonymous and credentialHits would read an origin's
// defaultField first (see freshnessFields), its "public" sharing a page
// the cache stores by its Cache-Control's must-revalidate.
func defaultFreshness(ttl time.Duration, cr credentials) func(*http.Response) error {
	if ttl <= 0 {
		return func(res *http.Response) error {
			delete(res.Header, defaultField)
			return nil
		}
	}
	value := fmt.Sprintf("max-age=%d", int64(ttl.Seconds()))
	return func(res *http.Response) error {
		h := res.Header
		delete(h, defaultField) // the origin's own is no default
		// Any line of these fields, even an empty one before the rest: Get
		// reads the first line only, and a "Cache-Control: private" after
		// an empty line would be overridden by the default.
		switch {
		case has(h, "CDN-Cache-Control"):
			h[defaultField] = slices.Clone(h.Values("CDN-Cache-Control"))
		case has(h, "Cache-Control") || has(h, "Expires"):
			h[defaultField] = []string{""}
		case defaultCacheable(res, cr):
			h[defaultField] = []string{value}
		}
		return nil
	}
}

// defaultCacheable reports whether a response without freshness of its own
// gets -default-ttl: one to a GET (not a HEAD: see defaultFreshness), of
// status 200, 203, 204, 300, 301 or 308, to a request without a field
// that carries a credential (see credentials.field): Cookie, Authorization,
// an API's own token field or an -identity-fields one, nor a token
// parameter in its query (-token-params). -share-cookie-requests stores what the
// origin marks shareable for a request with a Cookie; an origin that said
// nothing of a page made for a signed-in user did not mark it so, and the
// default would have served that user's page to everyone.
func defaultCacheable(res *http.Response, cr credentials) bool {
	switch res.StatusCode {
	case http.StatusOK, http.StatusNonAuthoritativeInfo, http.StatusNoContent,
		http.StatusMultipleChoices, http.StatusMovedPermanently, http.StatusPermanentRedirect:
	default:
		return false
	}
	if res.Request.Method != http.MethodGet {
		return false
	}
	for name := range res.Request.Header {
		if cr.field(name) {
			return false
		}
	}
	return !isTokenRead(res.Request)
}

// credentialWords are the words whose presence in a request field's name
// marks it as carrying a credential, whatever its case: Cookie,
// Authorization, and the token fields of APIs that sign clients in
// without them (X-Api-Key, Api-Key, X-Auth-Token, X-Access-Token,
// X-Session-Token, X-Csrf-Token, X-Amz-Security-Token, GitLab's
// Private-Token...), which a single-page app sends on every GET. A JSON
// API seldom sends Cache-Control: with the default, one signed-in client's
// /api/me was stored under the URL and served to the next client, token or
// none (web cache deception). And the identity fields a front end that
// authenticates clients adds for the origin, where the client sends no
// other credential (its TLS certificate, or a session the front end
// keeps): nginx's and HAProxy's X-Ssl-Client-Cert, X-Ssl-Client-S-Dn,
// X-Client-Dn, X-Client-Verify; IIS's X-Arr-ClientCert; AWS ALB's
// X-Amzn-Mtls-Clientcert and X-Amzn-Oidc-Identity; Azure App Service's
// X-Ms-Client-Principal-Name; a forward-auth gateway's Remote-User. A
// field named so by chance only loses the default and is a token read:
// the origin's own public or s-maxage still shares its response.
var credentialWords = []string{
	"cookie", "auth", "token", "key", "session", "secret", "passw", "credential", "jwt",
	"cert", "ssl-client", "client-dn", "client-verify", "principal", "oidc", "remote-user",
}

// notCredentials are request fields whose names hold one of
// credentialWords by chance and which carry no credential, lower-case:
// WebSocket's handshake nonce, and the identifier of a request's retries
// (IETF's Idempotency-Key, and the X- form Stripe and others read). As any
// other field outside the key, the origin must name them in Vary if it
// answers by them.
var notCredentials = []string{"sec-websocket-key", "idempotency-key", "x-idempotency-key"}

// credentialField reports whether the request field name holds one of
// credentialWords and is not one of notCredentials, whatever its case and
// with '_' for '-' (SSL_CLIENT_S_DN, which a CGI-style origin reads as
// Ssl-Client-S-Dn).
func credentialField(name string) bool {
	name = strings.ReplaceAll(strings.ToLower(name), "_", "-")
	return slices.ContainsFunc(credentialWords, func(w string) bool { return strings.Contains(name, w) }) &&
		!slices.Contains(notCredentials, name)
}

// dropResponseFields returns h, its responses sent without the fields
// names (canonical names), which the cache inside it reads and stores:
// the proxy's own, for no client; nor trailers of those names, announced
// in Trailer (httputil.ReverseProxy passes an origin's on) or set with
// http.TrailerPrefix once the body was written. It keeps the optional
// interfaces a ResponseController finds (Flush, Hijack...) through Unwrap.
func dropResponseFields(h http.Handler, names ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fd := &fieldDropper{ResponseWriter: w, names: names}
		h.ServeHTTP(fd, r)
		fd.drop() // trailers, which the server sends once h returned
	})
}

// fieldDropper deletes fields from the header before it is written, and
// from its trailers.
type fieldDropper struct {
	http.ResponseWriter
	names   []string
	checked bool // Trailer was read: it is sent with the header, read once
}

// drop deletes the fields, their trailers, and their names from Trailer.
func (w *fieldDropper) drop() {
	h := w.Header()
	for _, name := range w.names {
		delete(h, name)
		delete(h, http.TrailerPrefix+name)
	}
	if w.checked || len(h["Trailer"]) == 0 {
		return
	}
	w.checked = true
	var kept []string
	removed := false
	for _, line := range h["Trailer"] {
		for name := range strings.SplitSeq(line, ",") {
			if name = strings.TrimSpace(name); slices.Contains(w.names, http.CanonicalHeaderKey(name)) {
				removed = true
			} else if name != "" {
				kept = append(kept, name)
			}
		}
	}
	switch {
	case !removed:
	case len(kept) == 0:
		delete(h, "Trailer")
	default:
		h["Trailer"] = []string{strings.Join(kept, ", ")}
	}
}

func (w *fieldDropper) WriteHeader(code int) {
	w.drop()
	w.ResponseWriter.WriteHeader(code)
}

func (w *fieldDropper) Write(p []byte) (int, error) {
	w.drop()
	return w.ResponseWriter.Write(p)
}

// Flush is http.Flusher's, so that streamed responses keep streaming.
func (w *fieldDropper) Flush() {
	w.drop()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the connection's writer.
func (w *fieldDropper) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var _ http.Flusher = (*fieldDropper)(nil)

// readsWithCookie reports whether r reads a page (GET, HEAD) with a Cookie.
// Such requests bypass the cache unless -share-cookie-requests: an origin
// that answers a logged-in user's page with max-age, without private or
// Vary: Cookie, has it served to everyone otherwise (RFC 9111 allows
// storing it; Varnish's default does not). Writes with a Cookie go through
// the cache, which drops the path they change.
//
// Any Cookie line counts, an empty one too: the origin reads every line, and
// Get only the first, so "Cookie:" then "Cookie: session=..." would pass.
func readsWithCookie(_ context.Context, r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && has(r.Header, "Cookie")
}

// tokenMark begins the Authorization tokenReads gives a read whose
// credential is in a field of its own (see tokenMarkOf). rewrite never
// sends one on (nor a client's own Authorization that begins so, which the
// client loses: see isTokenMark).
const tokenMark = "caching-proxy; credential in another field"

// tokenMarkKey returns the key of the hash in tokenMarkOf's marks, which
// no client may compute another's mark without, for a variant key secret:
// an HMAC-SHA256 of a label of its own under it, so that proxies sharing
// a backend and the secret give a token user one mark, and share that
// user's Authorization variants; nil without one (tokenMarkOf then keys
// by processMarkKey, this process's alone). The secret itself is not the
// key: a mark's variant is named in the backend by an HMAC under the
// secret of the mark, and the two hashes are kept apart.
func tokenMarkKey(variantKeySecret []byte) []byte {
	if variantKeySecret == nil {
		return nil
	}
	mac := hmac.New(sha256.New, variantKeySecret)
	mac.Write([]byte("caching-proxy token mark key"))
	return mac.Sum(nil)
}

// tokenMarkOf returns the Authorization tokenReads gives a read with the
// token fields of h (see credentials.tokenField): tokenMark, then an HMAC-SHA256 under
// cr.markKey (see tokenMarkKey) of those fields' names and values, and of h's own
// Authorization if any, whatever their order.
// An origin that answers "public" with "Vary: Authorization" (the
// RFC's way to share a response among the requests of one credential)
// then has its response stored per user: with one mark for all, every
// token user shared the first one's variant, and got that user's data.
// Without a variant key secret, two processes, or one after a restart,
// give a user different marks: their variants are not shared, which costs
// runs, never a wrong answer.
func tokenMarkOf(h http.Header, cr credentials) string {
	names := make([]string, 0, 2)
	for name := range h {
		if cr.tokenFieldName(name) || name == "Authorization" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	key := cr.markKey
	if key == nil {
		key = processMarkKey
	}
	mac := hmac.New(sha256.New, key)
	var b []byte
	for _, name := range names {
		// Each string after its length: no two sets of fields read the same.
		b = binary.AppendUvarint(b[:0], uint64(len(name)))
		b = append(b, name...)
		b = binary.AppendUvarint(b, uint64(len(h[name])))
		for _, v := range h[name] {
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		}
		mac.Write(b)
	}
	return tokenMark + "; " + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// isTokenMark reports whether the Authorization lines are one mark of
// tokenReads' (or a client's that looks like one): rewrite removes them.
func isTokenMark(lines []string) bool {
	return len(lines) == 1 && strings.HasPrefix(lines[0], tokenMark)
}

// tokenReads returns h, to which a read (GET, HEAD) that carries a
// credential in a field of its own (an API's X-Api-Key, X-Auth-Token,
// Private-Token, an -identity-fields one: see credentials.tokenField) or
// in its query (?access_token=, ?api_key=: see -token-params) comes with
// Authorization: tokenMarkOf its token fields (the query is in the key
// already), so that the cache treats it as it treats a request with
// Authorization (RFC 9111 section 3.5), each credential apart where the
// origin says Vary: Authorization. A client's own Authorization beside
// them (a gateway's, the same for every user) is hashed into the mark,
// and given back to the origin in its place (rewrite, from the request's
// context: see clientAuthorization): keyed by it alone, every user behind
// the gateway got the first one's variant. Its response is
// stored only when the origin says public or s-maxage (tokenPrivate); it
// is answered only with a stored response that says so, and never with
// another client's run; it starts no background refresh. Without it, a
// signed-in client's /api/me that the origin sent with max-age, without
// private or Vary, was stored under the URL and served to the next client,
// token or none (web cache deception); and the anonymous page another
// client stored answered the signed-in one. The origin never sees the
// mark: rewrite removes it, and a client's own mark goes before the
// cache sees the request.
//
// Every read with Authorization then (the mark, or a client's own without
// a token field) goes to h through credentialHits: never answered from the
// cache with a response made for a read without a credential that says
// neither public nor s-maxage, but by pass, which must store nothing. Reads of one credential share no
// run either: the cache joins runs by URL alone without UserKey, and a
// token read's response is private unless public or s-maxage, which no
// other read may reuse, of the same credential or not (it may differ in a
// field the origin varies on, which Vary tells only once the response
// came).
func tokenReads(h, pass http.Handler, cr credentials) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.ServeHTTP(w, r)
			return
		}
		// A client's own mark (see isTokenMark), which rewrite would drop
		// anyway, is dropped before the cache reads it too: it would
		// select the variant of the token user it names.
		forged := isTokenMark(r.Header["Authorization"])
		token := cr.tokenRead(r)
		if forged || token {
			r = r.Clone(r.Context())
			if forged {
				delete(r.Header, "Authorization")
			}
			if token {
				ctx := context.WithValue(r.Context(), tokenRead{}, true)
				if auth := r.Header["Authorization"]; len(auth) > 0 {
					ctx = context.WithValue(ctx, clientAuthorization{}, auth)
				}
				r = r.WithContext(ctx)
				r.Header["Authorization"] = []string{tokenMarkOf(r.Header, cr)}
			}
		}
		if len(r.Header["Authorization"]) > 0 {
			credentialHits(w, r, h, pass, token)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// credentialHits serves r, a read with Authorization (tokenReads' mark
// or a client's own), with h, unless h answers it with a stored response
// whose freshness field (see freshnessFields) says neither public nor
// s-maxage, a HIT the origin was not asked for, or a STALE one, that
// the origin made for a read without a credential (markAnonymous), or
// any such response when r is a token read (token), or any 304 (see
// decide): that answer is dropped unsent and pass serves r from the
// origin. A HIT the
// origin validated for r (a 304 to r's own run, which rewrite marks in
// r's context: see originAsked) is the origin's answer to r's credential,
// and is served. The cache lets must-revalidate answer such a read too
// (RFC 9111 section 3.5 lets a shared cache store a response to
// Authorization that says so), whoever's request stored it; but an
// anonymous page an origin sent "max-age=60, must-revalidate" without
// Vary was made for no signed-in user, and was served to every token
// user and every user with an Authorization, for whom the origin makes
// pages of their own. One the origin made for a request with
// Authorization and said must-revalidate answers a read with
// Authorization: the origin said it may be shared, knowing of the
// credential. It answers no token read: the origin made it for no token
// (an attacker's "Authorization: x" may have had it store its anonymous
// page), and a response to a token read says public or s-maxage when
// stored (tokenPrivate). The cache counts the dropped answer as a hit in
// its statistics.
func credentialHits(w http.ResponseWriter, r *http.Request, h, pass http.Handler, token bool) {
	before := w.Header().Clone()
	g := &hitGuard{ResponseWriter: w, token: token}
	r = r.WithContext(context.WithValue(r.Context(), originAsked{}, &g.asked))
	h.ServeHTTP(g, r)
	if !g.refused {
		return
	}
	clear(w.Header())
	maps.Copy(w.Header(), before)
	pass.ServeHTTP(w, r)
}

// hitGuard passes a response on unless it is a stored one that may not
// answer a read with a credential (see credentialHits): refused, it
// sends nothing and drops what is written.
type hitGuard struct {
	http.ResponseWriter
	token            bool // a token read: only public or s-maxage answers it
	decided, refused bool
	asked            atomic.Bool // rewrite sent r's run to the origin
}

// originAsked is the context key under which credentialHits keeps where
// rewrite tells that it sent the request to the origin (an *atomic.Bool).
// Only credentialHits sets it: no client can.
type originAsked struct{}

// decide decides, once the header of a response of this status is final,
// whether the response is refused. A 304 the cache answers from a stored
// response is refused whatever it says: it carries a few of the stored
// fields only (Cache-Control, never anonymousField, CDN-Cache-Control or
// defaultField, which the cache follows before Cache-Control), so that an
// anonymous page whose Cache-Control says public for browsers, and whose
// CDN-Cache-Control says neither public nor s-maxage, vouched with it for
// the anonymous page a signed-in user's browser kept. The origin answers
// the client's validators itself.
func (g *hitGuard) decide(code int) {
	if g.decided {
		return
	}
	g.decided = true
	h := g.Header()
	switch h.Get(statusHeader) {
	case "HIT":
		if g.asked.Load() {
			return
		}
		fallthrough
	case "STALE":
		g.refused = code == http.StatusNotModified ||
			(g.token || has(h, anonymousField)) && !shares(h)
	}
}

func (g *hitGuard) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		g.ResponseWriter.WriteHeader(code) // informational: the origin's, never a hit
		return
	}
	if g.decide(code); !g.refused {
		g.ResponseWriter.WriteHeader(code)
	}
}

func (g *hitGuard) Write(p []byte) (int, error) {
	if g.decide(http.StatusOK); g.refused {
		return len(p), nil
	}
	return g.ResponseWriter.Write(p)
}

// Flush is http.Flusher's, so that streamed responses keep streaming.
func (g *hitGuard) Flush() {
	if g.decide(http.StatusOK); !g.refused {
		_ = http.NewResponseController(g.ResponseWriter).Flush()
	}
}

// Unwrap gives http.ResponseController the connection's writer.
func (g *hitGuard) Unwrap() http.ResponseWriter { return g.ResponseWriter }

var _ http.Flusher = (*hitGuard)(nil)

// tokenRead is the context key under which tokenReads tells that a read
// is a token read (true), for the ModifyResponse functions (tokenPrivate,
// markAnonymous, defaultCacheable), whose res.Request is the request sent
// to the origin: its query holds -origin's own (?key=, the proxy's key for
// the origin, made every read a token read) and lacks what ReverseProxy
// drops. Only tokenReads sets it: no client can.
type tokenRead struct{}

// isTokenRead reports whether tokenReads found r, or the request r was
// made from, a token read.
func isTokenRead(r *http.Request) bool {
	v, _ := r.Context().Value(tokenRead{}).(bool)
	return v
}

// clientAuthorization is the context key under which tokenReads keeps the
// Authorization lines of a client's token read, which its mark replaces
// for the cache, for rewrite to send them to the origin. Only tokenReads
// sets it: no client can.
type clientAuthorization struct{}

// tokenPrivate returns a ModifyResponse that runs next (nil: none) and then
// adds private to the response to a read (GET, HEAD) whose credential is
// in a field of its own (tokenReads' reads), with or without an
// Authorization beside it, a 304 too,
// when its freshness field (the proxy's default field, CDN-Cache-Control,
// else Cache-Control) says neither public nor s-maxage. The cache treats
// such a read as one with Authorization (RFC 9111 section 3.5), which lets
// must-revalidate share the response too: an origin that sees
// Authorization and says must-revalidate means it, but this origin saw
// none (rewrite removes tokenReads' mark), or one that does not tell its
// users apart (a gateway's, beside their token fields), and frameworks
// send "max-age=60, must-revalidate" on a signed-in user's own data, which
// was served to the next client, anonymous ones too. A 304, or the 200
// to a HEAD, that validates a stored response freshens it for everyone
// when it says must-revalidate, for the same reason: one that answered a
// token user's revalidation with "max-age=600, must-revalidate" and the
// user's own fields (an X-Account, rate limits) had them merged into the
// shared page. Made private, it answers its own read only, and the
// stored page stays as it was (the cache neither freshens nor drops an
// entry for a private answer to a request with Authorization).
func tokenPrivate(next func(*http.Response) error) func(*http.Response) error {
	return func(res *http.Response) error {
		if next != nil {
			if err := next(res); err != nil {
				return err
			}
		}
		req, h := res.Request, res.Header
		if req.Method != http.MethodGet && req.Method != http.MethodHead || !isTokenRead(req) {
			return nil
		}
		fields := freshnessFields(h)
		if sharesWithAuthorization(h, fields[0]) {
			return nil
		}
		for _, name := range fields {
			if has(h, name) || name == "Cache-Control" {
				h[name] = append(h[name], "private")
			}
		}
		return nil
	}
}

// anonymousField marks a response the origin made for a read (GET, HEAD)
// with no credential, neither Authorization nor a token field, whose
// freshness field says neither public nor s-maxage (markAnonymous): stored
// with it, and sent to no client (see dropResponseFields), it keeps it
// from answering a read with a credential (credentialHits).
const anonymousField = "X-Proxy-Anonymous"

// markAnonymous returns a ModifyResponse that runs next (nil: none) and
// then gives anonymousField to the response (a 304 too) to a read without
// Authorization or a token field that says neither public nor s-maxage; an
// origin's own anonymousField is dropped. A 304 or HEAD that freshens a
// stored response merges the mark into it, which only keeps it from more
// reads.
func markAnonymous(next func(*http.Response) error) func(*http.Response) error {
	return func(res *http.Response) error {
		if next != nil {
			if err := next(res); err != nil {
				return err
			}
		}
		req, h := res.Request, res.Header
		delete(h, anonymousField)
		// Not a 101, which ReverseProxy writes past dropResponseFields.
		if res.StatusCode >= 200 && (req.Method == http.MethodGet || req.Method == http.MethodHead) && !has(req.Header, "Authorization") &&
			!isTokenRead(req) && !shares(h) {
			h[anonymousField] = []string{"1"}
		}
		return nil
	}
}

// freshnessFields returns the cache-control fields of the response header
// h, the one the cache follows first, then the others h holds
// (Cache-Control always). The cache follows a targeted field only when it
// is a valid Structured Field dictionary with a member (see
// targetedDirectives), as the library does (RFC 9213 section 2.2): the
// proxy's default field when h has one (the cache's targeted field with
// -default-ttl, which drops every other response's), else
// CDN-Cache-Control; else, and whenever that field is invalid or empty,
// Cache-Control. Read by presence, an invalid "CDN-Cache-Control: public,"
// beside "Cache-Control: max-age=60, must-revalidate" had the proxy decide
// on public while the cache stored by must-revalidate.
func freshnessFields(h http.Header) []string {
	followed := "Cache-Control"
	if has(h, defaultField) {
		if _, ok := targetedDirectives(h.Values(defaultField)); ok {
			followed = defaultField
		}
	} else if _, ok := targetedDirectives(h.Values("CDN-Cache-Control")); ok {
		followed = "CDN-Cache-Control"
	}
	fields := []string{followed}
	for _, name := range []string{defaultField, "CDN-Cache-Control", "Cache-Control"} {
		if name != followed && (has(h, name) || name == "Cache-Control") {
			fields = append(fields, name)
		}
	}
	return fields
}

// shares reports whether the field the cache follows for the response
// header h (freshnessFields' first) says public or s-maxage.
func shares(h http.Header) bool {
	return sharesWithAuthorization(h, freshnessFields(h)[0])
}

// sharesWithAuthorization reports whether the cache-control field name of
// h says public or s-maxage, read as the cache reads it: a targeted field
// as a dictionary whose public counts when true (public, public=?1; not
// public=?0) and its last (public, public=?0 says no public), Cache-Control as a list whose quoted-strings hold no
// directive (`community="UCI,public"` says no public). Split on every
// comma, a quoted value shared a user's response the cache kept private.
func sharesWithAuthorization(h http.Header, name string) bool {
	if name != "Cache-Control" {
		ds, _ := targetedDirectives(h.Values(name))
		public := false
		for _, d := range ds {
			switch d.name {
			case "s-maxage": // any value: the cache reads an odd one as 0
				return true
			case "public": // the last one: a dictionary's member given twice takes its last value
				public = d.value == "?1"
			}
		}
		return public
	}
	return slices.ContainsFunc(ccDirectives(h.Values(name)), func(d directive) bool {
		return equalLower(d.name, "public") || equalLower(d.name, "s-maxage")
	})
}

// has reports whether h holds any line of the field name, empty or not.
func has(h http.Header, name string) bool { return len(h.Values(name)) > 0 }

// maxBody returns the largest body the proxy stores: flag, or, when the
// flag was not given (0), what the backend can hold (the backend's largest
// value less room for the key and the stored header), at most
// defaultMaxBody. A flag over what the backend holds is logged: such bodies
// are never stored, and every request for them reaches the origin.
func maxBody(flag int, b any, log *slog.Logger) int {
	const room = 64 << 10 // the key, the stored header and the entry's framing
	limit := 0            // unknown
	if s, ok := b.(interface{ MaxValueSize() int64 }); ok && s.MaxValueSize() > 2*room {
		limit = int(min(s.MaxValueSize()-room, 1<<30))
	}
	switch {
	case flag == 0 && limit > 0:
		return min(defaultMaxBody, limit)
	case flag == 0:
		return defaultMaxBody
	case limit > 0 && flag > limit:
		log.Warn("proxy: -max-body exceeds what the cache backend holds: bodies over its limit are never stored", "max_body", flag, "backend_limit", limit)
	}
	return flag
}

// route is a handler for the paths under a -tag prefix.
type route struct {
	prefix string
	h      http.Handler
}

// byPrefix returns a handler that passes each request, its path as it
// came, to the route of the longest prefix matching it: prefix "/a" and
// "/a/" both match "/a" and every path under "/a/". Unlike ServeMux it
// answers nothing itself (no redirect of "/a" to "/a/", nor of an
// uncleaned path): the origin sees every request. The prefixes are
// matched against the path cleaned (path.Clean: "//api/x", "/./api/x" and
// "/x/../api/x" are under "/api/"), as origins that merge slashes and
// resolve dot segments (nginx, most routers) read it: matched as it came,
// such a path was stored untagged, and an invalidation of its prefix's tag
// left the origin's page in the cache under it. (The path is the decoded
// one already: "/%61pi/x" is "/api/x".)
func byPrefix(routes []route) http.Handler {
	slices.SortFunc(routes, func(a, b route) int {
		return len(strings.TrimSuffix(b.prefix, "/")) - len(strings.TrimSuffix(a.prefix, "/"))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := path.Clean(r.URL.Path) // r.URL.Path itself when clean: no allocation
		for _, rt := range routes {
			if under(p, rt.prefix) {
				rt.h.ServeHTTP(w, r)
				return
			}
		}
		http.NotFound(w, r) // no route for "/": unreachable, "/" matches all
	})
}

// under reports whether path, a cleaned path (without its trailing slash),
// is prefix (without its trailing slash) or a path below it.
func under(path, prefix string) bool {
	base := strings.TrimSuffix(prefix, "/")
	return base == "" || path == base || strings.HasPrefix(path, base+"/")
}

// withSendTimeout bounds each write to a client by d (nginx's
// send_timeout): a client that stops reading loses its connection instead
// of holding it, and the origin's, forever. It bounds one write, not the
// whole response, so that streams (text/event-stream, long downloads) may
// last. d 0: h itself.
func withSendTimeout(h http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		// No deadline while the origin is asked (the previous response's,
		// on a keep-alive connection, may have passed), and one for the
		// server's last flush once the handler is done.
		_ = rc.SetWriteDeadline(time.Time{})
		h.ServeHTTP(&deadlineWriter{ResponseWriter: w, rc: rc, d: d}, r)
		_ = rc.SetWriteDeadline(time.Now().Add(d))
	})
}

// deadlineWriter sets the connection's write deadline d ahead before each
// write and flush.
type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	return w.ResponseWriter.Write(p)
}

// Flush is http.Flusher's, so that streamed responses keep streaming.
func (w *deadlineWriter) Flush() {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	_ = w.rc.Flush()
}

// Unwrap gives http.ResponseController the connection's writer.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// adminAPI answers POST /invalidate?path=...&tag=... (each may repeat). A
// path is written as in a URL, escaped or not ("/products/42",
// "/caf%C3%A9"), or is an absolute URL whose path is taken; anything else
// (no leading '/', a query or fragment, a '%' that starts no escape) is
// refused, since it would drop nothing.
func adminAPI(c *caching.Cache) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /invalidate", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		paths, tags := q["path"], q["tag"]
		if len(paths)+len(tags) == 0 {
			http.Error(w, "give path=/some/path or tag=name", http.StatusBadRequest)
			return
		}
		for i, p := range paths {
			clean, err := invalidationPath(p)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			paths[i] = clean
		}
		if err := errors.Join(c.InvalidatePath(r.Context(), paths...), c.InvalidateTags(r.Context(), tags...)); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintf(w, "invalidated %d paths, %d tags\n", len(paths), len(tags))
	})
	return mux
}

// invalidationPath returns the path Cache.InvalidatePath takes for p (the
// decoded path, "/café"): p decoded when it is a path as a URL spells it
// ("/products/42", "/caf%C3%A9"), the path of an absolute URL
// ("https://shop.example/caf%C3%A9?color=red"), or an error for anything
// that names no stored response: a path without its leading '/' or with a
// '?' or '#' (the key's path never holds them: a query's responses are all
// dropped with their path), or with a '%' that starts no escape.
func invalidationPath(p string) (string, error) {
	if u, err := url.Parse(p); err == nil && u.Scheme != "" && u.Host != "" {
		if u.Path == "" {
			return "/", nil
		}
		return u.Path, nil
	}
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?#") {
		return "", fmt.Errorf("path %q: want a path starting with / without ? or # (every query of a path is dropped with it), or an absolute URL", p)
	}
	decoded, err := url.PathUnescape(p)
	if err != nil {
		return "", fmt.Errorf("path %q: a '%%' must start an escape (%%25 for '%%' itself)", p)
	}
	return decoded, nil
}

// openCache opens the cache of -cache-url, with the variant key secret.
func openCache(cfg config, log *slog.Logger) (*caching.Cache, error) {
	opts, err := cacheurl.Options(cfg.cacheURL)
	if err != nil {
		return nil, err
	}
	opts.Logger = log
	opts.VariantKeySecret = cfg.variantKeySecret
	c, err := caching.New(opts)
	if err != nil {
		_ = opts.Backend.Close()
		return nil, err
	}
	return c, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := parseFlags(args, getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	c, err := openCache(cfg, log)
	if err != nil {
		return err
	}
	defer c.Close()
	proxy, admin, err := newProxy(cfg, c, log)
	if err != nil {
		return err
	}
	servers := []*http.Server{newServer(cfg.listen, proxy, cfg.timeouts)}
	if cfg.admin != "" {
		servers = append(servers, newServer(cfg.admin, admin, cfg.timeouts))
	}
	errs := make(chan error, len(servers))
	for _, s := range servers {
		ln, err := net.Listen("tcp", s.Addr)
		if err != nil {
			return err
		}
		log.Info("proxy: listening", "addr", ln.Addr().String(), "origin", cfg.origin, "cache", cacheurl.Redact(cfg.cacheURL))
		go func() { errs <- s.Serve(ln) }()
	}
	select {
	case err := <-errs:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(shutdown)
	}
	return nil
}

// newServer returns a server for h on addr whose clients cannot hold a
// connection longer than the timeouts allow: ReadHeaderTimeout for the
// request line and header, ReadTimeout for the request with its body,
// IdleTimeout between requests of a keep-alive connection. It has no
// WriteTimeout, which would end every response (streams, large downloads)
// at a fixed time: withSendTimeout bounds each write instead.
func newServer(addr string, h http.Handler, t timeouts) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout(t.read),
		ReadTimeout:       t.read,
		IdleTimeout:       t.idle,
	}
}

// readHeaderTimeout is 10 s, or read when shorter and not 0 (none).
func readHeaderTimeout(read time.Duration) time.Duration {
	if read > 0 && read < 10*time.Second {
		return read
	}
	return 10 * time.Second
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
