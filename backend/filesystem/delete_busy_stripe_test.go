package filesystem

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// Regression: a Delete (or Clear) that found a subdirectory's lock held by
// this process's own goroutines waited 10ms for it, then left its place in
// the line and took the last place again, round after round: under a
// steady load of writes to that subdirectory the writers always came first,
// and after 5s the Delete failed with "locked by another goroutine or
// process", the invalidation lost and the stale entries served (found by
// review of 5238a30). A stripe this process holds is waited for in turn now,
// for as long as ctx allows; only one another process holds is gone past.
func TestDeleteWaitsItsTurnBehindThisProcess(t *testing.T) {
	for _, op := range []string{"Delete", "DeleteCount", "Clear"} {
		t.Run(op, func(t *testing.T) {
			s := openInternal(t, Options{Dir: t.TempDir(), SweepInterval: -1})
			bg := context.Background()
			doomed := append(keysInSub(0x40, 3, "doomed"), keysInSub(0x41, 2, "elsewhere")...)
			for _, k := range doomed {
				require.NoError(t, s.Set(bg, k, []byte("stale"), 0))
			}

			// Writers of the same subdirectory, each in a loop.
			stop := make(chan struct{})
			var wg sync.WaitGroup
			busyKeys := keysInSub(0x40, 64, "busy")
			for _, k := range busyKeys {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						if err := s.Set(bg, k, []byte("v"), 0); err != nil {
							t.Errorf("Set: %v", err)
							return
						}
						if _, err := s.Get(bg, k); err != nil && !errors.Is(err, backend.ErrNotFound) {
							t.Errorf("Get: %v", err)
							return
						}
					}
				})
			}
			time.Sleep(50 * time.Millisecond) // not for order: the writers under way

			// A generous deadline: the Delete is not timed, it must not
			// give up while this process's writers go on.
			ctx, cancel := context.WithTimeout(bg, time.Minute)
			var err error
			n := len(doomed)
			switch op {
			case "Delete":
				err = s.Delete(ctx, doomed...)
			case "DeleteCount":
				n, err = s.DeleteCount(ctx, doomed...)
			case "Clear":
				err = s.Clear(ctx)
			}
			cancel()
			close(stop)
			wg.Wait()
			require.NoError(t, err, "%s gave up on a subdirectory this process's own writers kept busy", op)
			require.Equal(t, len(doomed), n, "DeleteCount counts the keys it deleted")
			requireGone(t, s, doomed)
		})
	}
}

// requireGone fails unless every one of keys is a miss.
func requireGone(t *testing.T, s *Store, keys []string) {
	t.Helper()
	for _, k := range keys {
		_, err := s.Get(context.Background(), k)
		require.ErrorIs(t, err, backend.ErrNotFound, "%s is still served", k)
	}
}
