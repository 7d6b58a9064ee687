package main

// invalidate.go: invalidations that must not be lost. A write that has
// succeeded invalidates what it made stale; when the cache is down then,
// the write has still happened, and the entries stored before it would be
// served again, stale, once the cache is back, until their TTL ends. So a
// failed invalidation is retried in the background until the cache answers,
// as the library does for the paths of InvalidateOnWrite. (The jobs need
// none of this: a job whose invalidation fails fails, and River retries it.)

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Settings of the retries: the first after retryFirst, then twice as long
// each time, at most retryMax apart; each attempt may take retryTimeout.
// At most maxPendingRetries invalidations wait (one per key: every product
// write shares one, a sale one per user and month), so that a client cannot
// make the set grow without bound during an outage.
const (
	retryFirst        = 100 * time.Millisecond
	retryMax          = 5 * time.Second
	retryTimeout      = 5 * time.Second
	maxPendingRetries = 4096
)

// retrier runs invalidations and retries those that fail. Its zero value
// is not usable: use newRetrier. It is safe for concurrent use.
type retrier struct {
	log     *slog.Logger
	mu      sync.Mutex
	pending map[string]pendingInvalidation
	gen     uint64 // numbers the pendings, so that a retry removes only the one it ran
	running bool
	closed  bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

// pendingInvalidation is an invalidation waiting for its retry.
type pendingInvalidation struct {
	fn  func(context.Context) error
	gen uint64
}

func newRetrier(log *slog.Logger) *retrier {
	return &retrier{log: log, pending: map[string]pendingInvalidation{}, stop: make(chan struct{})}
}

// do runs fn, an invalidation, once, whether or not ctx is cancelled (a
// client that hangs up after its write must not leave the write's
// invalidation undone). If it fails, do returns the error and retries fn
// in the background, under key (an invalidation waiting under the same key
// is replaced: they do the same), until it succeeds or close is called.
func (q *retrier) do(ctx context.Context, key string, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), retryTimeout)
	err := fn(ctx)
	cancel()
	if err == nil {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return err
	}
	if _, ok := q.pending[key]; !ok && len(q.pending) >= maxPendingRetries {
		q.log.Error("catalog: too many invalidations waiting; this one is not retried", "key", key)
		return err
	}
	q.gen++
	q.pending[key] = pendingInvalidation{fn: fn, gen: q.gen}
	if !q.running {
		q.running = true
		q.wg.Add(1)
		go q.loop()
	}
	return err
}

// loop retries the pending invalidations until none is left.
func (q *retrier) loop() {
	defer q.wg.Done()
	wait := retryFirst
	for {
		select {
		case <-q.stop:
			return
		case <-time.After(wait):
		}
		q.mu.Lock()
		batch := make(map[string]pendingInvalidation, len(q.pending))
		for k, p := range q.pending {
			batch[k] = p
		}
		q.mu.Unlock()
		failed := false
		for k, p := range batch {
			ctx, cancel := context.WithTimeout(context.Background(), retryTimeout)
			err := p.fn(ctx)
			cancel()
			if err != nil {
				failed = true
				continue
			}
			q.mu.Lock()
			if q.pending[k].gen == p.gen { // else a write since then failed again: retry it
				delete(q.pending, k)
			}
			q.mu.Unlock()
			q.log.Info("catalog: invalidation retried", "key", k)
		}
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		if failed {
			wait = min(2*wait, retryMax)
		} else {
			wait = retryFirst // added while this round ran
		}
	}
}

// len is the number of invalidations waiting.
func (q *retrier) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}

// close stops the retries and waits for the loop to end; the invalidations
// still waiting are dropped. It is idempotent.
func (q *retrier) close() error {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.stop)
	}
	q.mu.Unlock()
	q.wg.Wait()
	return nil
}
