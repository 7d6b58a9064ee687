package caching

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestPathScanOfRefusedSuccessLeavesNoKeys: a path version key a run
// created was deleted only when the response was refused for its status
// (or had no freshness): an origin that answers every path 200 with a
// response the cache may not store for what it is (private, no-store,
// Set-Cookie: a catch-all route that sets a session; a body past
// MaxBodySize; one StoreIf filters) left one key per random path a client
// asked for, each living four times the path life (up to 28 days). Any
// response not stored now deletes the keys its run created.
func TestPathScanOfRefusedSuccessLeavesNoKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []ViewOption
		set  func(h http.Header)
	}{
		{"private", nil, func(h http.Header) { h.Set("Cache-Control", "private, max-age=60") }},
		{"no-store", nil, func(h http.Header) { h.Set("Cache-Control", "no-store") }},
		// A bound of 1 KiB rather than the default's megabytes: 200 bodies
		// past the default took over a minute per mode under -race.
		{"too-large", []ViewOption{MaxBodySize(1 << 10)}, func(h http.Header) { h.Set("Cache-Control", "max-age=60"); h.Set("Content-Length", "2000") }},
		{"set-cookie", nil, func(h http.Header) {
			h.Set("Cache-Control", "max-age=60")
			h.Set("Set-Cookie", "session=abc")
		}},
		{"store-if", []ViewOption{StoreIf(func(r *Response) bool { return r.Header.Get("X-Page") != "catch-all" })}, func(h http.Header) {
			h.Set("Cache-Control", "max-age=60")
			h.Set("X-Page", "catch-all")
		}},
		{"vary-client-address", nil, func(h http.Header) {
			h.Set("Cache-Control", "max-age=60")
			h.Set("Vary", "X-Forwarded-For")
		}},
	} {
		for _, mode := range []struct {
			name string
			opts []ViewOption
		}{{"shared", []ViewOption{SharedCache()}}, {"default", nil}} {
			t.Run(tc.name+"/"+mode.name, func(t *testing.T) {
				forEachViewStore(t, func(t *testing.T, k storeKind) {
					e := newViewEnv(t, k)
					opts := append(append([]ViewOption(nil), tc.opts...), mode.opts...)
					ch := e.c.Cached(time.Minute, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if r.URL.Path == "/known" {
							w.Header().Set("Cache-Control", "max-age=60")
							fmt.Fprint(w, "known")
							return
						}
						tc.set(w.Header())
						if n, _ := strconv.Atoi(w.Header().Get("Content-Length")); n > 0 {
							_, _ = w.Write(make([]byte, n))
							return
						}
						fmt.Fprint(w, "catch-all page")
					}))
					get(ch, "/known")
					base := entries(t, e.store)
					for i := range 200 {
						assert.Equal(t, http.StatusOK, get(ch, fmt.Sprint("/scan/", i)).Code)
					}
					e.c.wait() // the deletes of the keys, made after each response
					assert.Equal(t, base, entries(t, e.store), "a refused response leaves no key")
					// The stored path keeps its version: still a hit.
					assert.Equal(t, "known", get(ch, "/known").Body.String())
					assert.EqualValues(t, 1, e.c.Stats().Hits)
				})
			})
		}
	}
}

// TestRefusedRunBesideAFlightLeavesNoKeys: a run that leads no flight (a
// request with Authorization in a SharedCache view) and whose response is
// refused hands the path version key it created to the flight of its key
// in progress, whose run may have read it: the key goes when that flight
// stores nothing either, and stays when it stores its entry (the next
// request is a hit).
func TestRefusedRunBesideAFlightLeavesNoKeys(t *testing.T) {
	for _, stored := range []bool{false, true} {
		t.Run(fmt.Sprint("stored=", stored), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newSimple(t, nil)
				c := Must(&Options{Backend: b})
				defer c.Close()
				authDone, anonDone := make(chan struct{}), make(chan struct{})
				var calls atomic.Int32
				ch := c.Cached(time.Hour, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					if r.Header.Get("Authorization") != "" {
						<-authDone
						w.Header().Set("Cache-Control", "private, max-age=60")
					} else {
						<-anonDone
						w.Header().Set("Cache-Control", "max-age=60")
						if !stored {
							w.Header().Set("Set-Cookie", "session=abc")
						}
					}
					fmt.Fprint(w, "page")
				}))
				var wg sync.WaitGroup
				wg.Go(func() { get(ch, "/page", "Authorization", "Bearer alice") })
				synctest.Wait() // its run created the path key, and is held
				wg.Go(func() { get(ch, "/page") })
				synctest.Wait() // the anonymous flight read the key, and is held
				close(authDone)
				synctest.Wait() // the refused run ended beside the flight
				close(anonDone)
				wg.Wait()
				c.wait() // the refused run's decision, made after its response
				if !stored {
					assert.Zero(t, b.Stats().Entries, "nothing stored, no key left")
					return
				}
				assert.EqualValues(t, 2, calls.Load())
				assert.Equal(t, "page", get(ch, "/page").Body.String())
				assert.EqualValues(t, 2, calls.Load(), "the flight's entry is kept, under the key")
				assert.EqualValues(t, 1, c.Stats().Hits)
			})
		})
	}
}
