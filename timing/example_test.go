package timing_test

import (
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
