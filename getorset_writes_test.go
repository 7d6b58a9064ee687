package caching

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// writeDuringLoad runs the cache-aside sequence "update the database, then
// write or delete the cache key" while a GetOrSet[string] of key that read
// the database before the update is still loading: it starts that load,
// updates db to "new", calls write, then starts a second GetOrSet of key
// (loading db) and lets the first load return. It returns what the second
// caller got and what is stored under key afterwards. synctest.Wait makes
// sure each step has happened before the next, with no sleep.
func writeDuringLoad(t *testing.T, c *Cache, key string, write func(ctx context.Context) error) (after, stored string) {
	ctx := t.Context()
	var db atomic.Value
	db.Store("old")
	load := func(context.Context) (string, error) { return db.Load().(string), nil }
	release, first := make(chan struct{}), make(chan error, 1)
	go func() {
		_, err := GetOrSet(ctx, c, key, time.Hour, func(ctx context.Context) (string, error) {
			v, err := load(ctx) // read before the update
			<-release
			return v, err
		})
		first <- err
	}()
	synctest.Wait() // the first caller loads "old"
	db.Store("new")
	require.NoError(t, write(ctx))
	second := make(chan string, 1)
	go func() {
		v, err := GetOrSet(ctx, c, key, time.Hour, load)
		assert.NoError(t, err)
		second <- v
	}()
	synctest.Wait() // the second caller has loaded, or waits for the first
	close(release)
	require.NoError(t, <-first)
	after = <-second
	stored, err := GetAs[string](ctx, c, key)
	require.NoError(t, err)
	return after, stored
}

// TestGetOrSetAfterDelete: a GetOrSet load that read the data before an
// update used to store its value after the Delete that followed the update
// (caching the old data for the whole TTL), and a GetOrSet made after that
// Delete returned joined the load and got the old value. Now the old load
// stores nothing, and a caller that comes after any delete of the key loads
// anew: Delete, DeleteMany and Clear alike.
func TestGetOrSetAfterDelete(t *testing.T) {
	for name, del := range map[string]func(c *Cache, ctx context.Context) error{
		"Delete": func(c *Cache, ctx context.Context) error { return c.Delete(ctx, "user:42") },
		"DeleteMany": func(c *Cache, ctx context.Context) error {
			_, err := c.DeleteMany(ctx, "other", "user:42")
			return err
		},
		"Clear": func(c *Cache, ctx context.Context) error { return c.Clear(ctx) },
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				after, stored := writeDuringLoad(t, c, "user:42", func(ctx context.Context) error { return del(c, ctx) })
				assert.Equal(t, "new", after, "a GetOrSet made after the delete got the value loaded before it")
				assert.Equal(t, "new", stored, "the value loaded before the delete was stored after it")
			})
		})
	}
}

// TestGetOrSetAfterSet: a value written by Set, SetAs, SetMany or Add while
// a GetOrSet load of its key ran used to be overwritten by the load's older
// value. Now the write stays, and callers that come after it get it.
func TestGetOrSetAfterSet(t *testing.T) {
	for name, set := range map[string]func(c *Cache, ctx context.Context) error{
		"Set":   func(c *Cache, ctx context.Context) error { return c.Set(ctx, "user:42", []byte(`"new"`), time.Hour) },
		"SetAs": func(c *Cache, ctx context.Context) error { return SetAs(ctx, c, "user:42", "new", time.Hour) },
		"SetMany": func(c *Cache, ctx context.Context) error {
			return c.SetMany(ctx, map[string][]byte{"user:42": []byte(`"new"`), "other": []byte(`"x"`)}, time.Hour)
		},
		"Add": func(c *Cache, ctx context.Context) error {
			added, err := c.Add(ctx, "user:42", []byte(`"new"`), time.Hour)
			assert.True(t, added)
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				after, stored := writeDuringLoad(t, c, "user:42", func(ctx context.Context) error { return set(c, ctx) })
				assert.Equal(t, "new", after)
				assert.Equal(t, "new", stored, "the write was overwritten by a load that began before it")
			})
		})
	}
}

