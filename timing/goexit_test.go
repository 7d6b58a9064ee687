package timing

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestGoexitIsNotAPanic: a handler that called runtime.Goexit (a helper
// ending its goroutine, as t.FailNow does) was made to panic by the
// middleware, which re-panicked with what recover returned (nil), and
// was reported as panicked. Goexit goes on now, reported as what it is.
func TestGoexitIsNotAPanic(t *testing.T) {
	var rep Report
	observed := false
	mw := Must(Options{Observe: func(r Report) { rep, observed = r, true }})
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { runtime.Goexit() }))
	var got any
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { got = recover() }()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}()
	<-done
	assert.Nil(t, got, "Goexit became a panic")
	assert.True(t, observed, "the request is reported")
	assert.False(t, rep.Panicked)
}
