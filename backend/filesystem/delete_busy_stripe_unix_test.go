//go:build unix

package filesystem

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A Delete or Clear waiting in line for a subdirectory behind a goroutine
// of this process (a Set) that waits on another process's lock still goes
// past it, as past a lock another process holds itself, and comes back to
// it: waiting its turn (see TestDeleteWaitsItsTurnBehindThisProcess) does
// not make the other keys wait for that process.
func TestDeleteGoesPastALineWaitingOnAnotherProcess(t *testing.T) {
	defer func(p time.Duration) { clearPatience = p }(clearPatience)
	clearPatience = 200 * time.Millisecond
	for _, op := range []string{"Delete", "Clear"} {
		t.Run(op, func(t *testing.T) {
			s := openInternal(t, Options{Dir: t.TempDir(), SweepInterval: -1})
			locked, free := clearLockedSetUp(t, s)
			release := holdSubLock(t, s, "00")

			// A Set of this process waits on the other process's lock,
			// holding the subdirectory's place in this process.
			setCtx, stopSet := context.WithCancel(context.Background())
			defer stopSet()
			setDone := make(chan error, 1)
			go func() { setDone <- s.Set(setCtx, keysInSub(0x00, 2, "locked")[1], []byte("v"), 0) }()
			<-s.stripes[0].otherHolds() // closed once the Set found the lock held

			run := func() error {
				if op == "Clear" {
					return s.Clear(context.Background())
				}
				return s.Delete(context.Background(), append([]string{locked}, free...)...)
			}
			done := make(chan error, 1)
			go func() { done <- run() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				t.Fatalf("%s still waiting behind the Set after a minute", op)
			}
			t.Logf("%s: %v", op, err)
			requireDeleted(t, s, free, err)
			require.ErrorContains(t, err, "subdirectory 00 of ")

			// The other process lets go: the Set goes through, and so
			// does a Delete or Clear after it.
			release()
			require.NoError(t, <-setDone)
			require.NoError(t, run())
			requireDeleted(t, s, []string{locked}, nil)
		})
	}
}
