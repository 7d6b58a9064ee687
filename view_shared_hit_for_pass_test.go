package caching

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-caching/caching/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bodyCounter counts the body bytes an origin sends.
type bodyCounter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w bodyCounter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return w.ResponseWriter.Write(p)
}

// hitForPassEnv is a SharedCache view around httputil.ReverseProxy in front
// of an origin that answers If-None-Match itself and counts the body bytes
// it sends: the deployment of examples/proxy.
type hitForPassEnv struct {
	front     *httptest.Server
	sent      atomic.Int64 // body bytes the origin sent
	validated atomic.Int64 // requests that reached the origin with If-None-Match
	cc        atomic.Value // the origin's Cache-Control
	big       []byte
}

func newHitForPassEnv(t *testing.T, cc string) *hitForPassEnv {
	return newHitForPassEnvClock(t, cc, nil)
}

func newHitForPassEnvClock(t *testing.T, cc string, clock *testutil.Clock) *hitForPassEnv {
	e := &hitForPassEnv{big: bytes.Repeat([]byte("x"), 256<<10)}
	e.cc.Store(cc)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", e.cc.Load().(string))
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") != "" {
			e.validated.Add(1)
		}
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = bodyCounter{w, &e.sent}.Write(e.big)
	}))
	t.Cleanup(origin.Close)
	u, err := url.Parse(origin.URL)
	require.NoError(t, err)
	opts := &Options{Backend: newSimple(t, clock)}
	if clock != nil {
		opts.Clock = clock.Now
	}
	c := Must(opts)
	t.Cleanup(func() { c.Close() })
	e.front = httptest.NewServer(c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(httputil.NewSingleHostReverseProxy(u)))
	t.Cleanup(e.front.Close)
	return e
}

// get sends a GET of /file through the cache, with If-None-Match when inm is
// set, and returns the status, the body bytes received and the cache status.
func (e *hitForPassEnv) get(t *testing.T, inm string) (int, int64, string) {
	req, err := http.NewRequest(http.MethodGet, e.front.URL+"/file", nil)
	require.NoError(t, err)
	if inm != "" {
		req.Header.Set("If-None-Match", inm)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	defer res.Body.Close()
	n, _ := io.Copy(io.Discard, res.Body)
	return res.StatusCode, n, res.Header.Get("X-Cache")
}

// TestSharedHitForPassRevalidation: a client holds a 256 KiB response that
// is never stored (private), and revalidates it three times through a
// SharedCache view around httputil.ReverseProxy. The view used to run the
// proxy without the client's If-None-Match every time (a miss runs for a
// full response to store): the origin started sending the whole body on
// each revalidation, which the view then cut short after its own 304. The
// key is marked (hit-for-pass) once its response is refused for what it
// is, and the revalidations reach the origin with the client's validators:
// it sends the body once, then 304s.
func TestSharedHitForPassRevalidation(t *testing.T) {
	e := newHitForPassEnv(t, "private, max-age=3600")
	status, n, _ := e.get(t, "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, int64(len(e.big)), n)
	for i := range 3 {
		status, n, cs := e.get(t, `"v1"`)
		assert.Equal(t, http.StatusNotModified, status, "revalidation %d (%s)", i+1, cs)
		assert.Zero(t, n, "revalidation %d: body bytes to a client that holds it", i+1)
	}
	assert.Equal(t, int64(len(e.big)), e.sent.Load(), "body bytes the origin sent")
	assert.Equal(t, int64(3), e.validated.Load(), "revalidations the origin answered itself")

	// A client without the response still gets all of it, under the mark.
	status, n, _ = e.get(t, "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, int64(len(e.big)), n)
	status, n, _ = e.get(t, `"other"`)
	assert.Equal(t, http.StatusOK, status, "a validator the origin does not match")
	assert.Equal(t, int64(len(e.big)), n)
}

// TestSharedHitForPassCleared: a response that turns out storable under a
// hit-for-pass mark (the origin's policy changed) clears the mark and is
// stored; a 304 under the mark is neither stored nor clears it.
func TestSharedHitForPassCleared(t *testing.T) {
	e := newHitForPassEnv(t, "private")
	e.get(t, "") // refused: marked
	e.cc.Store("public, max-age=3600")
	status, _, cs := e.get(t, `"v1"`)
	assert.Equal(t, http.StatusNotModified, status, "the origin's own 304 (%s)", cs)
	status, _, cs = e.get(t, `"v1"`)
	assert.Equal(t, http.StatusNotModified, status, "still marked: the origin's own 304 (%s)", cs)
	assert.Equal(t, int64(2), e.validated.Load())
	status, n, _ := e.get(t, `"other"`) // a 200 to a conditional request: storable, stored
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, int64(len(e.big)), n)
	sent, validated := e.sent.Load(), e.validated.Load()
	status, n, cs = e.get(t, `"v1"`)
	assert.Equal(t, http.StatusNotModified, status)
	assert.Zero(t, n)
	assert.Equal(t, "HIT", cs, "answered from the entry stored under the mark")
	status, n, cs = e.get(t, "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, int64(len(e.big)), n)
	assert.Equal(t, "HIT", cs)
	assert.Equal(t, sent, e.sent.Load(), "body bytes the origin sent after it was stored")
	assert.Equal(t, validated, e.validated.Load())
}

// TestSharedHitForPassScope: the mark is its key's alone: another URL's
// revalidation, and any in a default-mode view, reach the handler without
// the client's validators, as before.
func TestSharedHitForPassScope(t *testing.T) {
	var seen atomic.Int64 // requests the handler got with If-None-Match
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") != "" {
			seen.Add(1)
		}
		w.Header().Set("ETag", `"v1"`)
		if r.URL.Query().Get("q") == "private" {
			w.Header().Set("Cache-Control", "private")
		} else {
			w.Header().Set("Cache-Control", "max-age=60")
		}
		_, _ = io.WriteString(w, "body")
	})
	c := Must(&Options{Backend: newSimple(t, nil)})
	defer c.Close()
	send := func(view http.Handler, target string) int {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("If-None-Match", `"v1"`)
		rec := httptest.NewRecorder()
		view.ServeHTTP(rec, req)
		return rec.Code
	}
	shared := c.Cached(time.Hour, SharedCache())(h)
	assert.Equal(t, http.StatusNotModified, send(shared, "/p?q=private")) // made of the refused 200: marked
	assert.Zero(t, seen.Load())
	assert.Equal(t, http.StatusNotModified, send(shared, "/p?q=private"))
	assert.Equal(t, int64(1), seen.Load(), "the marked URL's revalidation")
	assert.Equal(t, http.StatusOK, send(shared, "/p?q=other"), "another URL: stripped, stored, its 200 whole")
	assert.Equal(t, int64(1), seen.Load(), "another URL's miss")

	c2 := Must(&Options{Backend: newSimple(t, nil)})
	defer c2.Close()
	def := c2.Cached(time.Hour)(h)
	for range 3 {
		send(def, "/p?q=private")
	}
	assert.Equal(t, int64(1), seen.Load(), "a default-mode view's misses")
}

