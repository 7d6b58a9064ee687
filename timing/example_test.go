package timing_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	"github.com/go-caching/caching/timing"
)

func ExampleNew() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /products", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "[]")
	})
	mw, err := timing.New(timing.Options{
		Logger:     slog.Default(),
		Slow:       500 * time.Millisecond,
		SlowRoutes: map[string]time.Duration{"GET /export": 5 * time.Second},
		// Server-Timing only for a trusted client (httptest's address here):
		// RemoteAddr is host:port, and the port changes with every
		// connection. Behind a proxy, RemoteAddr is the proxy's.
		Expose: func(r *http.Request) bool {
			ap, err := netip.ParseAddrPort(r.RemoteAddr)
			return err == nil && ap.Addr() == netip.MustParseAddr("192.0.2.1")
		},
	})
	if err != nil {
		panic(err)
	}
	h := mw(mux)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/products", nil))
	fmt.Println(rec.Code, rec.Header().Get("X-Response-Time") != "", rec.Header().Get("Server-Timing") != "")
	// Output: 200 true true
}

func ExampleStart() {
	h := timing.Must(timing.Options{Expose: func(*http.Request) bool { return true }})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			defer timing.Start(ctx, "render").Stop() // nil-safe: fine without the middleware too
			timing.Add(ctx, "cache", 0, "miss")
			io.WriteString(w, "hello")
		}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(rec.Header().Get("Server-Timing")[:len("cache;desc=miss")])
	// Output: cache;desc=miss
}

func ExampleOptions_observe() {
	h := timing.Must(timing.Options{
		Observe: func(rep timing.Report) {
			// Feed your metrics system: a histogram by route and status.
			fmt.Println(rep.Route, rep.Status, rep.Bytes)
		},
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	// Output:  200 0
}

func ExampleFormatMillis() {
	fmt.Println(timing.FormatMillis(12345 * time.Microsecond))
	// Output: 12.345ms
}

// A metric whose value is known last (a cache's status, known once the
// handler's status is) keeps its place before the handler's metrics, which
// may fill MaxMetrics or MaxHeaderBytes: Reserve as the work begins, Set
// when it ends.
func ExampleReserve() {
	ctx := timing.WithRecorder(context.Background()) // the Middleware's request context, in a handler
	cache := timing.Reserve(ctx, "cache")
	timing.Add(ctx, "db", 0, "3 rows") // the handler's
	cache.Set(0, "miss")
	for _, m := range timing.Metrics(ctx) {
		fmt.Println(m.Name, m.Desc)
	}
	// Output:
	// cache miss
	// db 3 rows
}
