package caching

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// TestFailedLeaderWaiterServesNewerEntry: a waiter of a failed leader whose
// reread of its stale entry finds a newer one instead, fresh (another
// process stored it while the waiter waited), ran its own handler, where a
// request made then gets a HIT of that entry. It is served that entry now,
// as a HIT, judged as a lookup judges it (staleStill), and the handler runs
// no more.
func TestFailedLeaderWaiterServesNewerEntry(t *testing.T) {
	for _, flow := range failedLeaderFlows {
		for _, failure := range []string{"panic", "500"} {
			for _, remoteStore := range []bool{false, true} {
				name := flow.name + "/" + failure
				if remoteStore {
					name += "/remote"
				}
				t.Run(name, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						var b backend.Backend = newSimple(t, nil)
						if remoteStore {
							b = &remote{Backend: b}
						}
						other := Must(&Options{Backend: b}) // another process
						defer other.Close()
						oh := other.Cached(10*time.Second, flow.opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
							if flow.cc != "" {
								w.Header().Set("Cache-Control", flow.cc)
							}
							w.Header().Set("ETag", `"v3"`)
							w.Write([]byte("other page"))
						}))
						w, runs := staleWaiterOfFailedLeader(t, &Options{Backend: b}, failure, flow.opts, flow.cc, func(*Cache) {
							require.Equal(t, "other page", get(oh, "/p").Body.String())
						})
						assert.Equal(t, "other page", w.Body.String(), "the waiter ran its own handler (X-Cache: %s)", w.Header().Get("X-Cache"))
						assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
						assert.Equal(t, int64(2), runs, "the waiter runs no handler of its own")
					})
				})
			}
		}
	}
}
