package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/near"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// The modes of ServeMain: which cache stands in front of PageHandler.
const (
	ModeNaive  = "naive"  // Naive, the map behind an RWMutex (the reference)
	ModeSimple = "simple" // Cached on the default in-process store (backend/simple)
	ModeRedis  = "redis"  // Cached on backend/redis
	ModeNear   = "near"   // Cached on backend/redis with a near cache (backend/near) in front
)

// ServerOptions configures one server of ours.
type ServerOptions struct {
	// Mode is ModeNaive, ModeSimple, ModeRedis or ModeNear.
	Mode string
	// Redis is the URL of the Redis server of ModeRedis and ModeNear, in
	// backend/redis's Options.URL syntax. Default DefaultRedisURL.
	Redis string
	// Prefix is the key prefix of ModeRedis and ModeNear. Default
	// "caching-e2e:".
	Prefix string
	// Lease is the Lease of the stampede route (see StampedeRoutes); 0:
	// off. Work is how long its handler works.
	Lease, Work time.Duration
}

// DefaultRedisURL is the Redis the benchmark uses unless told otherwise.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// TTL is how long every contender keeps the page: longer than any run.
const TTL = time.Hour

// NewHandler returns the cached route of opts.Mode at Path (every other path
// is 404) and a function that releases its cache.
func NewHandler(opts ServerOptions) (http.Handler, func() error, error) {
	page := PageHandler(nil)
	var (
		h       http.Handler
		release = func() error { return nil }
	)
	switch opts.Mode {
	case ModeNaive:
		h = Naive(page, StatusHeader)
	case ModeSimple, ModeRedis, ModeNear:
		var copts caching.Options
		if opts.Mode != ModeSimple {
			url, prefix := opts.Redis, opts.Prefix
			if url == "" {
				url = DefaultRedisURL
			}
			if prefix == "" {
				prefix = "caching-e2e:"
			}
			store, err := redisstore.New(redisstore.Options{URL: url, Prefix: prefix})
			if err != nil {
				return nil, nil, err
			}
			copts.Backend = store
			if opts.Mode == ModeNear {
				n, err := near.New(store, near.Options{})
				if err != nil {
					return nil, nil, err
				}
				// Serve once the watch is up, so that the warm-up fills the
				// near cache.
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err = n.WaitWatching(ctx)
				cancel()
				if err != nil {
					_ = n.Close()
					return nil, nil, fmt.Errorf("e2e: near cache: %w", err)
				}
				copts.Backend = n
			}
		}
		c, err := caching.New(&copts)
		if err != nil {
			return nil, nil, err
		}
		h = c.Cached(TTL, caching.CacheStatusHeader(StatusHeader))(page)
		release = c.Close
		mux := http.NewServeMux()
		mux.Handle("GET /products", h)
		StampedeRoutes(mux, c, opts.Lease, opts.Work)
		return mux, release, nil
	default:
		return nil, nil, fmt.Errorf("e2e: mode %q; want %s, %s, %s or %s", opts.Mode, ModeNaive, ModeSimple, ModeRedis, ModeNear)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /products", h)
	return mux, release, nil
}

// ServeMain is the server command: it parses args (-addr, -mode, -redis,
// -prefix), listens, writes "listening on http://ADDR" to stdout once the
// socket accepts connections, and serves until SIGTERM or SIGINT. It returns
// the process's exit status.
func ServeMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on (port 0: any free port)")
	var opts ServerOptions
	fs.StringVar(&opts.Mode, "mode", ModeNaive, "cache in front of the page: naive, simple, redis or near")
	fs.StringVar(&opts.Redis, "redis", DefaultRedisURL, "Redis URL of -mode redis and near")
	fs.StringVar(&opts.Prefix, "prefix", "caching-e2e:", "Redis key prefix of -mode redis and near")
	fs.DurationVar(&opts.Lease, "lease", 0, "Lease of the stampede route; 0: off")
	fs.DurationVar(&opts.Work, "work", 50*time.Millisecond, "how long the stampede route's handler works")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := serve(ctx, *addr, opts, stdout); err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, addr string, opts ServerOptions, stdout io.Writer) error {
	h, release, err := NewHandler(opts)
	if err != nil {
		return err
	}
	defer func() { _ = release() }()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "mode=%s listening on http://%s\n", opts.Mode, l.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
