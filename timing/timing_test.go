package timing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/timing"
)

func serve(t *testing.T, opts timing.Options, h http.Handler) *httptest.ResponseRecorder {
	t.Helper()
	mw, err := timing.New(opts)
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	mw(h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	return rec
}

func TestResponseTimeHeader(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       timing.Options
		handler    http.HandlerFunc
		wantStatus int
		wantHeader string
		wantBody   string
	}{
		{"handler writes nothing", timing.Options{}, func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(100 * time.Millisecond)
		}, 200, "100ms", ""},
		{"status only", timing.Options{}, func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(20 * time.Millisecond)
			w.WriteHeader(http.StatusCreated)
			time.Sleep(time.Second)
		}, 201, "20ms", ""},
		{"time to the first byte", timing.Options{}, func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(7 * time.Millisecond)
			io.WriteString(w, "a")
			time.Sleep(time.Second)
			io.WriteString(w, "b")
		}, 200, "7ms", "ab"},
		{"io.Copy", timing.Options{}, func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(3 * time.Millisecond)
			io.Copy(w, strings.NewReader("copied"))
		}, 200, "3ms", "copied"},
		{"flush", timing.Options{}, func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(5 * time.Millisecond)
			w.(http.Flusher).Flush()
			time.Sleep(time.Second)
			io.WriteString(w, "late")
		}, 200, "5ms", "late"},
		{"1xx is not the status", timing.Options{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			time.Sleep(9 * time.Millisecond)
			w.WriteHeader(http.StatusNoContent)
		}, 204, "9ms", ""},
		{"custom header and format", timing.Options{Header: "X-Elapsed", Format: func(d time.Duration) string { return d.String() }},
			func(w http.ResponseWriter, r *http.Request) { time.Sleep(1500 * time.Microsecond) }, 200, "1.5ms", ""},
		{"sub-millisecond", timing.Options{}, func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(42 * time.Microsecond)
		}, 200, "0.042ms", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var rep timing.Report
				tc.opts.Observe = func(r timing.Report) { rep = r }
				rec := serve(t, tc.opts, tc.handler)
				if tc.wantStatus != http.StatusNoContent {
					// (httptest.ResponseRecorder keeps the 103 as its Code.)
					assert.Equal(t, tc.wantStatus, rec.Code)
				}
				name := tc.opts.Header
				if name == "" {
					name = timing.DefaultHeader
				}
				assert.Equal(t, tc.wantHeader, rec.Header().Get(name))
				assert.Equal(t, tc.wantBody, rec.Body.String())
				assert.Equal(t, tc.wantStatus, rep.Status)
				assert.Equal(t, int64(len(tc.wantBody)), rep.Bytes)
			})
		})
	}
}

func TestNoHeader(t *testing.T) {
	rec := serve(t, timing.Options{Header: timing.NoHeader}, http.NotFoundHandler())
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Empty(t, rec.Header().Get(timing.DefaultHeader))
}

// TestRealServer checks, through net/http's own writer, that io.Copy keeps
// ReadFrom and that a flushed response has the header before the handler
// ends.
func TestRealServer(t *testing.T) {
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/copy", func(w http.ResponseWriter, r *http.Request) {
		_, isRF := w.(io.ReaderFrom)
		w.Header().Set("X-ReaderFrom", fmt.Sprint(isRF))
		io.Copy(w, strings.NewReader(strings.Repeat("z", 100_000)))
	})
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first")
		http.NewResponseController(w).Flush()
		<-release
		io.WriteString(w, "second")
	})
	srv := httptest.NewServer(timing.Must(timing.Options{})(mux))
	defer srv.Close()

	res, err := http.Get(srv.URL + "/copy")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Len(t, body, 100_000)
	assert.Equal(t, "true", res.Header.Get("X-ReaderFrom"))
	assert.Regexp(t, `^\d+(\.\d+)?ms$`, res.Header.Get(timing.DefaultHeader))

	res, err = http.Get(srv.URL + "/flush") // returns with the headers, while the handler waits
	require.NoError(t, err)
	assert.Regexp(t, `^\d+(\.\d+)?ms$`, res.Header.Get(timing.DefaultHeader))
	close(release)
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, "firstsecond", string(body))
}

func TestPanickingHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		var rep timing.Report
		mw := timing.Must(timing.Options{
			Logger:  slog.New(slog.NewJSONHandler(&logs, nil)),
			Slow:    100 * time.Millisecond,
			Observe: func(r timing.Report) { rep = r },
		})
		h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(200 * time.Millisecond)
			panic("boom")
		}))
		rec := httptest.NewRecorder()
		func() {
			defer func() { assert.Equal(t, "boom", recover(), "the panic goes on") }()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		}()
		assert.True(t, rep.Panicked)
		assert.Equal(t, http.StatusInternalServerError, rep.Status)
		assert.Equal(t, 200*time.Millisecond, rep.Duration)
		assert.True(t, rep.Slow)
		assert.Contains(t, logs.String(), `"panicked":true`)
		assert.Empty(t, rec.Header().Get(timing.DefaultHeader), "nothing was committed")
	})
}

func TestServerTiming(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		time.Sleep(10 * time.Millisecond)
		timing.Count(ctx, "db", 2*time.Millisecond, "query", "queries")
		timing.Count(ctx, "db", 3*time.Millisecond, "query", "queries")
		timing.Add(ctx, "cache", 0, "hit")
		tm := timing.Start(ctx, "render")
		time.Sleep(1500 * time.Microsecond)
		tm.StopDesc("tmpl \"x\"")
		tm.Stop() // a second Stop records nothing
		io.WriteString(w, "ok")
		timing.Add(ctx, "after", time.Millisecond, "") // too late for the header
	})
	synctest.Test(t, func(t *testing.T) {
		var rep timing.Report
		rec := serve(t, timing.Options{
			Expose:  func(*http.Request) bool { return true },
			Observe: func(r timing.Report) { rep = r },
		}, handler)
		assert.Equal(t, `db;dur=5;desc="2 queries", cache;desc=hit, render;dur=1.5;desc="tmpl \"x\"", total;dur=11.5`,
			rec.Header().Get("Server-Timing"))
		require.Len(t, rep.Metrics, 4)
		assert.Equal(t, timing.Metric{Name: "db", Duration: 5 * time.Millisecond, Desc: "2 queries", Count: 2}, rep.Metrics[0])
		assert.Equal(t, "after", rep.Metrics[3].Name)
		assert.Equal(t, 1, rep.Late)
	})
	t.Run("not exposed by default", func(t *testing.T) {
		rec := serve(t, timing.Options{}, handler)
		assert.Empty(t, rec.Header().Get("Server-Timing"))
	})
	t.Run("exposed per request", func(t *testing.T) {
		mw := timing.Must(timing.Options{Expose: func(r *http.Request) bool { return r.Header.Get("X-Debug") == "1" }})
		for _, debug := range []string{"1", ""} {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("X-Debug", debug)
			rec := httptest.NewRecorder()
			mw(handler).ServeHTTP(rec, req)
			assert.Equal(t, debug == "1", rec.Header().Get("Server-Timing") != "", "X-Debug=%q", debug)
		}
	})
	t.Run("names and descriptions are sanitized", func(t *testing.T) {
		ctx := timing.WithRecorder(context.Background())
		timing.Add(ctx, "bad name;x", time.Millisecond, "é\x01\"ok")
		rec := serve(t, timing.Options{Expose: func(*http.Request) bool { return true }},
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				timing.Add(r.Context(), "bad name;x", 0, "é\x01\"ok")
			}))
		assert.True(t, strings.HasPrefix(rec.Header().Get("Server-Timing"), `bad_name_x;desc="\"ok", total;dur=`), rec.Header().Get("Server-Timing"))
	})
}

