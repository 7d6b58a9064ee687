package caching

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// beforeLeaseAdd is heldLeaseDeletes that runs before, once set, before
// its next lease Add: another process's run that ends between a miss and
// its Add.
type beforeLeaseAdd struct {
	*heldLeaseDeletes
	before atomic.Pointer[func()]
}

func (s *beforeLeaseAdd) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if strings.Contains(key, kindLease) {
		if f := s.before.Swap(nil); f != nil {
			(*f)()
		}
	}
	return s.Store.Add(ctx, key, value, ttl)
}

// TestLeaseAddReleaseOffThePath: a miss adds the key's lease and looks the
// entry up again; another process stored it between the miss and the Add
// (found), or stored the page's Vary record, another variant's, so that
// the miss takes its own variant's lease instead (rekeyed). The lease the
// miss added is deleted then. Its request or call is answered while that
// Delete still waits for the backend (before, it waited for the round
// trip, a whole Timeout on a hung backend), and the Delete is made before
// Close returns.
func TestLeaseAddReleaseOffThePath(t *testing.T) {
	cases := map[string]func(t *testing.T, a, q *Cache, b *beforeLeaseAdd) (get func() string, want string){
		"Memoize found": func(t *testing.T, a, q *Cache, b *beforeLeaseAdd) (func() string, string) {
			fn := func(context.Context, int) (string, error) { return "computed", nil }
			ma, mq := Memoize(a, "f", fn), Memoize(q, "f", fn)
			before := func() { require.NoError(t, mq.Set(context.Background(), 1, "set by q")) }
			b.before.Store(&before)
			return func() string {
				v, err := ma.Get(context.Background(), 1)
				assert.NoError(t, err)
				return v
			}, "set by q"
		},
		"view found": func(t *testing.T, a, q *Cache, b *beforeLeaseAdd) (func() string, string) {
			ha := a.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, "a")
			}))
			hq := q.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, "q")
			}))
			before := func() {
				assert.Equal(t, "q", get(hq, "/p").Body.String())
				q.background.wait() // q's lease released
			}
			b.before.Store(&before)
			return func() string { return get(ha, "/p").Body.String() }, "q"
		},
		"view rekeyed": func(t *testing.T, a, q *Cache, b *beforeLeaseAdd) (func() string, string) {
			page := func(c *Cache, who string) http.Handler {
				return c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Vary", "Accept-Language")
					fmt.Fprint(w, who+" "+r.Header.Get("Accept-Language"))
				}))
			}
			ha, hq := page(a, "a"), page(q, "q")
			before := func() {
				assert.Equal(t, "q fr", get(hq, "/p", "Accept-Language", "fr").Body.String())
				q.background.wait()
			}
			b.before.Store(&before)
			return func() string { return get(ha, "/p", "Accept-Language", "en").Body.String() }, "a en"
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := &beforeLeaseAdd{heldLeaseDeletes: newHeldLeaseDeletes(t)}
				a := Must(&Options{Backend: &remote{Backend: b}, Lease: time.Minute, Timeout: time.Hour})
				q := Must(&Options{Backend: &remote{Backend: b.Store}, Lease: time.Minute, Timeout: time.Hour})
				defer q.Close()
				defer a.Close()
				get, want := tc(t, a, q, b)
				b.armed.Store(true)
				done := make(chan struct{})
				defer func() { b.Unblock(); <-done }()
				var got string
				go func() {
					defer close(done)
					got = get()
				}()
				<-b.entered
				synctest.Wait()
				select {
				case <-done:
				default:
					t.Error("the miss waits for the Delete of the lease it added")
					b.Unblock()
					<-done
				}
				assert.Equal(t, want, got)
				require.Nil(t, b.before.Load(), "the other process's run came before the Add")
				b.Unblock()
				require.NoError(t, a.Close())
				assert.True(t, b.deleted.Load(), "the lease is deleted before Close returns")
				assert.Zero(t, a.Stats().LeaseWaits)
			})
		})
	}
}
