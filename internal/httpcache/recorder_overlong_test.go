package httpcache

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// plainReader hides everything of its reader but Read (io.WriterTo), as an
// upstream response body has: io.Copy to a ResponseWriter reaches its
// ReadFrom.
type plainReader struct{ io.Reader }

// overlongRead is what a client read of a response.
type overlongRead struct {
	Status        int
	ContentLength string
	Body          string // length and digest
	Err           string
}

// readOverlong gets srv's / on a connection of its own (net/http may send
// bytes past the declared length after the response) and returns what the
// client read.
func readOverlong(t *testing.T, srv *httptest.Server) overlongRead {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(srv.URL)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	got := overlongRead{
		Status:        resp.StatusCode,
		ContentLength: resp.Header.Get("Content-Length"),
		Body:          fmt.Sprintf("%d bytes, sha256 %x", len(body), sha256.Sum256(body)),
	}
	if err != nil {
		got.Err = err.Error()
	}
	return got
}

// TestRecorderOverlongReadFrom: a handler that declares a Content-Length
// and io.Copies a longer body from a plain reader reaches net/http's
// ReadFrom without a Recorder, which sends the declared length as a
// complete response. The Recorder copied it through net/http's Write
// instead, which refuses the write that passes the length: the client got
// a cut response. It now reads what it reads without the Recorder, with
// Hold or without, and with a flush before the copy; the response is not
// recorded (ReasonLength). A body of the declared length is recorded.
func TestRecorderOverlongReadFrom(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 600)
	recorders := map[string]struct{ Hold, StoreFlushed bool }{
		"no Hold":                           {},
		"Hold":                              {Hold: true},
		"Hold, StoreFlushed, flushed first": {Hold: true, StoreFlushed: true},
	}
	for _, declared := range []int{4000, 100, len(body)} {
		for name, settings := range recorders {
			t.Run(fmt.Sprintf("declared=%d/%s", declared, name), func(t *testing.T) {
				handler := func(w http.ResponseWriter) {
					w.Header().Set("Content-Length", strconv.Itoa(declared))
					src := io.Reader(plainReader{bytes.NewReader(body)})
					if settings.StoreFlushed {
						_, err := w.Write(body[:50])
						assert.NoError(t, err)
						assert.NoError(t, http.NewResponseController(w).Flush())
						src = plainReader{bytes.NewReader(body[50:])}
					}
					_, _ = io.Copy(w, src)
				}
				bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { handler(w) }))
				defer bare.Close()
				want := readOverlong(t, bare)

				type result struct {
					reason, failed Reason
					body           []byte
				}
				results := make(chan result, 1)
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					var failed Reason
					rec := &Recorder{Hold: settings.Hold, StoreFlushed: settings.StoreFlushed}
					rec.OnFail = func(r Reason) { failed = r }
					handler(rec.Reset(w))
					_, _, got, reason := rec.Finish()
					results <- result{reason, failed, got}
					_ = rec.Send()
				}))
				defer srv.Close()
				assert.Equal(t, want, readOverlong(t, srv), "what the client read, without the Recorder and with it")
				res := <-results
				if declared == len(body) {
					assert.Equal(t, ReasonNone, res.reason)
					assert.Equal(t, body, res.body, "the body of the declared length is recorded")
					return
				}
				assert.Equal(t, ReasonLength, res.reason)
				assert.Equal(t, ReasonLength, res.failed, "OnFail is told")
				assert.Nil(t, res.body, "nothing recorded")
			})
		}
	}
}
