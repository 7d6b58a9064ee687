package conditional

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNotModified(t *testing.T) {
	lm := "Wed, 01 Jan 2025 10:00:00 GMT"
	for _, tc := range []struct {
		name     string
		req, res http.Header
		want     bool
	}{
		{"strong tag matches", http.Header{"If-None-Match": {`"a"`}}, http.Header{"Etag": {`"a"`}}, true},
		{"weak request tag matches a strong one", http.Header{"If-None-Match": {`W/"a"`}}, http.Header{"Etag": {`"a"`}}, true},
		{"strong request tag matches a weak one", http.Header{"If-None-Match": {`"a"`}}, http.Header{"Etag": {`W/"a"`}}, true},
		{"another tag", http.Header{"If-None-Match": {`"b"`}}, http.Header{"Etag": {`"a"`}}, false},
		{"a list holding the tag", http.Header{"If-None-Match": {`"x", "y"`, `W/"a"`}}, http.Header{"Etag": {`"a"`}}, true},
		{"a list without it", http.Header{"If-None-Match": {`"x", "y"`}}, http.Header{"Etag": {`"a"`}}, false},
		{"star with a tag", http.Header{"If-None-Match": {"*"}}, http.Header{"Etag": {`"a"`}}, true},
		{"star without a tag: a current representation exists", http.Header{"If-None-Match": {"*"}}, http.Header{}, true},
		{"a tag, and the response has none", http.Header{"If-None-Match": {`"a"`}}, http.Header{}, false},
		{"the response's tag with blanks, as net/http trims it", http.Header{"If-None-Match": {`"a"`}}, http.Header{"Etag": {` "a" `}}, true},
		{"a tag that is a prefix", http.Header{"If-None-Match": {`"ab"`}}, http.Header{"Etag": {`"a"`}}, false},
		// If-None-Match is evaluated alone where present (section 13.2.2,
		// step 3): If-Modified-Since is ignored then.
		{"If-None-Match fails, If-Modified-Since ignored",
			http.Header{"If-None-Match": {`"b"`}, "If-Modified-Since": {lm}},
			http.Header{"Etag": {`"a"`}, "Last-Modified": {lm}}, false},
		{"If-Modified-Since equal", http.Header{"If-Modified-Since": {lm}}, http.Header{"Last-Modified": {lm}}, true},
		{"If-Modified-Since later", http.Header{"If-Modified-Since": {"Wed, 01 Jan 2025 11:00:00 GMT"}}, http.Header{"Last-Modified": {lm}}, true},
		{"If-Modified-Since earlier", http.Header{"If-Modified-Since": {"Wed, 01 Jan 2025 09:59:59 GMT"}}, http.Header{"Last-Modified": {lm}}, false},
		{"If-Modified-Since in the RFC 850 form", http.Header{"If-Modified-Since": {"Wednesday, 01-Jan-25 10:00:00 GMT"}}, http.Header{"Last-Modified": {lm}}, true},
		{"If-Modified-Since unreadable: ignored", http.Header{"If-Modified-Since": {"yesterday"}}, http.Header{"Last-Modified": {lm}}, false},
		{"Last-Modified unreadable", http.Header{"If-Modified-Since": {lm}}, http.Header{"Last-Modified": {"2025-01-01"}}, false},
		{"Last-Modified at the epoch or before: none", http.Header{"If-Modified-Since": {lm}}, http.Header{"Last-Modified": {"Thu, 01 Jan 1970 00:00:00 GMT"}}, false},
		{"no Last-Modified", http.Header{"If-Modified-Since": {lm}}, http.Header{}, false},
		{"no validator", http.Header{}, http.Header{"Etag": {`"a"`}, "Last-Modified": {lm}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, NotModified(tc.req, tc.res))
		})
	}
}

func TestRequest(t *testing.T) {
	for _, tc := range []struct {
		method string
		h      http.Header
		want   bool
	}{
		{http.MethodGet, http.Header{"If-None-Match": {`"a"`}}, true},
		{http.MethodHead, http.Header{"If-Modified-Since": {"Wed, 01 Jan 2025 10:00:00 GMT"}}, true},
		{http.MethodGet, http.Header{}, false},
		{http.MethodPost, http.Header{"If-None-Match": {`"a"`}}, false},
		{http.MethodPut, http.Header{"If-None-Match": {"*"}}, false},
		{http.MethodGet, http.Header{"if-none-match": {`"a"`}}, false}, // not canonical: not read
	} {
		r := httptest.NewRequest(tc.method, "/", nil)
		r.Header = tc.h
		assert.Equal(t, tc.want, Request(r), "%s %v", tc.method, tc.h)
	}
}

// serve runs h behind a conditional Writer for a GET with the given
// request header fields, on a real server, and returns the response, its
// body, and whether the Writer answered 304.
func serve(t *testing.T, only func() bool, h http.HandlerFunc, kv ...string) (*http.Response, string, bool) {
	t.Helper()
	var notModified bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.True(t, Request(r))
		cw, rw := Get(w, r)
		cw.Only = only
		h(rw, r)
		notModified = cw.NotModified()
		cw.Release()
	}))
	defer srv.Close()
	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body), notModified
}

func page(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Etag", `"v1"`)
	w.Header().Set("Last-Modified", "Wed, 01 Jan 2025 10:00:00 GMT")
	w.Header().Set("Cache-Control", "max-age=60")
	w.Header().Set("Vary", "Accept-Encoding")
	_, _ = w.Write([]byte("<p>hello</p>"))
}

