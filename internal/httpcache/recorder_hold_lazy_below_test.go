package httpcache

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// policyRecorder is a Recorder with Hold, judged by a Policy that stores
// 200 and 204, over w.
func policyRecorder(w http.ResponseWriter) (*Recorder, http.ResponseWriter) {
	p := &Policy{Statuses: []int{http.StatusOK, http.StatusNoContent}}
	rec := &Recorder{Hold: true, Check: func(s int, h http.Header) Reason {
		_, r := p.Response(s, h, time.Minute)
		return r
	}}
	return rec, rec.Reset(w)
}

// TestRecorderHoldLazyWriterBelowJudged: with Hold and no flush, the body
// reached the writers below only at Send, after Finish had judged the
// response for the last time: a writer below that commits its header at
// its first Write, and adds Set-Cookie or Vary: Cookie then, had its field
// sent to the client and not judged. Finish now writes the first bytes
// held (at most 512; a zero-length write for none) before it judges, and
// Send sends the rest, once.
func TestRecorderHoldLazyWriterBelowJudged(t *testing.T) {
	body := strings.Repeat("0123456789abcdef", 100) // 1600 bytes, past the first write
	for _, n := range []int{0, 5, sniffLen, len(body)} {
		t.Run(fmt.Sprintf("Set-Cookie %d bytes", n), func(t *testing.T) {
			w := httptest.NewRecorder()
			rec, rw := policyRecorder(&lazyWriter{ResponseWriter: w})
			_, _ = io.WriteString(rw, body[:n])
			assert.Empty(t, w.Body.String(), "held")
			_, _, stored, reason := rec.Finish()
			require.NoError(t, rec.Send())
			require.NotEmpty(t, w.Header().Get("Set-Cookie"), "test setup: the client got Set-Cookie")
			assert.Equal(t, ReasonSetCookie, reason, "%d bytes: stored %q", n, stored)
			assert.Equal(t, body[:n], w.Body.String(), "the body, once")
		})
		t.Run(fmt.Sprintf("Vary %d bytes", n), func(t *testing.T) {
			w := httptest.NewRecorder()
			rec, rw := policyRecorder(&lazyWriter{ResponseWriter: w, field: "Vary", value: "Cookie"})
			_, _ = io.WriteString(rw, body[:n])
			_, h, stored, reason := rec.Finish()
			assert.Equal(t, body[:min(n, sniffLen)], w.Body.String(), "Finish writes the first bytes")
			require.NoError(t, rec.Send())
			assert.Equal(t, ReasonNone, reason)
			assert.Equal(t, []string{"Cookie"}, h["Vary"], "%d bytes: the Vary the client got is stored", n)
			assert.Equal(t, body[:n], string(stored))
			assert.Equal(t, body[:n], w.Body.String(), "the body, once")
			require.NoError(t, rec.Send())
			assert.Equal(t, body[:n], w.Body.String(), "a second Send sends nothing")
		})
	}
	t.Run("a 204", func(t *testing.T) {
		w := httptest.NewRecorder()
		rec, rw := policyRecorder(&lazyWriter{ResponseWriter: w})
		rw.WriteHeader(http.StatusNoContent)
		_, _, _, reason := rec.Finish()
		require.NoError(t, rec.Send())
		assert.Equal(t, http.StatusNoContent, w.Code)
		assert.Equal(t, ReasonSetCookie, reason)
	})
	t.Run("a refused response is not written again", func(t *testing.T) {
		w := httptest.NewRecorder()
		rec, rw := policyRecorder(w)
		rw.Header().Set("Cache-Control", "no-store")
		_, _ = io.WriteString(rw, "abc")
		_, _, _, reason := rec.Finish()
		require.NoError(t, rec.Send())
		assert.Equal(t, ReasonNoStore, reason)
		assert.Equal(t, "abc", w.Body.String())
	})
	t.Run("a diverted response is not written", func(t *testing.T) {
		w := httptest.NewRecorder()
		rec, _ := policyRecorder(nil)
		rec.Divert = func(status int) bool { return status >= 500 }
		rw := rec.Reset(&lazyWriter{ResponseWriter: w})
		rw.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(rw, "down")
		rec.Finish()
		require.NoError(t, rec.Send())
		assert.Empty(t, w.Body.String())
		assert.Empty(t, w.Header().Get("Set-Cookie"), "the writer below was never written to")
	})
}
