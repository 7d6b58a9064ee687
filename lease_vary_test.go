package caching

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// The lease is the entry's: once a view is known to vary (on
// Accept-Language here), a miss of one variant does not wait for another
// process's run of another variant, whose response it cannot use.
func TestLeaseOfOneVariantDoesNotHoldBackAnother(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := leasePair(t, Options{Lease: time.Hour})
		open := make(chan struct{})
		h := &counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Accept-Language") == "en" {
				<-open
			}
			w.Header().Set("Vary", "Accept-Language")
		}}
		va, vb := a.Cached(time.Hour)(h), b.Cached(time.Hour)(h)
		assert.Equal(t, http.StatusOK, get(va, "/p", "Accept-Language", "de").Code) // the Vary record is stored

		en := make(chan struct{})
		go func() { get(va, "/p", "Accept-Language", "en"); close(en) }()
		synctest.Wait() // a runs the handler for en, holding its lease

		start := time.Now()
		w := get(vb, "/p", "Accept-Language", "fr")
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Less(t, time.Since(start), time.Second, "fr waited for a's run of en")
		assert.Equal(t, int64(3), h.calls.Load(), "fr ran its own handler")
		close(open)
		<-en
	})
}
