package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestInvalidateOnWriteAfterHandlerReturns: InvalidateOnWrite promises "the
// client's next GET sees its write", but invalidated only when the write's
// response was committed. A handler whose change landed after it wrote its
// header (a deferred tx.Commit after json.Encode, a streamed response) let
// a GET that ran in between store the old data under the new version; the
// writer's own next GET, made after its POST returned, got that old data
// for the whole TTL. The path is now invalidated again when the handler
// returns, or panics.
func TestInvalidateOnWriteAfterHandlerReturns(t *testing.T) {
	for _, tc := range []struct {
		name   string
		panics bool
	}{{"returns", false}, {"panics", true}} {
		t.Run(tc.name, func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			var data atomic.Value
			data.Store("old")
			committed, readDone := make(chan struct{}), make(chan struct{})
			view := c.Cached(time.Hour, InvalidateOnWrite())
			mux := http.NewServeMux()
			mux.Handle("GET /item", view(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, data.Load().(string))
			})))
			mux.Handle("POST /item", view(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "ok") // the response is committed: invalidation
				close(committed)
				<-readDone        // another client's GET runs meanwhile
				data.Store("new") // the deferred commit
				if tc.panics {
					panic(http.ErrAbortHandler)
				}
			})))
			srv := httptest.NewServer(mux)
			defer srv.Close()
			fetch := func() string {
				resp, err := http.Get(srv.URL + "/item")
				if err != nil {
					t.Error(err)
					return ""
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return string(b)
			}
			if got := fetch(); got != "old" {
				t.Fatalf("setup: %q", got)
			}
			posted := make(chan error, 1)
			go func() {
				resp, err := http.Post(srv.URL+"/item", "text/plain", strings.NewReader("x"))
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				posted <- err
			}()
			<-committed
			if got := fetch(); got != "old" { // another client, while the write is in progress
				t.Fatalf("GET during the write got %q; want %q", got, "old")
			}
			close(readDone)
			if err := <-posted; (err != nil) != tc.panics {
				t.Fatalf("POST: %v", err)
			}
			if got := fetch(); got != "new" { // the writer's next GET
				t.Fatalf("GET after the POST returned got %q; want %q (InvalidateOnWrite: the client's next GET sees its write)", got, "new")
			}
		})
	}
}
