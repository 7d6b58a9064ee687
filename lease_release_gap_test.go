package caching

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestLeaseNextLeaderInReleaseGap: a leader under a Lease stores its
// response, and its call leaves the flight before its lease's release
// begins. The key's next miss in this process, made in that gap (here the
// entry expired, so the miss leads), finds the lease held by its own
// process's finished run: it waits for that release, then takes the lease,
// rather than count a lease wait and poll for it as for another process's
// run.
func TestLeaseNextLeaderInReleaseGap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(&Options{Backend: &remote{Backend: newSimple(t, nil)}, Lease: time.Minute, Timeout: time.Hour})
		defer c.Close()
		var runs atomic.Int32
		h := c.Cached(time.Second)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "page %d", runs.Add(1))
		}))
		var armed atomic.Bool
		armed.Store(true)
		var second string
		done := make(chan struct{})
		hook := func(key string) {
			// Another test's release, in parallel, is not this one's.
			if !strings.Contains(key, "/release-gap") || !armed.CompareAndSwap(true, false) {
				return
			}
			time.Sleep(2 * time.Second) // the stored entry expires
			go func() {
				defer close(done)
				second = get(h, "/release-gap").Body.String()
			}()
			synctest.Wait() // the next miss waits, as it does, before the release
		}
		releasedHook.Store(&hook)
		defer releasedHook.Store(nil)
		assert.Equal(t, "page 1", get(h, "/release-gap").Body.String())
		<-done
		assert.Equal(t, "page 2", second, "the next miss leads a run of its own")
		assert.EqualValues(t, 2, runs.Load())
		st := c.Stats()
		assert.EqualValues(t, 2, st.Leases, "the next miss takes the lease")
		assert.Zero(t, st.LeaseWaits, "the next miss waits for no other process's lease")
	})
}
