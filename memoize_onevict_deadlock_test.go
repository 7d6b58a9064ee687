package caching

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-caching/caching/backend/simple"
)

// TestMemoizeOnEvictForgetDoesNotDeadlock: an in-process store's OnEvict
// runs in the goroutine whose write evicted, and a Memoize write (Set's
// store, a computation's) was made holding its key's write lock, which
// lockWrite waits for without bound in process. An OnEvict that forgets
// the evicted argument (to drop what the program keeps beside the cache)
// then waited, holding the lock of the key being written, for the lock of
// the evicted key; two goroutines whose writes each evicted the other's
// key waited for each other for ever. Evictions are now told once the
// write lock is released.
//
// The store holds one entry: the first writer (of a) evicts b, and waits
// in OnEvict until the second writer (of b), which evicts a, is in OnEvict
// too; then both forget. The wait for both is a liveness bound.
func TestMemoizeOnEvictForgetDoesNotDeadlock(t *testing.T) {
	writes := []struct {
		name  string
		write func(ctx context.Context, m *Memoized[string, string], a string) error
	}{
		{"Set", func(ctx context.Context, m *Memoized[string, string], a string) error {
			return m.Set(ctx, a, "set "+a)
		}},
		{"Get", func(ctx context.Context, m *Memoized[string, string], a string) error {
			_, err := m.Get(ctx, a)
			return err
		}},
		{"Refresh", func(ctx context.Context, m *Memoized[string, string], a string) error {
			_, err := m.Refresh(ctx, a)
			return err
		}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			ctx := context.Background()
			var (
				m       *Memoized[string, string]
				args    = map[string]string{} // backend key -> argument; written before the first eviction
				armed   atomic.Bool
				inEvict = make(chan string, 8)
				release = make(chan struct{})
			)
			s, err := simple.New(simple.Options{MaxEntries: 1, Shards: 1, SweepInterval: -1,
				OnEvict: func(key string) {
					if armed.Load() {
						select {
						case inEvict <- args[key]:
						default:
						}
						<-release
					}
					_ = m.Forget(context.Background(), args[key])
				}})
			if err != nil {
				t.Fatal(err)
			}
			c, err := New(&Options{Backend: s})
			if err != nil {
				t.Fatal(err)
			}
			m = Memoize(c, "onevict-forget", func(_ context.Context, a string) (string, error) { return "computed " + a, nil })
			for _, a := range []string{"a", "b"} {
				k, err := m.Key(a)
				if err != nil {
					t.Fatal(err)
				}
				args[k] = a
			}
			if err := m.Set(ctx, "b", "old b"); err != nil { // the store's one entry
				t.Fatal(err)
			}
			armed.Store(true)

			done := make(chan error, 2)
			waitEvict := func(want string) {
				t.Helper()
				select {
				case got := <-inEvict:
					if got != want {
						t.Fatalf("OnEvict told of %q, want %q", got, want)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("no eviction of %q within 5s", want)
				}
			}
			go func() { done <- w.write(ctx, m, "a") }() // evicts b
			waitEvict("b")
			go func() { done <- w.write(ctx, m, "b") }() // evicts a
			waitEvict("a")
			close(release)
			for range 2 {
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("%s: %v", w.name, err)
					}
				case <-time.After(5 * time.Second):
					// The goroutines are stuck for good: the Cache is
					// not closed (Close may wait for them).
					t.Fatalf("%s of two arguments whose OnEvict forgets the other's: no return within 5s (deadlock)", w.name)
				}
			}
			c.Close()
		})
	}
}

// TestMemoizeOnEvictClearDoesNotDeadlock: a computation's store was made
// holding the read lock that a Clear's start takes for writing
// (store.unlessCleared), and the store's OnEvict ran within it: an OnEvict
// that clears the Cache (a program that drops everything once the store
// is full) waited for its own goroutine for ever, on the Get whose result
// evicted. Evictions are now told once the store's locks are released.
func TestMemoizeOnEvictClearDoesNotDeadlock(t *testing.T) {
	var c *Cache
	s, err := simple.New(simple.Options{MaxEntries: 1, Shards: 1, SweepInterval: -1,
		OnEvict: func(string) { _ = c.Clear(context.Background()) }})
	if err != nil {
		t.Fatal(err)
	}
	c, err = New(&Options{Backend: s})
	if err != nil {
		t.Fatal(err)
	}
	m := Memoize(c, "onevict-clear", func(_ context.Context, a string) (string, error) { return "computed " + a, nil })
	done := make(chan error, 1)
	go func() {
		for _, a := range []string{"a", "b"} { // b's store evicts a
			if _, err := m.Get(context.Background(), a); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a Get whose store evicted, with an OnEvict that clears the Cache: no return within 5s (deadlock)")
	}
	c.Close()
}
