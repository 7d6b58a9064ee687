package httpx

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// unwrapOnlyRW is a Go 1.20-style outer middleware writer: Unwrap, no Flush,
// no Hijack.
type unwrapOnlyRW struct{ http.ResponseWriter }

func (u unwrapOnlyRW) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// flushUnwrapRW is an outer writer with Flush and Unwrap but no Hijack.
type flushUnwrapRW struct{ http.ResponseWriter }

func (f flushUnwrapRW) Flush()                      { f.ResponseWriter.(http.Flusher).Flush() }
func (f flushUnwrapRW) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// serveSpied runs handler behind outer and a spy on a real server and
// returns the spy's hook log once the handler returned.
func serveSpied(t *testing.T, outer func(http.ResponseWriter) http.ResponseWriter, handler func(http.ResponseWriter)) []string {
	t.Helper()
	done := make(chan []string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := &spy{}
		handler(s.Reset(outer(w), s))
		done <- s.log.list()
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	select {
	case log := <-done:
		return log
	case <-time.After(5 * time.Second):
		t.Fatal("handler did not return")
		return nil
	}
}

// http.ResponseController.Flush on the wrapped writer must go through the
// Flush hook (which commits through the WriteHeader hook) even when the
// writer below can flush only through its Unwrap chain.
func TestUnwrapChainControllerFlushGoesThroughHooks(t *testing.T) {
	log := serveSpied(t, func(w http.ResponseWriter) http.ResponseWriter { return unwrapOnlyRW{w} },
		func(w http.ResponseWriter) {
			_, isF := w.(http.Flusher)
			assert.False(t, isF, "the wrapper keeps exactly the interfaces of the writer it wraps")
			assert.NoError(t, http.NewResponseController(w).Flush())
		})
	assert.Contains(t, log, "hook:Flush")
	assert.Contains(t, log, "hook:WriteHeader")
}

// http.ResponseController.Hijack must go through the Hijack hook (so that
// Hijacked is set) when the writer below can hijack only through Unwrap.
func TestUnwrapChainControllerHijackGoesThroughHooks(t *testing.T) {
	for name, outer := range map[string]func(http.ResponseWriter) http.ResponseWriter{
		"unwrap only":      func(w http.ResponseWriter) http.ResponseWriter { return unwrapOnlyRW{w} },
		"flush and unwrap": func(w http.ResponseWriter) http.ResponseWriter { return flushUnwrapRW{w} },
	} {
		t.Run(name, func(t *testing.T) {
			log := serveSpied(t, outer, func(w http.ResponseWriter) {
				conn, _, err := http.NewResponseController(w).Hijack()
				if assert.NoError(t, err) {
					conn.Close()
				}
			})
			assert.Contains(t, log, "hook:Hijack")
		})
	}
}

// Deadlines still reach the writer below through Unwrap, around the hooks.
func TestUnwrapChainControllerDeadlineStillReachesBelow(t *testing.T) {
	serveSpied(t, func(w http.ResponseWriter) http.ResponseWriter { return unwrapOnlyRW{w} },
		func(w http.ResponseWriter) {
			assert.NoError(t, http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)))
		})
}
