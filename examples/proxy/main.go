// Command proxy is a caching reverse proxy in front of any HTTP origin: an
// httputil.ReverseProxy wrapped in a SharedCache view, so that the origin's
// own Cache-Control, CDN-Cache-Control, Expires, Last-Modified, ETag, Age,
// stale-while-revalidate and stale-if-error decide what is kept and for how
// long, as RFC 9111 says a shared cache must.
//
//	go -C examples run ./proxy -origin http://127.0.0.1:8080            # the catalog, cached again
//	CACHE_URL=redis://127.0.0.1:6379/0 go -C examples run ./proxy -origin https://example.org
//
// Beside the proxy, an admin listener (-admin, loopback by default) takes
// invalidations: POST /invalidate?path=/products/42 drops every stored
// response of a path (every query and Vary variant), POST
// /invalidate?tag=api every response of the routes tagged api (see -tag).
// Writes through the proxy (POST, PUT, DELETE, PATCH) invalidate their path
// by themselves. See README.md beside this file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/cacheurl"
)

// config is what the flags and the environment set.
type config struct {
	listen, admin, origin, cacheURL string
	ttl, swr, sie                   time.Duration
	maxBody                         int
	tags                            map[string]string // path prefix -> tag
}

func parseFlags(args []string, getenv func(string) string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:8081", "address the proxy listens on")
	fs.StringVar(&cfg.admin, "admin", "127.0.0.1:8082", `address of the invalidation API ("" for none); keep it private`)
	fs.StringVar(&cfg.origin, "origin", "", "origin URL every request is sent to (required)")
	fs.StringVar(&cfg.cacheURL, "cache-url", getenv("CACHE_URL"), "cache backend URL (default $CACHE_URL, else simple://)")
	fs.DurationVar(&cfg.ttl, "ttl", 10*time.Minute, "the longest a response is kept fresh, and how long one with a validator is kept to revalidate")
	fs.DurationVar(&cfg.swr, "max-stale-while-revalidate", time.Minute, "upper bound of the origin's stale-while-revalidate (0: never)")
	fs.DurationVar(&cfg.sie, "max-stale-if-error", time.Hour, "upper bound of the origin's stale-if-error (0: never)")
	fs.IntVar(&cfg.maxBody, "max-body", 8<<20, "largest body stored, in bytes; larger ones pass through")
	tags := fs.String("tag", "", "tags by path prefix: /api/=api,/img/=images (the longest prefix wins; / tags the rest)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if cfg.origin == "" {
		return cfg, errors.New("proxy: -origin is required")
	}
	if cfg.cacheURL == "" {
		cfg.cacheURL = "simple://"
	}
	for name, d := range map[string]time.Duration{"-ttl": cfg.ttl, "-max-stale-while-revalidate": cfg.swr, "-max-stale-if-error": cfg.sie} {
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
	if cfg.maxBody <= 0 {
		return cfg, fmt.Errorf("proxy: -max-body %d: must be positive", cfg.maxBody)
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

// checkTagPrefix returns an error unless prefix, which begins with "/", is
// a path that ServeMux takes literally and can match: clean (no "//", "."
// or ".." segments: ServeMux redirects such requests to their clean path),
// and without spaces or control characters (a space would be read as
// separating a method), '{' or '}' (a wildcard), '%' (unescaped: write the
// path itself), '?' or '#' (never in a request's path).
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
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.SetXForwarded()
		},
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	opts := []caching.ViewOption{
		caching.SharedCache(),
		caching.StaleWhileRevalidate(cfg.swr),
		caching.StaleIfError(cfg.sie),
		caching.MaxBodySize(cfg.maxBody),
		caching.CacheStatusHeader("X-Cache"),
	}
	mux := http.NewServeMux()
	root := opts
	if tag, ok := cfg.tags["/"]; ok { // the responses no longer prefix tags
		root = append(opts[:len(opts):len(opts)], caching.Tags(tag))
	}
	mux.Handle("/", c.Cached(cfg.ttl, root...)(rp))
	for prefix, tag := range cfg.tags {
		if prefix == "/" {
			continue
		}
		pattern := prefix
		if !strings.HasSuffix(pattern, "/") {
			mux.Handle(pattern, c.Cached(cfg.ttl, append(opts, caching.Tags(tag))...)(rp))
			pattern += "/"
		}
		mux.Handle(pattern, c.Cached(cfg.ttl, append(opts, caching.Tags(tag))...)(rp))
	}
	return mux, adminAPI(c), nil
}

// adminAPI answers POST /invalidate?path=...&tag=... (each may repeat).
func adminAPI(c *caching.Cache) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /invalidate", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		paths, tags := q["path"], q["tag"]
		if len(paths)+len(tags) == 0 {
			http.Error(w, "give path=/some/path or tag=name", http.StatusBadRequest)
			return
		}
		if err := errors.Join(c.InvalidatePath(r.Context(), paths...), c.InvalidateTags(r.Context(), tags...)); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintf(w, "invalidated %d paths, %d tags\n", len(paths), len(tags))
	})
	return mux
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := parseFlags(args, getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	opts, err := cacheurl.Options(cfg.cacheURL)
	if err != nil {
		return err
	}
	opts.Logger = log
	c, err := caching.New(opts)
	if err != nil {
		_ = opts.Backend.Close()
		return err
	}
	defer c.Close()
	proxy, admin, err := newProxy(cfg, c, log)
	if err != nil {
		return err
	}
	servers := []*http.Server{{Addr: cfg.listen, Handler: proxy, ReadHeaderTimeout: 10 * time.Second}}
	if cfg.admin != "" {
		servers = append(servers, &http.Server{Addr: cfg.admin, Handler: admin, ReadHeaderTimeout: 10 * time.Second})
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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
