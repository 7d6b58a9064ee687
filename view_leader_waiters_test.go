package caching

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing/synctest"
)

// leadWithWaiters is the set-up of the flight tests, in a synctest bubble:
// it calls lead on a goroutine of its own and, once its handler waits at
// gate, calls wait n times concurrently (the waiters of its run); once
// they all wait, it opens gate, and returns what lead and each wait
// returned, after all have returned.
func leadWithWaiters[L, W any](gate chan struct{}, n int, lead func() L, wait func() W) (L, []W) {
	leader := make(chan L, 1)
	go func() { leader <- lead() }()
	synctest.Wait() // the leader's handler waits at the gate
	var wg sync.WaitGroup
	got := make([]W, n)
	for i := range n {
		wg.Go(func() { got[i] = wait() })
	}
	synctest.Wait() // the waiters wait for the leader's run
	close(gate)
	l := <-leader
	wg.Wait()
	return l, got
}

// servePanic serves a GET of /page to h on w and returns what it panicked
// with (nil if it returned).
func servePanic(h http.Handler, w http.ResponseWriter) (p any) {
	defer func() { p = recover() }()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/page", nil))
	return nil
}
