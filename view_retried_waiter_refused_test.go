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

// TestRetriedWaiterKeepsKeyPastRefusedLeader: in a SharedCache view, a
// leader's client leaves while two GETs wait for its run; the first joins
// again and leads the next call, whose response is refused for its own
// reason (private, too large: nothing stored, no retry), and whose run
// ends before the second joins again. The second leads the call after,
// and its run reads the path version key the abandoned run created; the
// abandoned run ends then, before the second's run stores its 200 under
// the key: the key must be kept, or the entry is a miss, as when the
// first's answer was its request's alone (TestRetriedWaiterKeepsKeyPastRangeLeader).
func TestRetriedWaiterKeepsKeyPastRefusedLeader(t *testing.T) {
	for _, refused := range []string{"private", "too large"} {
		t.Run(refused, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				joined := onWaiterJoined(t)
				b := newSimple(t, nil)
				c := Must(&Options{Backend: b})
				defer c.Close()
				leaderReturned, firstReturned := make(chan struct{}), make(chan struct{})
				hook := func(_ string, r *http.Request) {
					if r.Header.Get("X-Who") == "second" {
						<-firstReturned // the second joins again last
					}
				}
				waiterRetryHook.Store(&hook)
				defer waiterRetryHook.Store(nil)
				var calls atomic.Int32
				secondRuns := make(chan struct{})
				vh := c.Cached(time.Minute, SharedCache(), MaxBodySize(64))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					n := calls.Add(1)
					switch n {
					case 1:
						<-r.Context().Done() // and answers all the same, for nobody
						<-secondRuns         // once the second's run read the key
					case 3: // the second's
						close(secondRuns)
						<-leaderReturned // stores after the abandoned run's end
					}
					if n == 2 { // the first's: refused
						switch refused {
						case "private":
							w.Header().Set("Cache-Control", "private, max-age=60")
							fmt.Fprint(w, "mine")
						default:
							w.Header().Set("Cache-Control", "max-age=60")
							fmt.Fprint(w, "a body far larger than the sixty-four bytes the cache takes at most")
						}
						return
					}
					w.Header().Set("Cache-Control", "max-age=60")
					fmt.Fprint(w, "page")
				}))
				ctx, hangUp := context.WithCancel(context.Background())
				go func() {
					defer close(leaderReturned)
					vh.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/popular", nil).WithContext(ctx))
				}()
				synctest.Wait() // the leader waits in the handler, its path key created
				var fw, sw *httptest.ResponseRecorder
				var wg sync.WaitGroup
				wg.Go(func() {
					defer close(firstReturned)
					fw = get(vh, "/popular", "X-Who", "first")
				})
				<-joined
				wg.Go(func() { sw = get(vh, "/popular", "X-Who", "second") })
				<-joined
				synctest.Wait() // both wait for the leader's run
				hangUp()
				wg.Wait()

				assert.Equal(t, http.StatusOK, fw.Code, "the first's own run")
				assert.Equal(t, "page", sw.Body.String(), "the second's own run")
				assert.EqualValues(t, 3, calls.Load(), "the abandoned run, the first's and the second's")
				_, ok := b.LoadValue(c.pathTagKey("/popular"))
				assert.True(t, ok, "the path key the second's entry is stored under is kept")
				hit := get(vh, "/popular")
				assert.Equal(t, "page", hit.Body.String())
				assert.EqualValues(t, 3, calls.Load(), "the second's entry is a hit")
				assertFlightEmpty(t, vh.(*view), "/popular")
			})
		})
	}
}
