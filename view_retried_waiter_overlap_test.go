package caching

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestRetriedWaiterKeepsKeyPastOverlappingCall: in a SharedCache view, a
// leader's client leaves while a first request and a plain GET wait for
// its run; the first joins again first and leads the next call, whose
// private response is refused and releases nobody to it. While that run
// goes on, a third request leads a call of its own (none is in flight):
// its client leaves too (retried: the call is left for a next one), or it
// stays (in flight). The first's run ends, then the GET joins again: it
// leads the call after the third's, or waits for the third's run. Either
// run read the path version key the abandoned run created and stores its
// entry under it after the abandoned run's end: the key must be kept,
// however many calls of the key overlap, or the entry is a miss.
func TestRetriedWaiterKeepsKeyPastOverlappingCall(t *testing.T) {
	for _, tc := range []struct {
		name string
		// hangUps: one a third request, each leading the call after the
		// one before, whose client leaves (true) or stays.
		hangUps []bool
		calls   int32 // the abandoned run, the first's, the thirds' and the GET's if it leads
	}{
		{"retried", []bool{true}, 4},
		{"in flight", []bool{false}, 3},
		{"retried twice", []bool{true, true}, 5},
		{"retried, in flight", []bool{true, false}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rw := newRetriedWaiters(t) // the GET joins again after the first's run ended
				b := newSimple(t, nil)
				c := Must(&Options{Backend: b})
				defer c.Close()
				leaderGo, firstGo := make(chan struct{}), make(chan struct{})
				var calls atomic.Int32
				vh := c.Cached(time.Minute, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					n := calls.Add(1)
					switch who := r.Header.Get("X-Who"); {
					case n == 1:
						<-r.Context().Done() // and answers all the same, for nobody
						<-leaderGo
					case who == "first":
						w.Header().Set("Cache-Control", "private, max-age=60")
						fmt.Fprint(w, "mine") // refused at commit: nobody waits for it
						<-firstGo
						return
					default: // the third's, the GET's: store after the abandoned run's end
						if who == "third, hangs up" {
							<-r.Context().Done()
						}
						<-rw.leaderReturned
					}
					w.Header().Set("Cache-Control", "max-age=60")
					fmt.Fprint(w, "page")
				}))
				rw.start(vh)() // the first's run answered, the GET waits to join again
				var wg sync.WaitGroup

				for _, hangsUp := range tc.hangUps {
					ctx, hangUp := context.WithCancel(context.Background())
					defer hangUp()
					who := "third"
					if hangsUp {
						who = "third, hangs up"
					}
					wg.Go(func() {
						r := httptest.NewRequest(http.MethodGet, "/popular", nil).WithContext(ctx)
						r.Header.Set("X-Who", who)
						vh.ServeHTTP(httptest.NewRecorder(), r)
					})
					synctest.Wait() // it leads a call of its own, or the one after the last third's
					if hangsUp {
						hangUp()
						synctest.Wait() // its call is left for a next one
					}
				}
				close(firstGo)
				<-rw.firstReturned
				synctest.Wait() // the GET joined again: it leads the next call, or waits
				close(leaderGo)
				wg.Wait()
				rw.wg.Wait()

				assert.Equal(t, "page", rw.get.Body.String(), "the GET's answer")
				assert.Equal(t, tc.calls, calls.Load())
				_, ok := b.LoadValue(c.pathTagKey("/popular"))
				assert.True(t, ok, "the path key the entry is stored under is kept")
				hit := get(vh, "/popular")
				assert.Equal(t, "page", hit.Body.String())
				assert.Equal(t, tc.calls, calls.Load(), "the stored entry is a hit")
				assertFlightEmpty(t, vh.(*view), "/popular")
			})
		})
	}
}
