package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowLeaseReads is a remote store whose reads of lease keys take until
// the caller gives up (a slow Redis), telling entered when one begins.
type slowLeaseReads struct {
	*remote
	once    sync.Once
	entered chan struct{}
}

func (s *slowLeaseReads) Get(ctx context.Context, key string) ([]byte, error) {
	if strings.HasPrefix(key, kindLease) {
		s.once.Do(func() { close(s.entered) })
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.remote.Get(ctx, key)
}

// A waiter whose client leaves while one of the lease's backend calls is
// in flight stops waiting, as one whose client leaves between two polls
// does: it does not run the handler for nobody, and its client's leaving is
// not a backend error.
func TestLeaseWaiterClientLeavingDuringAPollRunsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _, s := leasePair(t, Options{Lease: time.Hour})
		slow := &slowLeaseReads{remote: s, entered: make(chan struct{})}
		b, err := New(&Options{Backend: slow, Lease: time.Hour})
		require.NoError(t, err)
		t.Cleanup(func() { b.Close() })
		h := newGate(http.StatusOK)
		quick := &counter{body: "page"}
		va, vb := a.Cached(time.Hour)(h), b.Cached(time.Hour)(quick)
		held := getAll(va, "/p", 1)
		synctest.Wait() // a holds the lease

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			vb.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/p", nil).WithContext(ctx))
			close(done)
		}()
		<-slow.entered // b reads the lease, slowly
		cancel()       // and its client leaves meanwhile
		<-done
		assert.Equal(t, int64(0), quick.calls.Load(), "b ran the handler for a client that left")
		assert.Equal(t, int64(0), b.Stats().Errors, "a client leaving counted as a backend error")
		close(h.open)
		held()
	})
}
