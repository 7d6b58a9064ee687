package caching

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDownWaiterGetsNoUnacceptableCoding: a coded variant is stored only
// when the request's Accept-Encoding accepts its coding by the parser the
// variant key is built with (storeNow's header.Acceptable check), because
// two requests of one Accept-Encoding profile may be answered apart by a
// negotiator with another grammar. While the backend is down, the leader's
// response is not stored but handed to the waiters of its variant: the same
// check applies there. A concurrent request with "identity, gzip;q=0" (same
// profile as "identity": gzip refused) leads the run and the handler's naive
// negotiator gzips for it; the waiter whose Accept-Encoding says "identity"
// (wget's) must run the handler itself and get the plain body, not the gzip
// body the handler never sends it.
func TestDownWaiterGetsNoUnacceptableCoding(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &remote{Backend: newSimple(t, nil)}
		store.fail.Store(true) // the backend is down
		c := Must(&Options{Backend: nopClose{store}})
		defer c.Close()
		finish := make(chan struct{})
		var calls sync.Map
		view := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ae := r.Header.Get("Accept-Encoding")
			calls.Store(ae, true)
			w.Header().Set("Vary", "Accept-Encoding")
			if strings.Contains(ae, "gzip") { // a naive negotiator
				w.Header().Set("Content-Encoding", "gzip")
				w.WriteHeader(http.StatusOK)
				<-finish
				_, _ = w.Write([]byte("\x1f\x8bgzip-bytes"))
				return
			}
			_, _ = w.Write([]byte("plain"))
		}))
		var wg sync.WaitGroup
		var leader, victim *httptest.ResponseRecorder
		wg.Go(func() { leader = get(view, "/file", "Accept-Encoding", "identity, gzip;q=0") })
		synctest.Wait() // the leader runs, committed, its body still being made
		wg.Go(func() { victim = get(view, "/file", "Accept-Encoding", "identity") })
		synctest.Wait()
		close(finish)
		wg.Wait()
		require.NotNil(t, leader)
		assert.Equal(t, "gzip", leader.Header().Get("Content-Encoding"), "the handler's answer to the leader")
		assert.Empty(t, victim.Header().Get("Content-Encoding"),
			"a request with Accept-Encoding: identity was served a gzip body (body %q)", victim.Body.String())
		assert.Equal(t, "plain", victim.Body.String())
	})
}
