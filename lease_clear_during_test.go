package caching

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-caching/caching/backend/simple"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clearsInSteps is a Store whose Clear waits for deleteNow before it
// deletes, then for finish before it returns: a Clear in progress on a
// large namespace. Its Delete of a lease key, once armed, fails with err
// without deleting it: a release that never reached the backend.
type clearsInSteps struct {
	*simple.Store
	armed             atomic.Bool
	err               error
	entered, deleted  chan struct{} // closed by Clear as it begins, once it deleted
	deleteNow, finish chan struct{}
}

func (s *clearsInSteps) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if strings.Contains(k, kindLease) && s.armed.Load() {
			return s.err
		}
	}
	return s.Store.Delete(ctx, keys...)
}

func (s *clearsInSteps) Clear(ctx context.Context) error {
	close(s.entered)
	<-s.deleteNow
	err := s.Store.Clear(ctx)
	close(s.deleted)
	<-s.finish
	return err
}

// Regression: a lease whose Add was sent while a Clear of this process was
// in progress, its release failing without reaching the backend, was kept
// as this process's until that Clear returned, though the Clear may delete
// it after it landed. Another process's miss then added the key's lease
// and computed, and this process's next miss, still within the Clear,
// took that lease for the one it kept and computed beside it. Such a lease
// is not kept: the miss waits for the other process's result.
func TestLeaseAddedDuringClearNotKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &clearsInSteps{Store: newSimple(t, nil), err: failedReleases[0].err,
			entered: make(chan struct{}), deleted: make(chan struct{}),
			deleteNow: make(chan struct{}), finish: make(chan struct{})}
		finish := sync.OnceFunc(func() { close(b.finish) })
		defer finish()
		k := newClearedKey(t, b, time.Hour)
		var cleared sync.WaitGroup
		cleared.Go(func() { assert.NoError(t, k.caches[0].Clear(context.Background())) })
		<-b.entered // A's Clear began
		b.armed.Store(true)
		v, err := k.ms[0].Get(context.Background(), 1) // its lease's Add lands before the Clear deletes
		require.NoError(t, err)
		require.EqualValues(t, 1, v)
		synctest.Wait() // A's release failed without reaching the backend
		b.armed.Store(false)
		close(b.deleteNow)
		<-b.deleted // the Clear deleted A's lease and entry, and has not returned
		k.otherLeads(t)
		finish()
		cleared.Wait()
	})
}
