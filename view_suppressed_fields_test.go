package caching

import (
	"net/http"
	"testing"
)

// TestHitSendsNoContentTypeForATransferCodedResponse: net/http sniffs no
// Content-Type for a handler that sets a Transfer-Encoding, so its miss
// went out without one; the entry stored the type sniffed from the body
// (the Transfer-Encoding, hop-by-hop, is not stored), which every GET and
// HEAD hit sent. The entry records that none was sent, in both modes and
// both kinds of store, for a response written at once and (in a
// SharedCache view, which stores flushed responses) one flushed early.
func TestHitSendsNoContentTypeForATransferCodedResponse(t *testing.T) {
	for _, te := range []string{"chunked", "identity"} {
		t.Run(te, func(t *testing.T) {
			page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("Transfer-Encoding", te)
				_, _ = w.Write(sniffedPage)
			})
			checkHitsSendTheMissType(t, page, nil, func(bool) bool { return true })
		})
	}
	t.Run("flushed", func(t *testing.T) {
		page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Transfer-Encoding", "chunked")
			_, _ = w.Write(sniffedPage[:100])
			_ = http.NewResponseController(w).Flush()
			_, _ = w.Write(sniffedPage[100:])
		})
		checkHitsSendTheMissType(t, page, nil, func(shared bool) bool { return shared })
	})
}
