package httpcache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blockedWriter's Write waits for release, then adds Set-Cookie (as a
// lazy writer that commits at its first Write) and writes.
type blockedWriter struct {
	*httptest.ResponseRecorder
	release chan struct{}
}

func (b *blockedWriter) Write(p []byte) (int, error) {
	<-b.release
	return b.ResponseRecorder.Write(p)
}

// TestRecorderFirstWriteBounded: Finish's first write below (sendFirst)
// is waited for at most FirstWriteWait: a writer below that holds it
// (one that throttles its client, or flushes each write to one that does
// not read) held Finish, and with it the requests waiting for the
// response, as long as it liked. Past the wait the response is not stored
// (ReasonWriteError: the waiters wait for a new leader), and Send sends
// the rest once the write has returned, each byte once.
func TestRecorderFirstWriteBounded(t *testing.T) {
	defer func(d time.Duration) { FirstWriteWait = d }(FirstWriteWait)
	FirstWriteWait = 20 * time.Millisecond
	body := strings.Repeat("0123456789abcdef", 100)
	bw := &blockedWriter{ResponseRecorder: httptest.NewRecorder(), release: make(chan struct{})}
	var failed Reason
	rec, rw := policyRecorder(bw)
	rec.OnFail = func(r Reason) { failed = r }
	_, _ = io.WriteString(rw, body)
	start := time.Now()
	_, _, stored, reason := rec.Finish()
	assert.Less(t, time.Since(start), time.Second, "Finish waits a bounded time")
	assert.Equal(t, ReasonWriteError, reason)
	assert.Equal(t, ReasonWriteError, failed, "the waiters are told")
	assert.Nil(t, stored)
	time.AfterFunc(50*time.Millisecond, func() { close(bw.release) })
	require.NoError(t, rec.Send())
	assert.Equal(t, body, bw.Body.String(), "the body, once")
	assert.Equal(t, http.StatusOK, bw.Code)
}