func TestWriterMakesA304OfAMatching200(t *testing.T) {
	resp, body, notModified := serve(t, nil, page, "If-None-Match", `"v1"`)
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	assert.Empty(t, body)
	assert.True(t, notModified)
	// The fields that describe the body go; the others stay (RFC 9110
	// section 15.4.5), Last-Modified too where there is an ETag.
	assert.Empty(t, resp.Header.Get("Content-Type"))
	assert.Empty(t, resp.Header.Get("Content-Length"))
	assert.Empty(t, resp.Header.Get("Last-Modified"))
	assert.Equal(t, `"v1"`, resp.Header.Get("Etag"))
	assert.Equal(t, "max-age=60", resp.Header.Get("Cache-Control"))
	assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))

	// Matched by date, without a tag: Last-Modified stays.
	resp, _, _ = serve(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Last-Modified", "Wed, 01 Jan 2025 10:00:00 GMT")
		_, _ = w.Write([]byte("dated"))
	}, "If-Modified-Since", "Wed, 01 Jan 2025 10:00:00 GMT")
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	assert.Equal(t, "Wed, 01 Jan 2025 10:00:00 GMT", resp.Header.Get("Last-Modified"))
}

func TestWriterPassesWhatDoesNotMatch(t *testing.T) {
	resp, body, notModified := serve(t, nil, page, "If-None-Match", `"v0"`)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "<p>hello</p>", body)
	assert.False(t, notModified)
	assert.Equal(t, "text/html", resp.Header.Get("Content-Type"))

	// Only a 200 is made a 304: a 404 or 206 with a matching tag passes.
	for _, code := range []int{http.StatusNotFound, http.StatusPartialContent, http.StatusCreated} {
		resp, body, _ := serve(t, nil, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Etag", `"v1"`)
			w.WriteHeader(code)
			_, _ = w.Write([]byte("body"))
		}, "If-None-Match", `"v1"`)
		assert.Equal(t, code, resp.StatusCode)
		assert.Equal(t, "body", body, "%d", code)
	}
}

func TestWriterOnlyRefusing(t *testing.T) {
	asked := 0
	resp, body, notModified := serve(t, func() bool { asked++; return false }, page, "If-None-Match", `"v1"`)
	assert.Equal(t, 1, asked, "asked once, at commit")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "refused: passed whole")
	assert.Equal(t, "<p>hello</p>", body)
	assert.False(t, notModified)
}

// Under Only, the 304 goes out at once and the handler's writes fail, so
// that a handler copying a large body stops; without Only they are
// discarded as if written.
func TestWriterOnlyRefusesTheBodyAndSendsAtOnce(t *testing.T) {
	for _, only := range []bool{true, false} {
		var writeErr, copyErr error
		var wrote int
		var copied int64
		sent := make(chan struct{})
		var f func() bool
		if only {
			f = func() bool { return true }
		}
		h := func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Etag", `"v1"`)
			w.WriteHeader(http.StatusOK)
			if only {
				// The client has its 304 before the handler returns.
				select {
				case <-sent:
				case <-time.After(5 * time.Second):
					t.Error("the 304 was not sent before the handler returned")
				}
			}
			wrote, writeErr = w.Write([]byte("body"))
			copied, copyErr = w.(io.ReaderFrom).ReadFrom(strings.NewReader("more body"))
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cw, rw := Get(w, r)
			cw.Only = f
			h(rw, r)
			cw.Release()
		}))
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("If-None-Match", `"v1"`)
		done := make(chan *http.Response, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if !assert.NoError(t, err) {
				close(sent)
				done <- nil
				return
			}
			close(sent)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			done <- resp
		}()
		resp := <-done
		srv.Close()
		require.NotNil(t, resp)
		assert.Equal(t, http.StatusNotModified, resp.StatusCode)
		if only {
			assert.True(t, errors.Is(writeErr, http.ErrBodyNotAllowed), "Write under Only: %v", writeErr)
			assert.True(t, errors.Is(copyErr, http.ErrBodyNotAllowed), "ReadFrom under Only: %v", copyErr)
			assert.Zero(t, wrote)
			assert.Zero(t, copied)
		} else {
			assert.NoError(t, writeErr)
			assert.NoError(t, copyErr)
			assert.Equal(t, 4, wrote, "discarded as if written")
			assert.EqualValues(t, 9, copied, "discarded as if copied")
		}
	}
}

// A Write before WriteHeader commits a 200, which is evaluated as any.
func TestWriterImplicit200(t *testing.T) {
	resp, body, _ := serve(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Etag", `W/"v1"`)
		_, _ = w.Write([]byte("body"))
	}, "If-None-Match", `"v1"`)
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	assert.Empty(t, body)
}

// The writer handed to the handler keeps the optional interfaces of the
// one below, and a released Writer carries nothing into its next use.
func TestWriterInterfacesAndRelease(t *testing.T) {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("If-None-Match", `"v1"`)
	cw, rw := Get(rec, r)
	_, flusher := rw.(http.Flusher)
	assert.True(t, flusher, "the recorder flushes, and so does the writer handed on")
	assert.Same(t, r, cw.Request())
	cw.Only = func() bool { return true }
	rw.Header().Set("Etag", `"v1"`)
	rw.WriteHeader(http.StatusOK)
	assert.True(t, cw.NotModified())
	assert.Equal(t, http.StatusNotModified, rec.Code)
	assert.True(t, rec.Flushed, "the 304 under Only is flushed")
	cw.Release()

	cw2, rw2 := Get(httptest.NewRecorder(), r)
	assert.False(t, cw2.NotModified(), "a pooled Writer starts afresh")
	assert.Nil(t, cw2.Only)
	_, err := rw.Write([]byte("late"))
	assert.Error(t, err, "a writer kept past Release is detached")
	rw2.WriteHeader(http.StatusNoContent)
	cw2.Release()
}
