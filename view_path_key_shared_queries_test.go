package caching

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestNotFoundOfOtherQueryKeepsStoredEntry: /product?id=1 and
// /product?id=bogus share the path version key p//product. A slow 404 for
// the bogus id that created the key (the path was cold) deletes it at its
// end, although /product?id=1 stored its page under it meanwhile: the page
// misses again. Its client stayed; no hang-up is involved. A save under a
// key a run in progress created now keeps it (createdKeys).
func TestNotFoundOfOtherQueryKeepsStoredEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(&Options{Backend: newSimple(t, nil)})
		defer c.Close()
		release := make(chan struct{})
		var calls atomic.Int64
		view := c.Cached(time.Hour, CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("id") != "1" {
				<-release // a slow 404 (a database lookup)
				http.NotFound(w, r)
				return
			}
			fmt.Fprintf(w, "product #%d", calls.Add(1))
		}))
		var wg sync.WaitGroup
		wg.Go(func() { get(view, "/product?id=bogus") })
		synctest.Wait() // the 404 run created the path key and runs
		get(view, "/product?id=1")
		w := get(view, "/product?id=1")
		if w.Header().Get("X-Cache") != "HIT" {
			t.Fatalf("second request: %s", w.Header().Get("X-Cache"))
		}
		close(release)
		wg.Wait()
		c.wait() // the 404's decision, made after its response
		w = get(view, "/product?id=1")
		if calls.Load() != 1 {
			t.Fatalf("the page stored under the path key was lost when the other query's 404 ended: %d handler runs, X-Cache %s", calls.Load(), w.Header().Get("X-Cache"))
		}
		if n := c.store.created.n.Load(); n != 0 {
			t.Fatalf("%d created keys still tracked after every run ended", n)
		}
	})
}

// TestSequentialNotFoundsKeepPageCached: one client that asks, one request
// at a time, for random ids of a path (each a slow 404) keeps every other
// request of the path from ever being a hit: each 404 run finds the path
// key missing (the previous one deleted it), creates it, and deletes it at
// its end, with the entries stored under it meanwhile. (Idealised: no gap
// between the client's requests. With a gap, the misses last until an
// honest request wins the key's creation in one: 6 to 57 of 100 with 1 ms.)
func TestSequentialNotFoundsKeepPageCached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(&Options{Backend: newSimple(t, nil)})
		defer c.Close()
		var calls atomic.Int64
		view := c.Cached(time.Hour)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("id") != "1" {
				time.Sleep(50 * time.Millisecond) // a slow 404
				http.NotFound(w, r)
				return
			}
			calls.Add(1)
			fmt.Fprint(w, "product")
		}))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { // the attacker: one request at a time
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				view.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, fmt.Sprintf("/product?id=x%d", i), nil))
			}
		})
		time.Sleep(10 * time.Millisecond)
		trace := ""
		for range 100 { // honest traffic, 10 per second
			before := calls.Load()
			get(view, "/product?id=1")
			if calls.Load() != before {
				trace += "M"
			} else {
				trace += "."
			}
			time.Sleep(100 * time.Millisecond)
		}
		close(stop)
		wg.Wait()
		t.Log(trace)
		if n := calls.Load(); n > 5 {
			t.Fatalf("100 requests for one page ran its handler %d times while one client asked for random ids", n)
		}
		if n := c.store.created.n.Load(); n != 0 {
			t.Fatalf("%d created keys still tracked after every run ended", n)
		}
	})
}
