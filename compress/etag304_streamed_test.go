package compress_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// TestWeaken304OfStreamedVariantIsWeak: with ETagWeaken and
// an encoding only StreamingAlgorithms offers (Algorithms: gzip; the
// default StreamingAlgorithms zstd, br, deflate), a streamed response to
// "Accept-Encoding: zstd" is zstd with W/"x". The client revalidates with
// If-None-Match: W/"x"; the handler (which compares its own tag with the
// rewritten list) answers 304 with "x". revalidated() looked the variant up
// in Algorithms only, found none, and let the 304 carry the strong "x":
// the client's stored zstd body was then labelled with the identity body's
// strong validator. It now tries both lists, as ETagSuffix does.
func TestWeaken304OfStreamedVariantIsWeak(t *testing.T) {
	c := compress.Must(compress.Options{Algorithms: []string{compress.Gzip}})
	srv := httptest.NewServer(c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("ETag", `"x"`)
		for _, tag := range r.Header.Values("If-None-Match") {
			if tag == `W/"x", "x"` || tag == `"x"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		_, _ = io.WriteString(w, "event one\n")
		w.(http.Flusher).Flush()
		_, _ = w.Write(big)
	})))
	defer srv.Close()
	do := func(inm string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("Accept-Encoding", "zstd")
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	first := do("")
	require.Equal(t, "zstd", first.Header.Get("Content-Encoding"))
	require.Equal(t, `W/"x"`, first.Header.Get("Etag"))
	again := do(first.Header.Get("Etag"))
	require.Equal(t, http.StatusNotModified, again.StatusCode)
	if got := again.Header.Get("Etag"); got != `W/"x"` {
		t.Errorf("the 304 revalidating the zstd variant W/\"x\" carries ETag %s (the identity body's strong tag); want W/\"x\"", got)
	}
}
