package caching

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// panicRecord wraps a recordGate: once armed, the next write of the Vary
// record waits for proceed to close, then panics (a custom backend or
// encoder that panics), and the writes of variant entries made after it
// are counted.
type panicRecord struct {
	*recordGate
	proceed  chan struct{}
	armed    atomic.Bool
	panicked atomic.Bool
	after    atomic.Int32
}

func (p *panicRecord) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if key == p.key && p.armed.CompareAndSwap(true, false) {
		<-p.proceed
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
	p := &panicRecord{recordGate: g, proceed: make(chan struct{})}
	v.c.store.b = p // route the store's calls through p
	if v.c.store.b != p {
		t.Skip("cannot swap backend")
	}
	get(v, "http://shop.example/p", "Accept-Language", "en")

	release := g.holdNext()
	first := getLang(v, "fr")
	waitFor(t, g.blocked, "fr's record write")
	joins := awaitJoins(v, 3)
	var wg sync.WaitGroup
	for _, lang := range []string{"de", "it", "es"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { _ = recover() }()
			get(v, "http://shop.example/p", "Accept-Language", lang)
		}()
	}
	waitFor(t, joins, "de, it and es joining the next record write")
	p.armed.Store(true)
	release()
	// fr stores its own entry once its record is written, before it
	// answers: only then may the batch's record write panic, so that
	// fr's entry is not counted as one of the batch's.
	waitFor(t, first, "fr")
	close(p.proceed)
	wg.Wait()
	if !p.panicked.Load() {
		t.Fatal("the batch's record write did not panic")
	}
	assert.EqualValues(t, 0, p.after.Load(), "variant entries stored after their record write panicked")
}
