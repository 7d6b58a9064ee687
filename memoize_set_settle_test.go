package caching

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeSetSettlesBeforeStore: a Refresh (the first) computes after an
// update; a second Refresh supersedes it and is slow to begin; a Set is
// made meanwhile, and the second begins computing after Set's supersede.
// Set stored its result, then settled what the first was owed: the second,
// whose fn failed in between, found the first's unstored result still
// owed and removed Set's result, which Set's caller was told was stored.
// Now Set settles before its store lands (both holding its key's write
// lock): the second keeps Set's result. Where Set's store fails after
// that, Set removes the entry itself if something was owed, so that the
// entry of the data before the first Refresh is never served: at most an
// entry is lost, never a stale one kept.
func TestMemoizeSetSettlesBeforeStore(t *testing.T) {
	for _, st := range setOrderStores {
		t.Run(st.name, func(t *testing.T) {
			for _, refused := range []bool{false, true} {
				name := "stored"
				if refused {
					name = "store refused"
				}
				t.Run(name, func(t *testing.T) {
					ctx := context.Background()
					env := newSetOrderEnv(t, st.open)
					inFirst, releaseFirst := make(chan struct{}), make(chan struct{})
					inSecond, releaseSecond := make(chan struct{}), make(chan struct{})
					var calls atomic.Int64
					env.call = func() (string, error) {
						switch calls.Add(1) {
						case 1: // the first Refresh's: the new data
							close(inFirst)
							<-releaseFirst
							return "new", nil
						case 2: // the second's: fails while Set's store is held
							close(inSecond)
							<-releaseSecond
							return "", errors.New("db: timeout")
						}
						return env.data.Load().(string), nil
					}
					first := make(chan error, 1)
					go func() { _, err := env.m.Refresh(ctx, 1); first <- err }()
					<-inFirst
					releaseTags := env.holdTags()
					second := make(chan error, 1)
					go func() { _, err := env.m.Refresh(ctx, 1); second <- err }()
					<-env.inTags // the second has superseded the first
					// Set's store of the entry is held once made (or refused).
					inStore, releaseStore := make(chan struct{}), make(chan struct{})
					env.h.on(env.key, func(write func() error) error {
						err := errOOM // as Redis refuses it under maxmemory
						if !refused {
							err = write()
						}
						close(inStore)
						<-releaseStore
						return err
					})
					set := make(chan error, 1)
					go func() { set <- env.m.Set(ctx, 1, "set") }()
					<-inStore
					env.h.off()
					releaseTags()
					<-inSecond // the second computes, begun after Set's supersede
					// The first ends (it waits for Set's write to land:
					// superseded, it decides holding the key's write lock),
					// and the second fails while Set's store is held.
					close(releaseFirst)
					close(releaseSecond)
					require.Error(t, <-second, "the second's fn failed")
					close(releaseStore)
					err := <-set
					require.NoError(t, <-first, "the first Refresh reports success")

					v, _, perr := env.m.Peek(ctx, 1)
					if refused {
						require.Error(t, err)
						assert.NotEqual(t, "old", v, "the entry the first Refresh replaced is served")
						return
					}
					require.NoError(t, err)
					require.NoError(t, perr, "Set's result, which its caller was told was stored, was removed")
					assert.Equal(t, "set", v)
				})
			}
		})
	}
}
