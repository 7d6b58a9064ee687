package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// panicRecord wraps a recordGate: once armed, the next write of the Vary
// record panics (a custom backend or encoder that panics), and the writes
// of variant entries made after it are counted.
type panicRecord struct {
	*recordGate
	armed    atomic.Bool
	panicked atomic.Bool
	after    atomic.Int32
}

func (p *panicRecord) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if key == p.key && p.armed.CompareAndSwap(true, false) {
		p.panicked.Store(true)
		panic("record write panics")
	}
	if p.panicked.Load() && strings.HasPrefix(key, p.key+"#vary:") {
		p.after.Add(1)
	}
	return p.recordGate.Set(ctx, key, v, ttl)
}

// TestVaryBatchPanicStoresNoUnlistedVariant: 2f4716c says each variant
// of a batch "reports reasonBackend until its write is made"; but
// writeRecord sets ReasonNone on each add before the record's save, so when
// the save panics, the batch's other variants report ReasonNone and store
// their entries although the record that lists them was never written
// (entries out of reach and uncounted against MaxVariants).
func TestVaryBatchPanicStoresNoUnlistedVariant(t *testing.T) {
	g, v := newRecordGate(t, time.Minute)
	p := &panicRecord{recordGate: g}
	v.c.store.b = p // route the store's calls through p
	if v.c.store.b != p {
		t.Skip("cannot swap backend")
	}
	get(v, "http://shop.example/p", "Accept-Language", "en")

	release := g.holdNext()
	first := getLang(v, "fr")
	waitFor(t, g.blocked, "fr's record write")
	var wg sync.WaitGroup
	for _, lang := range []string{"de", "it", "es"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { _ = recover() }()
			get(v, "http://shop.example/p", "Accept-Language", lang)
		}()
	}
	for joined(v, g.key) < 3 {
		time.Sleep(time.Millisecond)
	}
	p.armed.Store(true)
	release()
	waitFor(t, first, "fr")
	wg.Wait()
	if !p.panicked.Load() {
		t.Fatal("the batch's record write did not panic")
	}
	assert.EqualValues(t, 0, p.after.Load(), "variant entries stored after their record write panicked")
	_ = http.StatusOK
	_ = httptest.NewRecorder
}
