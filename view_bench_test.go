package caching

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/near"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/httpcache"
	"github.com/go-caching/caching/internal/testutil"
)

// benchBody is a 2 KiB JSON document.
var benchBody = []byte(`{"items":"` + strings.Repeat("x", 2048-12) + `"}`)

func benchHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(benchBody)
	})
}

func benchCache(b *testing.B, remoteStore bool) *Cache {
	b.Helper()
	return benchCacheOf(b, remoteStore, Options{})
}

// benchCacheOf is benchCache with opts (their Backend set by it).
func benchCacheOf(b *testing.B, remoteStore bool, opts Options) *Cache {
	b.Helper()
	s, err := simple.New(simple.Options{})
	if err != nil {
		b.Fatal(err)
	}
	opts.Backend = s
	if remoteStore {
		opts.Backend = &remote{Backend: s}
	}
	c, err := New(&opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// benchRedisCache is a Cache on the real Redis (skipped without one), with a
// near cache in front of it when withNear.
func benchRedisCache(b *testing.B, withNear bool) *Cache {
	b.Helper()
	var store backend.Backend = redisstore.Must(redisstore.Options{
		URL:    "redis://" + testutil.RedisAddr(b) + "/0",
		Prefix: "caching-bench:" + b.Name() + ":",
	})
	if withNear {
		n := near.Must(store, near.Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := n.WaitWatching(ctx); err != nil {
			b.Fatal(err)
		}
		store = n
	}
	c, err := New(&Options{Backend: store})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = c.Clear(context.Background())
		c.Close()
	})
	return c
}

// BenchmarkCachedHit compares a hit with the bare handler writing the same
// 2 KiB body, both into a fresh httptest.ResponseRecorder (the target is a
// hit costing at most 1.5 times the bare handler).
func BenchmarkCachedHit(b *testing.B) {
	r := httptest.NewRequest(http.MethodGet, "/products?page=1&sort=asc", nil)
	cases := []struct {
		name string
		h    func(b *testing.B) http.Handler
	}{
		{"handler=bare", func(*testing.B) http.Handler { return benchHandler() }},
		{"handler=hit-local", func(b *testing.B) http.Handler {
			return benchCache(b, false).Cached(time.Hour)(benchHandler())
		}},
		{"handler=hit-remote", func(b *testing.B) http.Handler {
			return benchCache(b, true).Cached(time.Hour)(benchHandler())
		}},
		{"handler=hit-redis", func(b *testing.B) http.Handler {
			return benchRedisCache(b, false).Cached(time.Hour)(benchHandler())
		}},
		{"handler=hit-near-redis", func(b *testing.B) http.Handler {
			return benchRedisCache(b, true).Cached(time.Hour)(benchHandler())
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name+"/size=2KiB", func(b *testing.B) {
			h := tc.h(b)
			h.ServeHTTP(httptest.NewRecorder(), r) // fill
			b.ReportAllocs()
			b.SetBytes(int64(len(benchBody)))
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
	for _, tc := range append(cases[:2:2], cases[3:]...) {
		b.Run(tc.name+"/size=2KiB/parallel", func(b *testing.B) {
			h := tc.h(b)
			h.ServeHTTP(httptest.NewRecorder(), r)
			b.ReportAllocs()
			b.SetBytes(int64(len(benchBody)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					h.ServeHTTP(httptest.NewRecorder(), r)
				}
			})
		})
	}
}

// BenchmarkCachedHitVary is BenchmarkCachedHit for a response with Vary:
// the Vary record is read, then the variant, among variants=N stored. The
// rows without a vary key vary on Accept-Language, whose variant key the
// backend key spells; vary=Cookie rows on a 32-digit session cookie, a
// field whose variant is named by the hash of its variant key
// (variantNames.key): its SHA-256, or with vary=Cookie-HMAC, its
// HMAC-SHA-256 under Options.VariantKeySecret.
func BenchmarkCachedHitVary(b *testing.B) {
	for _, field := range []struct {
		row, name, value string // value: a format of the variant's number
		secret           []byte
	}{
		{"", "Accept-Language", "l%d", nil},
		{"/vary=Cookie", "Cookie", "session=%032x", nil},
		{"/vary=Cookie-HMAC", "Cookie", "session=%032x", []byte("0123456789abcdef0123456789abcdef")},
	} {
		for _, store := range []string{"local", "remote"} {
			for _, n := range []int{1, DefaultMaxVariants} {
				b.Run(fmt.Sprintf("handler=hit-%s/variants=%d/size=2KiB%s", store, n, field.row), func(b *testing.B) {
					var runs atomic.Int64
					view := benchCacheOf(b, store == "remote", Options{VariantKeySecret: field.secret}).Cached(time.Hour)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
						runs.Add(1)
						w.Header().Set("Content-Type", "application/json")
						w.Header().Set("Vary", field.name)
						_, _ = w.Write(benchBody)
					}))
					r := httptest.NewRequest(http.MethodGet, "/products?page=1&sort=asc", nil)
					for i := range n { // fill; the variant served is stored last
						r.Header.Set(field.name, fmt.Sprintf(field.value, n-1-i))
						view.ServeHTTP(httptest.NewRecorder(), r)
					}
					b.ReportAllocs()
					b.SetBytes(int64(len(benchBody)))
					for b.Loop() {
						view.ServeHTTP(httptest.NewRecorder(), r)
					}
					if got := runs.Load(); got != int64(n) {
						b.Fatalf("the handler ran %d times for %d variants: not every request was a hit", got, n)
					}
				})
			}
		}
	}
}

// BenchmarkCachedMiss measures a miss that runs the handler and stores its
// response (RefreshIf: every request), against the bare handler.
func BenchmarkCachedMiss(b *testing.B) {
	r := httptest.NewRequest(http.MethodGet, "/products?page=1", nil)
	always := RefreshIf(func(context.Context, *http.Request) bool { return true })
	for _, tc := range []struct {
		name string
		h    func(b *testing.B) http.Handler
	}{
		{"handler=bare", func(*testing.B) http.Handler { return benchHandler() }},
		{"handler=miss+store-local", func(b *testing.B) http.Handler {
			return benchCache(b, false).Cached(time.Hour, always)(benchHandler())
		}},
		{"handler=miss+store-remote", func(b *testing.B) http.Handler {
			return benchCache(b, true).Cached(time.Hour, always)(benchHandler())
		}},
	} {
		b.Run(tc.name+"/size=2KiB", func(b *testing.B) {
			h := tc.h(b)
			b.ReportAllocs()
			b.SetBytes(int64(len(benchBody)))
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}

// BenchmarkSharedCacheHit compares a SharedCache hit with a hit of the
// default mode, on the same 2 KiB response (max-age=3600), in one run (the
// target is a ratio of at most 1.2): into a new httptest recorder, as
// BenchmarkCachedHit, and into a reused discarding writer.
func BenchmarkSharedCacheHit(b *testing.B) {
	r := httptest.NewRequest(http.MethodGet, "/products?page=1&sort=asc", nil)
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=3600")
		_, _ = w.Write(benchBody)
	})
	for _, tc := range []struct {
		name string
		opts []ViewOption
	}{
		{"mode=default", nil},
		{"mode=shared", []ViewOption{SharedCache()}},
	} {
		b.Run(tc.name+"/size=2KiB", func(b *testing.B) {
			v := benchCache(b, false).Cached(time.Hour, tc.opts...)(h)
			v.ServeHTTP(httptest.NewRecorder(), r) // fill
			w := httptest.NewRecorder()
			if v.ServeHTTP(w, r); w.Header().Get("Age") == "" {
				b.Fatal("not a hit")
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(benchBody)))
			for b.Loop() {
				v.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
		// The middleware's own cost: a reused writer that discards.
		b.Run(tc.name+"/size=2KiB/writer=discard", func(b *testing.B) {
			v := benchCache(b, false).Cached(time.Hour, tc.opts...)(h)
			d := &discardWriter{h: make(http.Header)}
			v.ServeHTTP(d, r)
			b.ReportAllocs()
			for b.Loop() {
				v.ServeHTTP(d, r)
			}
		})
	}
}

// BenchmarkSharedCacheRemoteHitOuter is a fresh remote hit (the entry read
// and decoded from the backend's bytes on every request) of a SharedCache
// page whose Cache-Control an outer middleware sets before the handler runs
// (stored with the record of the outer directives, format version 3),
// against the same page whose handler sets it (version 1; the middleware
// sets another field), in one run, into a reused discarding writer: the
// middleware's own cost.
func BenchmarkSharedCacheRemoteHitOuter(b *testing.B) {
	r := httptest.NewRequest(http.MethodGet, "/products?page=1&sort=asc", nil)
	for _, tc := range []struct {
		name  string
		outer bool
	}{
		{"directives=handler", false},
		{"directives=outer", true},
	} {
		b.Run(tc.name+"/size=2KiB", func(b *testing.B) {
			h := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if !tc.outer {
					w.Header().Set("Cache-Control", "max-age=3600")
				}
				_, _ = w.Write(benchBody)
			}))
			h = benchCache(b, true).Cached(time.Hour, SharedCache())(h)
			if tc.outer {
				h = outerFields(h, "Cache-Control", "max-age=3600")
			} else {
				h = outerFields(h, "X-Content-Type-Options", "nosniff") // the same middleware, no directive
			}
			d := &discardWriter{h: make(http.Header)}
			h.ServeHTTP(d, r) // fill
			clear(d.h)
			if h.ServeHTTP(d, r); d.h.Get("Age") == "" {
				b.Fatal("not a hit")
			}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(d, r)
			}
		})
	}
}

