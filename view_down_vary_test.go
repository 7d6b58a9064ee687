package caching

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// While the backend is down, the view's misses cannot read the Vary record,
// but requests of another variant than a run in progress must not wait for
// it, then run the handler themselves (twice the handler's time, for every
// client whose Accept-Language or Accept-Encoding differs from the
// leader's, for the whole outage): each variant's requests share a run of
// their own. Requests of the same variant still share one run.
func TestDownVaryOtherVariantDoesNotWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &remote{Backend: newSimple(t, nil)}
		store.fail.Store(true) // the backend is down
		c := Must(&Options{Backend: nopClose{store}})
		defer c.Close()
		finish := make(chan struct{})
		h := &counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Accept-Language") == "en" {
				<-finish // the work comes before the header, as usual
			}
			w.Header().Set("Vary", "Accept-Language")
		}}
		view := c.Cached(time.Minute)(h)
		for range 6 { // the breaker opens, as in an outage
			get(view, "/page", "Accept-Language", "de")
		}
		before := h.calls.Load()

		var wg sync.WaitGroup
		en := make([]*httptest.ResponseRecorder, 2)
		for i := range en {
			wg.Go(func() { en[i] = get(view, "/page", "Accept-Language", "en") })
			synctest.Wait() // the first leads the flight; the second waits for it
		}
		fr := make(chan *httptest.ResponseRecorder, 1)
		wg.Go(func() { fr <- get(view, "/page", "Accept-Language", "fr") })
		synctest.Wait()
		select {
		case w := <-fr:
			assert.Equal(t, "page #8", w.Body.String(), "fr's own run")
		default:
			t.Error("with the backend down, a request of another variant waits for en's run")
		}
		close(finish)
		wg.Wait()
		assert.Equal(t, en[0].Body.String(), en[1].Body.String(), "the two en requests shared one run")
		assert.Equal(t, before+2, h.calls.Load(), "one run per variant")
	})
}

// A waiter of another variant leaves as soon as the leader's header says
// that the response varies, not once the leader's run has ended: with the
// page cold (the Vary record not stored yet), and with the backend down
// before the view has seen the page vary. A waiter of the leader's variant
// still waits for its response.
func TestVaryOtherVariantLeavesAtCommit(t *testing.T) {
	for _, down := range []bool{false, true} {
		t.Run(map[bool]string{false: "cold", true: "down"}[down], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := &remote{Backend: newSimple(t, nil)}
				store.fail.Store(down)
				c := Must(&Options{Backend: nopClose{store}})
				defer c.Close()
				finish := make(chan struct{})
				h := &counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Vary", "Accept-Language")
					w.WriteHeader(http.StatusOK) // committed, then the body is made
					if r.Header.Get("Accept-Language") == "en" {
						<-finish
					}
				}}
				view := c.Cached(time.Minute)(h)
				var wg sync.WaitGroup
				en := make([]*httptest.ResponseRecorder, 2)
				for i := range en {
					wg.Go(func() { en[i] = get(view, "/page", "Accept-Language", "en") })
					synctest.Wait() // the first leads; the second waits for it
				}
				fr := make(chan *httptest.ResponseRecorder, 1)
				wg.Go(func() { fr <- get(view, "/page", "Accept-Language", "fr") })
				synctest.Wait()
				select {
				case w := <-fr:
					assert.Equal(t, "page #2", w.Body.String(), "fr's own run")
				default:
					t.Error("a request of another variant waits for the end of en's run")
				}
				close(finish)
				wg.Wait()
				assert.Equal(t, en[0].Body.String(), en[1].Body.String(), "the two en requests shared one run")
				assert.Equal(t, int64(2), h.calls.Load(), "one run per variant")
			})
		})
	}
}
