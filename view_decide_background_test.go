package caching

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// heldPathDeletes is a remote backend (encoded entries, no Go values)
// whose Deletes of path version keys wait until release is closed; entered
// is closed as the first one starts.
type heldPathDeletes struct {
	backend.Backend
	entered, release chan struct{}
	once             sync.Once
}

func (s *heldPathDeletes) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if strings.HasPrefix(k, kindPath) {
			s.once.Do(func() { close(s.entered) })
			<-s.release
			break
		}
	}
	return s.Backend.Delete(ctx, keys...)
}

// TestRefusedResponseSentBeforePathKeyDeleted: a miss of a path without a
// path version key creates one (view.run), and, its response refused (a
// private page, a cookie, a 404: every request of such a path), deletes it
// again. Over HTTP/1.1 net/http sends a small response only once ServeHTTP
// returns: a delete made before then held the client's complete response
// for a backend round trip, or Options.Timeout against a slow backend.
// Served by a real server to an HTTP/1.1 client, the response must arrive
// while the delete is held, and the key still be deleted after.
func TestRefusedResponseSentBeforePathKeyDeleted(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   Options
		shared bool
		hdr    []string // the request's header fields
		cc     string   // the response's Cache-Control
	}{
		{"leader-private", Options{}, false, nil, "private"},
		{"leader-no-store", Options{}, false, nil, "no-store"},
		{"lease-private", Options{Lease: time.Minute}, false, nil, "private"},
		// Authorization in a SharedCache view without UserKey: the run
		// leads no flight (forgetCreated: an entry check, then the delete).
		{"no-flight", Options{}, true, []string{"Authorization", "Bearer x"}, "max-age=60"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &heldPathDeletes{Backend: &remote{Backend: newSimple(t, nil)}, entered: make(chan struct{}), release: make(chan struct{})}
			opts := tc.opts
			opts.Backend = b
			c := Must(&opts)
			release := sync.OnceFunc(func() { close(b.release) })
			defer c.Close()
			defer release()
			var vopts []ViewOption
			if tc.shared {
				vopts = append(vopts, SharedCache())
			}
			vh := c.Cached(time.Minute, vopts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", tc.cc)
				fmt.Fprint(w, "page")
			}))
			srv := httptest.NewServer(vh)
			defer srv.Close()
			client := srv.Client() // HTTP/1.1

			type answer struct {
				code int
				body string
				err  error
			}
			answered := make(chan answer, 1)
			go func() {
				req, err := http.NewRequest(http.MethodGet, srv.URL+"/account", nil)
				if err != nil {
					answered <- answer{err: err}
					return
				}
				for i := 0; i+1 < len(tc.hdr); i += 2 {
					req.Header.Set(tc.hdr[i], tc.hdr[i+1])
				}
				resp, err := client.Do(req)
				if err != nil {
					answered <- answer{err: err}
					return
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				answered <- answer{resp.StatusCode, string(body), err}
			}()
			select {
			case a := <-answered:
				require.NoError(t, a.err)
				assert.Equal(t, http.StatusOK, a.code)
				assert.Equal(t, "page", a.body)
			case <-time.After(10 * time.Second): // a bound on a failure, not a synchronisation
				t.Error("the client's response waits for the delete of the path key")
				release()
				<-answered
			}
			select {
			case <-b.entered: // the delete is made, after the response
			case <-time.After(10 * time.Second):
				t.Error("the path key is not deleted")
			}
			release()
			srv.Close() // the handler, and so ServeHTTP, has returned
			c.wait()    // the decision, if handed on
			raw, err := b.Backend.Get(context.Background(), c.pathTagKey("/account"))
			assert.ErrorIs(t, err, ErrNotFound, "the path key of the refused response is deleted (%q)", raw)
		})
	}
}

// TestNextRequestAfterRefusedWaitsForDecision: a request of a path whose
// response is refused (a private page of /account?me) deletes the path
// version key its run created after its response is sent; the next request
// of the path (/account, a public page, which stores its entry under the
// key), sent once that response arrived, must not read the key before the
// delete and store its entry under a deleted version: the entry must be a
// hit after.
func TestNextRequestAfterRefusedWaitsForDecision(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := &heldPathDeletes{Backend: &remote{Backend: newSimple(t, nil)}, entered: make(chan struct{}), release: make(chan struct{})}
				c := Must(&Options{Backend: b})
				release := sync.OnceFunc(func() { close(b.release) })
				defer c.Close()
				defer release()
				var vopts []ViewOption
				if shared {
					vopts = append(vopts, SharedCache())
				}
				var calls atomic.Int32
				vh := c.Cached(time.Minute, vopts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					if r.URL.Query().Has("me") {
						w.Header().Set("Cache-Control", "private")
					} else {
						w.Header().Set("Cache-Control", "max-age=60")
					}
					fmt.Fprint(w, "page")
				}))
				first := make(chan *httptest.ResponseRecorder, 1)
				go func() { first <- get(vh, "/account?me") }()
				synctest.Wait() // answered, the delete of its path key held
				select {
				case w := <-first:
					assert.Equal(t, "page", w.Body.String())
				default:
					t.Error("the response waits for the delete of the path key")
					release()
					<-first
				}
				next := make(chan *httptest.ResponseRecorder, 1)
				go func() { next <- get(vh, "/account") }()
				synctest.Wait() // the next request runs, or waits for the decision
				release()
				w := <-next
				assert.Equal(t, "page", w.Body.String())
				c.wait()
				assert.Equal(t, "page", get(vh, "/account").Body.String())
				assert.EqualValues(t, 2, calls.Load(), "the next request's entry is a hit")
			})
		})
	}
}