// BenchmarkCachedMissVary measures a miss of a response with Vary whose
// record is stored and whose variant is not (deleted before each request):
// the lookup reads the record, the handler runs, and the variant and the
// record are stored again. field=N is the size of the Accept-Language the
// variant is keyed by (httpcache.MaxVaryBytes bounds it at 16 KiB).
func BenchmarkCachedMissVary(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Vary", "Accept-Language")
		_, _ = w.Write(benchBody)
	})
	for _, store := range []string{"local", "remote"} {
		for _, size := range []int{16, 8 << 10} {
			name := fmt.Sprintf("handler=miss-%s/field=%dB/size=2KiB", store, size)
			if size >= 1<<10 {
				name = fmt.Sprintf("handler=miss-%s/field=%dKiB/size=2KiB", store, size>>10)
			}
			b.Run(name, func(b *testing.B) {
				c := benchCache(b, store == "remote")
				view := c.Cached(time.Hour, CacheStatusHeader("X-Cache"))(h)
				r := httptest.NewRequest(http.MethodGet, "/products?page=1&sort=asc", nil)
				r.Header.Set("Accept-Language", strings.Repeat("e", size))
				view.ServeHTTP(httptest.NewRecorder(), r) // the record and the variant
				base, err := c.ViewKey(r)
				if err != nil {
					b.Fatal(err)
				}
				key := variantNames{}.key(base, httpcache.VariantKey(r, []string{"Accept-Language"}), []string{"Accept-Language"})
				ctx := context.Background()
				miss := func() *httptest.ResponseRecorder {
					if err := c.store.del(ctx, key); err != nil {
						b.Fatal(err)
					}
					w := httptest.NewRecorder()
					view.ServeHTTP(w, r)
					return w
				}
				if st := miss().Header().Get("X-Cache"); st != "MISS" {
					b.Fatalf("X-Cache %q, want MISS", st)
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(benchBody)))
				for b.Loop() {
					miss()
				}
			})
		}
	}
}