func TestConcurrentMetrics(t *testing.T) {
	ctx := timing.WithRecorder(context.Background())
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			timing.Count(ctx, "db", time.Millisecond, "query", "queries")
			timing.Add(ctx, fmt.Sprint("m", i), time.Millisecond, "")
			timing.Start(ctx, "t").Stop()
		})
	}
	wg.Wait()
	m := timing.Metrics(ctx)
	require.Len(t, m, 101)
	for _, x := range m {
		if x.Name == "db" {
			assert.Equal(t, 50, x.Count)
			assert.Equal(t, 50*time.Millisecond, x.Duration)
			assert.Equal(t, "50 queries", x.Desc)
		}
	}
}

func TestNoRecorderIsFreeAndNoOp(t *testing.T) {
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		timing.Add(ctx, "db", time.Millisecond, "x")
		timing.Count(ctx, "db", time.Millisecond, "query", "queries")
		timing.Start(ctx, "db").Stop()
	})
	assert.Zero(t, allocs)
	assert.Nil(t, timing.Start(ctx, "x"))
	assert.Nil(t, timing.Metrics(ctx))
	var tm *timing.Timer
	assert.Zero(t, tm.Stop())
}

func TestSlowLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		mux := http.NewServeMux()
		sleepy := func(d time.Duration) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { time.Sleep(d); io.WriteString(w, "body") }
		}
		mux.Handle("GET /fast", sleepy(100*time.Millisecond))
		mux.Handle("GET /slow/{id}", sleepy(600*time.Millisecond))
		mux.Handle("GET /export", sleepy(3*time.Second))
		mux.Handle("GET /very", sleepy(1500*time.Millisecond))
		h := timing.Must(timing.Options{
			Logger:     slog.New(slog.NewJSONHandler(&logs, nil)),
			SlowRoutes: map[string]time.Duration{"GET /export": 5 * time.Second, "GET /very": time.Second},
		})(mux)
		get := func(path string) {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
		}
		for _, p := range []string{"/fast", "/slow/secret-token", "/export", "/very"} {
			get(p)
		}
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		require.Len(t, lines, 2, logs.String())
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(lines[0]), &rec))
		assert.Equal(t, "timing: slow request", rec["msg"])
		assert.Equal(t, "GET", rec["method"])
		assert.Equal(t, "GET /slow/{id}", rec["route"])
		assert.Equal(t, float64(200), rec["status"])
		assert.Equal(t, float64(4), rec["bytes"])
		assert.Equal(t, float64(600*time.Millisecond), rec["duration"])
		assert.Equal(t, float64(500*time.Millisecond), rec["threshold"])
		assert.NotContains(t, logs.String(), "secret-token", "paths are not logged")
		assert.Contains(t, lines[1], `"route":"GET /very"`)

		// A spike is rate limited.
		{
			logs.Reset()
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() { get("/slow/1") })
			}
			wg.Wait()
			assert.Equal(t, timing.DefaultSlowLogBurst, strings.Count(logs.String(), "\n"),
				"a burst, the bucket having refilled during the first requests")
			time.Sleep(time.Second) // refill
			logs.Reset()
			get("/slow/1")
			assert.Contains(t, logs.String(), `"suppressed":15`)
		}
	})
}

func TestOptionsValidation(t *testing.T) {
	l := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name string
		opts timing.Options
		want string
	}{
		{"header", timing.Options{Header: "X Bad"}, "Header"},
		{"slow", timing.Options{Logger: l, Slow: -1}, "Slow -1ns"},
		{"route", timing.Options{Logger: l, SlowRoutes: map[string]time.Duration{"GET /": 0}}, `SlowRoutes["GET /"]`},
		{"interval", timing.Options{Logger: l, SlowLogInterval: -1}, "SlowLogInterval"},
		{"burst", timing.Options{Logger: l, SlowLogBurst: -1}, "SlowLogBurst"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := timing.New(tc.opts)
			require.ErrorIs(t, err, timing.ErrInvalidOption)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "timing: "))
		})
	}
	assert.Panics(t, func() { timing.Must(timing.Options{Header: "a b"}) })
}
