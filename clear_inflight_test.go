package caching

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// The work in flight when Clear is called: a memoized computation or a
// view's run that read the data before Clear must neither store its result
// after Clear returned nor hand it to a caller that came after (the program
// updates its data, then clears the cache). These tests first failed: on the
// in-process store a function's generation is pinned and survives Clear,
// and a view keyed by KeyFunc records no versions at all, so nothing ended
// such a result (store.clears now does).

// TestClearDuringMemoizeCompute: a computation that read the old data and
// finished after Clear returned stored its result, which a Get made after
// Clear got until the TTL ended. (On Redis, Clear deletes the generation
// key, which made the late entry a miss already.)
func TestClearDuringMemoizeCompute(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) *Cache{
		"simple": func(t *testing.T) *Cache { c := Must(nil); t.Cleanup(func() { c.Close() }); return c },
		"redis":  func(t *testing.T) *Cache { c, _, _ := onRedis(t); return c },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c := open(t)
			var data atomic.Value
			data.Store("old")
			started, release := make(chan struct{}), make(chan struct{})
			var calls atomic.Int64
			m := Memoize(c, "price", func(ctx context.Context, id int) (string, error) {
				v := data.Load().(string) // reads the data before the update
				if calls.Add(1) == 1 {
					close(started)
					<-release
				}
				return v, nil
			}, TTL(time.Hour))
			done := make(chan string)
			go func() { v, _ := m.Get(ctx, 1); done <- v }()
			<-started
			data.Store("new")                    // the program updates its data,
			if err := c.Clear(ctx); err != nil { // then clears the cache
				t.Fatal(err)
			}
			close(release)
			if got := <-done; got != "old" { // began before Clear: its own result
				t.Fatalf("the Get that began before Clear returned %q; want %q", got, "old")
			}
			got, err := m.Get(ctx, 1) // a Get made after Clear returned
			if err != nil {
				t.Fatal(err)
			}
			if got != "new" {
				t.Fatalf("Get after Clear returned %q, computed from the data before Clear; want %q", got, "new")
			}
		})
	}
}

// TestClearDuringMemoizeComputeJoined: a Get made after Clear returned,
// while a computation that began before it is in flight, does not join it
// and get its result: it computes anew.
func TestClearDuringMemoizeComputeJoined(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		c := Must(nil)
		defer c.Close()
		var data atomic.Value
		data.Store("old")
		release := make(chan struct{})
		var calls atomic.Int64
		m := Memoize(c, "price", func(ctx context.Context, id int) (string, error) {
			v := data.Load().(string)
			if calls.Add(1) == 1 {
				<-release
			}
			return v, nil
		}, TTL(time.Hour))
		early := make(chan string, 1)
		go func() { v, _ := m.Get(ctx, 1); early <- v }()
		synctest.Wait() // the computation read "old" and waits
		data.Store("new")
		if err := c.Clear(ctx); err != nil {
			t.Fatal(err)
		}
		late := make(chan string, 1)
		go func() { v, _ := m.Get(ctx, 1); late <- v }() // made after Clear returned
		synctest.Wait()
		close(release)
		<-early
		if got := <-late; got != "new" {
			t.Fatalf("a Get made after Clear returned got %q, computed before Clear; want %q", got, "new")
		}
		if got, _ := m.Get(ctx, 1); got != "new" {
			t.Fatalf("stored after Clear: %q; want %q", got, "new")
		}
	})
}

// TestClearDuringViewRun: a handler run of a view keyed by KeyFunc (no path
// version) that began before Clear stored its response after Clear
// returned, and every later client got it.
func TestClearDuringViewRun(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	var data atomic.Value
	data.Store("old")
	started, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int64
	view := c.Cached(time.Hour, KeyFunc(func(r *http.Request) string { return "home" }), CacheStatusHeader("X-Cache"))
	h := view(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := data.Load().(string)
		if calls.Add(1) == 1 {
			close(started)
			<-release
		}
		io.WriteString(w, v)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	fetch := func() (string, string) {
		resp, err := http.Get(srv.URL + "/")
		if err != nil {
			t.Error(err)
			return "", ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), resp.Header.Get("X-Cache")
	}
	done := make(chan string)
	go func() { body, _ := fetch(); done <- body }()
	<-started
	data.Store("new")
	if err := c.Clear(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(release)
	if got := <-done; got != "old" {
		t.Fatalf("the request that began before Clear got %q; want %q", got, "old")
	}
	if got, status := fetch(); got != "new" {
		t.Fatalf("a request made after Clear returned got %q (%s), made before Clear; want %q", got, status, "new")
	}
	if got, status := fetch(); got != "new" || status != "HIT" {
		t.Fatalf("the next request got %q (%s); want %q, a HIT", got, status, "new")
	}
}

// TestClearDuringViewRunWaiter: a request made after Clear returned, which
// joins a run of its key that began before Clear, is not handed that run's
// response: it waits for a new run.
func TestClearDuringViewRunWaiter(t *testing.T) {
	for _, lease := range []time.Duration{0, time.Second} {
		t.Run("lease="+lease.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(&Options{Lease: lease})
				defer c.Close()
				var data atomic.Value
				data.Store("old")
				release := make(chan struct{})
				var calls atomic.Int64
				h := c.Cached(time.Hour, KeyFunc(func(r *http.Request) string { return "home" }))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					v := data.Load().(string)
					if calls.Add(1) == 1 {
						<-release
					}
					io.WriteString(w, v)
				}))
				serve := func() <-chan string {
					got := make(chan string, 1)
					go func() {
						w := httptest.NewRecorder()
						h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
						got <- w.Body.String()
					}()
					return got
				}
				early := serve()
				synctest.Wait() // its handler read "old" and waits
				data.Store("new")
				if err := c.Clear(context.Background()); err != nil {
					t.Fatal(err)
				}
				late := serve() // made after Clear returned: joins the run
				synctest.Wait()
				close(release)
				if got := <-early; got != "old" {
					t.Fatalf("the request that began before Clear got %q; want %q", got, "old")
				}
				if got := <-late; got != "new" {
					t.Fatalf("a request made after Clear returned got %q, made before Clear; want %q", got, "new")
				}
				if n := calls.Load(); n != 2 {
					t.Fatalf("the handler ran %d times; want 2", n)
				}
				if got := <-serve(); got != "new" {
					t.Fatalf("the next request got %q; want %q", got, "new")
				}
			})
		})
	}
}
