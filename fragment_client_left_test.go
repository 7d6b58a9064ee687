package caching

import (
	"context"
	"fmt"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// TestFragmentClientLeftFallbackNotStored: a render reads with the context
// of the request of its caller (as Fragment's doc has it); one that
// answers a failed read with a fallback rather than an error (an empty
// sidebar in place of a query the client's leaving cancelled) had that
// fallback stored for every page until it expired, and handed to the
// calls that joined it: a client that leaves at the right moment blanked
// the fragment for everyone. A view never stores a response made after its
// request's context ended; a render that returns after its caller's
// context ended is not stored now either, and the calls that joined it,
// their own contexts alive, render anew.
func TestFragmentClientLeftFallbackNotStored(t *testing.T) {
	for _, sk := range fallbackStores {
		t.Run(sk.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := sk.new(t)
				defer c.Close()
				key, err := FragmentKey("sidebar")
				require.NoError(t, err)
				read := make(chan struct{}) // the database answers
				render := func(ctx context.Context) func(io.Writer) error {
					return func(w io.Writer) error {
						select {
						case <-read:
							_, err := fmt.Fprint(w, "<ul><li>news</li></ul>")
							return err
						case <-ctx.Done():
							_, err := fmt.Fprint(w, "<ul></ul>") // the fail-soft fallback
							return err
						}
					}
				}
				ctx, leave := context.WithCancel(context.Background())
				go func() { _, _ = c.Fragment(ctx, key, time.Minute, render(ctx)) }()
				synctest.Wait()
				joined := make(chan string)
				go func() {
					own := context.Background()
					html, err := c.Fragment(own, key, time.Minute, render(own))
					assert.NoError(t, err)
					joined <- string(html)
				}()
				synctest.Wait()
				leave() // the first client leaves while its render reads
				synctest.Wait()
				close(read)
				assert.Equal(t, "<ul><li>news</li></ul>", <-joined, "the call that joined")

				html, err := c.Fragment(context.Background(), key, time.Minute, func(w io.Writer) error {
					_, err := fmt.Fprint(w, "rendered again")
					return err
				})
				require.NoError(t, err)
				assert.Equal(t, "<ul><li>news</li></ul>", string(html), "the stored fragment")
			})
		})
	}
}

// TestFragmentClientLeftFallbackNotStoredOnServers is
// TestFragmentClientLeftFallbackNotStored on real Redis and memcached: the
// fallback of a render whose caller left was stored there too (the store
// runs with the flight's context, not the caller's).
func TestFragmentClientLeftFallbackNotStoredOnServers(t *testing.T) {
	servers := map[string]func(t *testing.T) *Cache{
		"redis": func(t *testing.T) *Cache {
			c, _, _ := onRedis(t)
			return c
		},
		"memcached": func(t *testing.T) *Cache {
			b, err := memcached.New(memcached.Options{Servers: testutil.MemcachedAddrs(t),
				Namespace: fmt.Sprint("rdefault-fragment-", time.Now().UnixNano()), Timeout: testutil.SlowTimeout})
			require.NoError(t, err)
			c, err := New(&Options{Backend: b, Timeout: testutil.SlowTimeout})
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Clear(context.Background()); _ = c.Close() })
			return c
		},
	}
	for name, newCache := range servers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := newCache(t)
			key, err := FragmentKey("sidebar")
			require.NoError(t, err)
			ctx, leave := context.WithCancel(context.Background())
			reading := make(chan struct{})
			rendered := make(chan struct{})
			go func() {
				_, _ = c.Fragment(ctx, key, time.Minute, func(w io.Writer) error {
					defer close(rendered)
					close(reading)
					<-ctx.Done() // the read, cancelled by the client's leaving
					_, err := fmt.Fprint(w, "<ul></ul>")
					return err
				})
			}()
			<-reading
			leave()
			<-rendered
			// Whether the first render is still being stored (joined, it
			// hands on its caller's error: rendered anew) or done.
			html, err := c.Fragment(context.Background(), key, time.Minute, func(w io.Writer) error {
				_, err := fmt.Fprint(w, "<ul><li>news</li></ul>")
				return err
			})
			require.NoError(t, err)
			assert.Equal(t, "<ul><li>news</li></ul>", string(html))
		})
	}
}
