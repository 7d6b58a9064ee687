package caching

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pausedRead is a remote store whose next read, once armed, returns what it
// read only after the test resumes it: the entry a request looked up is
// then the one stored before whatever the test does meanwhile (a Clear).
type pausedRead struct {
	*remote
	armed   atomic.Bool
	reached chan struct{} // the armed read has read
	resume  chan struct{} // lets it return
}

func newPausedRead(t *testing.T) *pausedRead {
	return &pausedRead{remote: &remote{Backend: newSimple(t, nil)}, reached: make(chan struct{}), resume: make(chan struct{})}
}

func (p *pausedRead) pause() {
	if p.armed.CompareAndSwap(true, false) {
		p.reached <- struct{}{}
		<-p.resume
	}
}

func (p *pausedRead) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := p.remote.Get(ctx, key)
	p.pause()
	return v, err
}

func (p *pausedRead) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	vs, err := p.remote.GetMany(ctx, keys)
	p.pause()
	return vs, err
}

// TestSharedCacheRevalidationAcrossClear: in a SharedCache view, an entry
// looked up before a Clear, whose revalidation ran after it, was freshened
// by the origin's 304 and stored again after the Clear: the program
// updated its data, then cleared the cache, and every later client got the
// body from before the update until the entry's freshness ended (the
// origin's Last-Modified, of one second's resolution, did not change with
// the update). Views whose keys record no versions (KeyFunc without tags)
// had nothing else to tell. The revalidation of the client's request
// (stale, no stale-while-revalidate) and the background ones of
// stale-while-revalidate and RefreshAhead all stored it when the Clear
// landed between the lookup and the run (a HEAD did not, only because it
// never freshened anything once the process had called Clear:
// TestSharedCacheHeadFreshensAfterClear). A Clear while the handler
// answers was already kept out by the count of Clears the run reads
// first; both are pinned here.
func TestSharedCacheRevalidationAcrossClear(t *testing.T) {
	const lastModified = "Mon, 02 Jan 2006 15:04:05 GMT"
	scenes := []struct {
		name   string
		cc     string // the response's Cache-Control
		opts   []ViewOption
		wait   time.Duration // from the first response to the request that revalidates
		method string
	}{
		{"revalidation", "max-age=10", nil, 15 * time.Second, http.MethodGet},
		{"stale-while-revalidate", "max-age=10, stale-while-revalidate=60", []ViewOption{StaleWhileRevalidate(time.Minute)}, 15 * time.Second, http.MethodGet},
		{"RefreshAhead", "max-age=10", []ViewOption{RefreshAhead(5 * time.Second)}, 7 * time.Second, http.MethodGet},
		{"HEAD", "max-age=10", nil, 15 * time.Second, http.MethodHead},
	}
	keys := []struct {
		name string
		opts []ViewOption
	}{
		{"KeyFunc", []ViewOption{KeyFunc(func(*http.Request) string { return "home" })}},
		{"path", nil},
	}
	// Where the Clear lands: between the lookup that read the entry and
	// the run that revalidates it (the case that failed), or while the
	// handler answers the revalidation.
	for _, during := range []string{"lookup", "handler"} {
		for _, sc := range scenes {
			for _, key := range keys {
				t.Run(during+"/"+sc.name+"/"+key.name, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						s := newPausedRead(t)
						c, err := New(&Options{Backend: s})
						require.NoError(t, err)
						defer c.Close()
						var data atomic.Value
						data.Store("old")
						var calls atomic.Int64
						entered, cleared := make(chan struct{}), make(chan struct{})
						h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
							if calls.Add(1) == 2 && during == "handler" {
								close(entered)
								<-cleared
							}
							w.Header().Set("Cache-Control", sc.cc)
							w.Header().Set("Last-Modified", lastModified)
							if r.Header.Get("If-Modified-Since") == lastModified {
								w.WriteHeader(http.StatusNotModified)
								return
							}
							io.WriteString(w, data.Load().(string))
						})
						opts := append([]ViewOption{SharedCache(), CacheStatusHeader("X-Cache")}, key.opts...)
						v := c.Cached(time.Hour, append(opts, sc.opts...)...)(h)
						require.Equal(t, "old", get(v, "/p").Body.String())
						time.Sleep(sc.wait)

						done := make(chan *httptest.ResponseRecorder, 1)
						if during == "lookup" {
							s.armed.Store(true)
							go func() { done <- send(v, sc.method, "/p") }()
							<-s.reached // the request read the entry
						} else {
							go func() { done <- send(v, sc.method, "/p") }()
							<-entered // the handler answers the revalidation
						}
						data.Store("new")
						require.NoError(t, c.Clear(context.Background()))
						close(s.resume)
						close(cleared)
						<-done
						synctest.Wait() // a background refresh, if any, is done

						w := get(v, "/p") // made after Clear returned
						assert.Equal(t, "new", w.Body.String(), "the entry read before Clear was freshened and stored after it")
						w = get(v, "/p")
						assert.Equal(t, "new", w.Body.String())
						assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
					})
				})
			}
		}
	}
}

// TestSharedCacheHeadFreshensAfterClear: a HEAD whose 200 validates the
// stored GET freshens it (RFC 9111 section 4.3.5) in a process that called
// Clear before the entry was stored: the Clear does not concern the entry.
// head's run recorded no count of Clears, so any Clear in the process's
// life kept every HEAD from freshening.
func TestSharedCacheHeadFreshensAfterClear(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		require.NoError(t, c.Clear(context.Background()))
		h := &counter{body: "b", fn: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"x"`)
		}}
		v := c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(h)
		require.Equal(t, "b #1", get(v, "/p").Body.String())
		time.Sleep(15 * time.Second)
		send(v, http.MethodHead, "/p") // its 200 has the stored ETag
		w := get(v, "/p")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the HEAD did not freshen the stored GET")
		assert.Equal(t, "b #1", w.Body.String())
		assert.EqualValues(t, 2, h.calls.Load())
	})
}
