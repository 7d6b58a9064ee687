package caching

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
)

// decisionRecorder is an in-process store (a backend.ValueStore) that
// records, at each Delete of path version keys, how many decisions the
// Cache had handed on to goroutines of their own.
type decisionRecorder struct {
	*simple.Store
	c       *Cache
	deletes atomic.Int32
	handed  atomic.Int64 // the most decisions pending at a delete
}

func (s *decisionRecorder) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if strings.HasPrefix(k, kindPath) {
			s.deletes.Add(1)
			s.handed.Store(max(s.handed.Load(), int64(s.c.decisions.Load()), s.c.store.deciding.n.Load()))
			break
		}
	}
	return s.Store.Delete(ctx, keys...)
}

// TestRefusedPathKeyDecidedInlineInProcess: on an in-process store the
// decision for a refused run's path version key is a delete in memory,
// with no round trip to take off the response's path: handing it to a
// goroutine (a copy of the request, 11 allocations more) made a refused
// response about 1.8 times as slow, and the next miss of the path wait
// for it. It is made at once there, as before 48d2115.
func TestRefusedPathKeyDecidedInlineInProcess(t *testing.T) {
	st, err := simple.New(simple.Options{})
	require.NoError(t, err)
	b := &decisionRecorder{Store: st}
	c := Must(&Options{Backend: b})
	defer c.Close()
	b.c = c
	h := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private")
		fmt.Fprint(w, "mine")
	}))
	for i := range 5 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, fmt.Sprint("/account/", i), nil))
		require.Equal(t, "mine", rec.Body.String())
	}
	require.NotZero(t, b.deletes.Load(), "the refused runs' keys are deleted")
	assert.Zero(t, b.handed.Load(), "no decision handed to a goroutine of its own")
}

// panickingPathDeletes is a remote backend whose Delete of path version
// keys panics, as a user's Backend may.
type panickingPathDeletes struct {
	backend.Backend
	panicked atomic.Bool
}

func (s *panickingPathDeletes) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if strings.HasPrefix(k, kindPath) {
			s.panicked.Store(true)
			panic("delete failed")
		}
	}
	return s.Backend.Delete(ctx, keys...)
}

// TestDecisionPanicLogged: a decision made on a goroutine of its own (a
// remote store) whose Backend panics is logged as a failure, as a
// background refresh's panic is: a panic there, on a goroutine no server
// recovers, crashed the process, where made in the request (before
// 48d2115) net/http recovered it.
func TestDecisionPanicLogged(t *testing.T) {
	b := &panickingPathDeletes{Backend: &remote{Backend: newSimple(t, nil)}}
	log := &recordHandler{}
	c := Must(&Options{Backend: b, Logger: slog.New(log)})
	defer c.Close()
	h := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private")
		fmt.Fprint(w, "mine")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/account", nil))
	assert.Equal(t, "mine", rec.Body.String())
	c.wait()
	assert.True(t, b.panicked.Load(), "the decision's delete ran")
	log.mu.Lock()
	defer log.mu.Unlock()
	var logged bool
	for _, r := range log.records {
		r.Attrs(func(a slog.Attr) bool {
			logged = logged || strings.Contains(a.Value.String(), "delete failed")
			return true
		})
	}
	assert.True(t, logged, "its panic was logged")
}