// TestKeyMarksBound: a full table takes no new key until a mark expires,
// so that a flood of URLs pushes no mark out; forget frees a place.
func TestKeyMarksBound(t *testing.T) {
	now := time.Unix(1000, 0)
	s := keyMarks{life: passFor}
	for i := range maxDownVary {
		s.mark(fmt.Sprint(i), now)
	}
	s.mark("new", now)
	assert.False(t, s.has("new", now), "full")
	assert.True(t, s.has("0", now))
	s.forget("0")
	assert.False(t, s.has("0", now))
	s.mark("new", now)
	assert.True(t, s.has("new", now), "a place forgotten")
	later := now.Add(passFor)
	assert.False(t, s.has("1", later), "expired")
	s.mark("newer", later)
	assert.True(t, s.has("newer", later), "an expired mark makes room")
	assert.LessOrEqual(t, len(s.m), maxDownVary)
}

// TestSharedHitForPassRenewed: the origin's own 304 renews the mark when
// its header says the 200 would be refused too (private): revalidated
// every 100 s for 10 minutes, the body is sent once. A 304 that says
// nothing lets the mark lapse 2 minutes after the refusal that set it: one
// revalidation then runs for a full response again (at 200, 400 and 600 s;
// the origin's single write of the body counts whole, cut short or not).
func TestSharedHitForPassRenewed(t *testing.T) {
	for _, tc := range []struct {
		cc     string
		bodies int64
	}{{"private", 1}, {"", 4}} {
		clock := testutil.NewClock()
		e := newHitForPassEnvClock(t, tc.cc, clock)
		e.get(t, "")
		for range 6 {
			clock.Advance(100 * time.Second)
			status, _, _ := e.get(t, `"v1"`)
			assert.Equal(t, http.StatusNotModified, status, "%q", tc.cc)
		}
		assert.LessOrEqual(t, e.sent.Load(), tc.bodies*int64(len(e.big)), "body bytes the origin sent (%q)", tc.cc)
		assert.Greater(t, e.sent.Load(), (tc.bodies-1)*int64(len(e.big)), "body bytes the origin sent (%q)", tc.cc)
	}
}