// TestGetOrSetAfterIncr: a counter written by Incr while a GetOrSet load of
// its key ran is not reset by the load's older value.
func TestGetOrSetAfterIncr(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		ctx := t.Context()
		release, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			_, err := GetOrSet(ctx, c, "hits", time.Hour, func(context.Context) (int64, error) {
				<-release
				return 100, nil
			})
			assert.NoError(t, err)
		}()
		synctest.Wait()
		n, err := c.Incr(ctx, "hits", 1)
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
		close(release)
		<-done
		n, err = GetAs[int64](ctx, c, "hits")
		require.NoError(t, err)
		assert.Equal(t, int64(1), n, "the counter was reset by a load that began before Incr")
	})
}

// TestGetOrSetWriteOfOtherKey: a write or delete of another key does not
// stop a load in flight from storing its value: the guard is per key.
func TestGetOrSetWriteOfOtherKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		_, stored := writeDuringLoad(t, c, "user:42", func(ctx context.Context) error {
			if err := c.Set(ctx, "user:7", []byte("x"), time.Hour); err != nil {
				return err
			}
			return c.Delete(ctx, "user:7")
		})
		assert.Equal(t, "old", stored, "the load's value was not stored though its key was not written")
	})
}

// TestFragmentAfterDelete: a render that began before c.Delete of its
// FragmentKey (how FragmentKey's doc says to clear a fragment) used to be
// stored after the Delete, and a Fragment call made after the Delete got
// it. Now it is not stored, and the later call renders anew.
func TestFragmentAfterDelete(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		ctx := t.Context()
		key, err := FragmentKey("sidebar")
		require.NoError(t, err)
		render := func(html string, release <-chan struct{}) func(io.Writer) error {
			return func(w io.Writer) error {
				if release != nil {
					<-release
				}
				_, err := io.WriteString(w, html)
				return err
			}
		}
		release, first := make(chan struct{}), make(chan error, 1)
		go func() {
			_, err := c.Fragment(ctx, key, time.Hour, render("old categories", release))
			first <- err
		}()
		synctest.Wait()
		require.NoError(t, c.Delete(ctx, key))
		second := make(chan string, 1)
		go func() {
			html, err := c.Fragment(ctx, key, time.Hour, render("new categories", nil))
			assert.NoError(t, err)
			second <- string(html)
		}()
		synctest.Wait()
		close(release)
		require.NoError(t, <-first)
		assert.Equal(t, "new categories", <-second, "a Fragment call made after the Delete got the render begun before it")
		html, err := c.Fragment(ctx, key, time.Hour, render("third render", nil))
		require.NoError(t, err)
		assert.Equal(t, "new categories", string(html), "the render begun before the Delete was stored after it")
	})
}

// blockedSet is a backend whose first Set waits for release: a write that
// takes its time.
type blockedSet struct {
	backend.Backend
	release chan struct{}
	blocked atomic.Bool
}

func (b *blockedSet) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if b.blocked.CompareAndSwap(false, true) {
		<-b.release
	}
	return b.Backend.Set(ctx, key, v, ttl)
}

// TestGetOrSetDuringSet: a GetOrSet load that begins while a Set of its key
// is under way (its value may be older than the Set's) and ends after the
// Set returned does not store its value over the Set's.
func TestGetOrSetDuringSet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &blockedSet{Backend: newSimple(t, nil), release: make(chan struct{})}
		c := Must(&Options{Backend: b})
		defer c.Close()
		ctx := t.Context()
		set := make(chan error, 1)
		go func() { set <- SetAs(ctx, c, "user:42", "new", time.Hour) }()
		synctest.Wait() // the Set is under way
		release, loaded := make(chan struct{}), make(chan string, 1)
		go func() {
			v, err := GetOrSet(ctx, c, "user:42", time.Hour, func(context.Context) (string, error) {
				<-release
				return "loaded", nil
			})
			assert.NoError(t, err)
			loaded <- v
		}()
		synctest.Wait() // the load has begun
		close(b.release)
		require.NoError(t, <-set)
		close(release)
		assert.Equal(t, "loaded", <-loaded, "its own caller gets the load's value")
		v, err := GetAs[string](ctx, c, "user:42")
		require.NoError(t, err)
		assert.Equal(t, "new", v, "a load that began during the Set was stored after it")
	})
}
