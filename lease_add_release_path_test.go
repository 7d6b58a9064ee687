package caching

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// beforeAdd is an onLeaseAdd that runs before, then the Add: another
// process's run that ends between a miss and its Add.
func beforeAdd(before func()) func(add func() (bool, error)) (bool, error) {
	return func(add func() (bool, error)) (bool, error) {
		before()
		return add()
	}
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
	cases := map[string]func(t *testing.T, a, q *Cache, b *heldLeaseDeletes) (get func() string, want string){
		"Memoize found": func(t *testing.T, a, q *Cache, b *heldLeaseDeletes) (func() string, string) {
			fn := func(context.Context, int) (string, error) { return "computed", nil }
			ma, mq := Memoize(a, "f", fn), Memoize(q, "f", fn)
			b.setOnLeaseAdd(beforeAdd(func() { require.NoError(t, mq.Set(context.Background(), 1, "set by q")) }))
			return func() string {
				v, err := ma.Get(context.Background(), 1)
				assert.NoError(t, err)
				return v
			}, "set by q"
		},
		"view found": func(t *testing.T, a, q *Cache, b *heldLeaseDeletes) (func() string, string) {
			ha := a.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, "a")
			}))
			hq := q.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, "q")
			}))
			b.setOnLeaseAdd(beforeAdd(func() {
				assert.Equal(t, "q", get(hq, "/p").Body.String())
				q.background.wait() // q's lease released
			}))
			return func() string { return get(ha, "/p").Body.String() }, "q"
		},
		"view rekeyed": func(t *testing.T, a, q *Cache, b *heldLeaseDeletes) (func() string, string) {
			page := func(c *Cache, who string) http.Handler {
				return c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Vary", "Accept-Language")
					fmt.Fprint(w, who+" "+r.Header.Get("Accept-Language"))
				}))
			}
			ha, hq := page(a, "a"), page(q, "q")
			b.setOnLeaseAdd(beforeAdd(func() {
				assert.Equal(t, "q fr", get(hq, "/p", "Accept-Language", "fr").Body.String())
				q.background.wait()
			}))
			return func() string { return get(ha, "/p", "Accept-Language", "en").Body.String() }, "a en"
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newHeldLeaseDeletes(t)
				a, q := leased(b), leased(b.Store)
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
				require.Nil(t, b.onLeaseAdd.Load(), "the other process's run came before the Add")
				b.Unblock()
				require.NoError(t, a.Close())
				assert.True(t, b.deleted.Load(), "the lease is deleted before Close returns")
				assert.Zero(t, a.Stats().LeaseWaits)
			})
		})
	}
}
