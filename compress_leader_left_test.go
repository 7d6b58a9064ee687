package caching

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// onWaiterJoined makes joined receive the key of every call a waiter joins
// until the test ends. The test must not run in parallel.
func onWaiterJoined(t *testing.T) <-chan string {
	joined := make(chan string, 16)
	hook := func(key string) {
		select {
		case joined <- key:
		default:
		}
	}
	waiterJoinedHook.Store(&hook)
	t.Cleanup(func() { waiterJoinedHook.Store(nil) })
	return joined
}

// TestCompressLeaderLeftWaitersGetWholePage: compress fails a handler's
// writes once one to its client that left failed, rather than encoding its
// body for nobody. In front of a view or behind it, that must not cost the waiters
// of the leader whose client left their page, nor put a cut body in the
// store: the waiter gets the whole page from a run of its own, and the
// next request a hit of that same whole page. With a Content-Length, the
// abandoned run's body, cut short, ends in http.ErrAbortHandler through the
// view: that too leaves the waiter's entry in place.
func TestCompressLeaderLeftWaitersGetWholePage(t *testing.T) {
	page := strings.Repeat(catalogJSON, 4)
	for _, tc := range []struct {
		order    string
		declared bool // the handler sets Content-Length: compress aborts a body cut short
	}{{"compress in front", false}, {"compress in front", true}, {"compress behind", false}, {"compress behind", true}} {
		order := tc.order
		name := order
		if tc.declared {
			name += "/Content-Length"
		}
		t.Run(name, func(t *testing.T) {
			joined := onWaiterJoined(t)
			c := Must(&Options{Backend: newSimple(t, nil)})
			defer c.Close()
			started := make(chan struct{})
			abandoned := make(chan error, 1)
			var runs atomic.Int64
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if tc.declared {
					w.Header().Set("Content-Length", strconv.Itoa(len(page)))
				}
				if runs.Add(1) == 1 {
					// The leader: its client leaves half way through.
					_, _ = io.WriteString(w, page[:len(page)/2])
					close(started)
					<-r.Context().Done()
					_, err := io.WriteString(w, page[len(page)/2:])
					abandoned <- err
					return
				}
				_, _ = io.WriteString(w, page)
			})
			cached := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))
			mw := compress.Middleware(compress.Options{})
			srvHandler := cached(mw(handler))
			if order == "compress in front" {
				srvHandler = mw(cached(handler))
			}
			srv := httptest.NewServer(srvHandler)
			defer srv.Close()
			tr := &http.Transport{DisableCompression: true}
			defer tr.CloseIdleConnections()
			send := func(ctx context.Context) (*http.Response, string, error) {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/catalog", nil)
				require.NoError(t, err)
				req.Header.Set("Accept-Encoding", "gzip")
				res, err := tr.RoundTrip(req)
				if err != nil {
					return nil, "", err
				}
				defer res.Body.Close()
				var body io.Reader = res.Body
				if res.Header.Get("Content-Encoding") == "gzip" {
					zr, err := gzip.NewReader(res.Body)
					if err != nil {
						return res, "", err
					}
					body = zr
				}
				var b bytes.Buffer
				_, err = io.Copy(&b, body)
				return res, b.String(), err
			}

			leaderCtx, hangUp := context.WithCancel(context.Background())
			leaderDone := make(chan error, 1)
			go func() {
				_, _, err := send(leaderCtx)
				leaderDone <- err
			}()
			<-started
			type result struct {
				res  *http.Response
				body string
				err  error
			}
			waiter := make(chan result, 1)
			go func() {
				res, body, err := send(context.Background())
				waiter <- result{res, body, err}
			}()
			<-joined // the waiter waits for the leader
			hangUp()
			assert.Error(t, <-leaderDone, "the leader's client left")
			w := <-waiter
			require.NoError(t, w.err)
			assert.Equal(t, http.StatusOK, w.res.StatusCode)
			assert.Equal(t, "gzip", w.res.Header.Get("Content-Encoding"))
			assert.Equal(t, page, w.body, "the waiter's page, whole")
			// The abandoned run's write may succeed or fail: compress
			// behind the view sends it on once the leader's context is
			// cancelled (a half-closed client still reads), and it
			// fails only once the connection reports the client gone.
			<-abandoned

			res, body, err := send(context.Background())
			require.NoError(t, err)
			assert.Equal(t, "HIT", res.Header.Get("X-Cache"))
			assert.Equal(t, page, body, "the stored page, whole")
			assert.Equal(t, int64(2), runs.Load(), "the abandoned run and the waiter's")
		})
	}
}
