package caching

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestNewlineHeaderValueHits: a handler sets a header value holding a
// newline (a note read from a database); net/http sends it with the newline
// as a space. On a remote store (Redis, memcached) the snapshot is stored as
// sent, so that it decodes: stored with the raw value, Decode refused it as
// corrupt, and every request of the page was a miss that deleted the entry
// and wrote it again (two extra round trips and a handler run per request).
func TestNewlineHeaderValueHits(t *testing.T) {
	store := &remote{Backend: newSimple(t, nil)}
	c := Must(&Options{Backend: nopClose{store}})
	defer c.Close()
	h := &counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Note", "line one\nline two")
	}}
	view := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(h)
	get(view, "/page")
	w := get(view, "/page")
	assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the second request of a stored page")
	assert.Equal(t, []string{"line one line two"}, w.Header()["X-Note"], "the value as net/http sent it")
	assert.Equal(t, int64(1), h.calls.Load(), "handler runs")
}
