package timing_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/timing"
)

// leakCase is a handler that sets a Server-Timing field of its own, on one
// of the paths by which a response's header (or trailer) is sent, and what
// the client should see otherwise.
type leakCase struct {
	name     string
	handler  http.HandlerFunc
	status   int
	body     string
	checksum bool // the response has an X-Checksum: abc trailer
}

const upstreamTiming = "upstream;dur=3;desc=\"SELECT secret_table\""

// leakCases returns a case per commit path; upstream is the address of a
// server whose response has a Server-Timing header and trailer.
func leakCases(t *testing.T, upstream string) []leakCase {
	u, err := url.Parse(upstream)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(u)
	set := func(w http.ResponseWriter) { w.Header().Set("Server-Timing", upstreamTiming) }
	return []leakCase{
		{"WriteHeader", func(w http.ResponseWriter, r *http.Request) {
			set(w)
			w.WriteHeader(http.StatusCreated)
		}, http.StatusCreated, "", false},
		{"lower-case key", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["server-timing"] = []string{upstreamTiming}
			w.WriteHeader(http.StatusAccepted)
		}, http.StatusAccepted, "", false},
		{"Write", func(w http.ResponseWriter, r *http.Request) {
			set(w)
			_, _ = io.WriteString(w, "body")
		}, http.StatusOK, "body", false},
		{"io.Copy", func(w http.ResponseWriter, r *http.Request) {
			set(w)
			// No WriteTo: io.Copy calls w's ReadFrom where it has one
			// (HTTP/1.1), else its Write.
			_, _ = io.Copy(w, io.LimitReader(strings.NewReader("body"), 4))
		}, http.StatusOK, "body", false},
		{"Flush", func(w http.ResponseWriter, r *http.Request) {
			set(w)
			flush(t, w)
			_, _ = io.WriteString(w, "body")
		}, http.StatusOK, "body", false},
		{"handler writes nothing", func(w http.ResponseWriter, r *http.Request) {
			set(w)
		}, http.StatusOK, "", false},
		{"103 Early Hints", func(w http.ResponseWriter, r *http.Request) {
			set(w)
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Del("Server-Timing") // only the 103 would carry it
			_, _ = io.WriteString(w, "body")
		}, http.StatusOK, "body", false},
		{"declared trailer", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "Server-Timing, X-Checksum")
			_, _ = io.WriteString(w, "body")
			set(w)
			w.Header().Set("X-Checksum", "abc")
		}, http.StatusOK, "body", true},
		{"declared trailer, lower case", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Trailer"] = []string{"x-checksum,server-timing"}
			_, _ = io.WriteString(w, "body")
			set(w)
			w.Header().Set("X-Checksum", "abc")
		}, http.StatusOK, "body", true},
		{"declared trailer, alone", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "Server-Timing")
			_, _ = io.WriteString(w, "body")
			set(w)
		}, http.StatusOK, "body", false},
		{"TrailerPrefix", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "body")
			flush(t, w) // chunked, so that an undeclared trailer can follow
			w.Header().Set(http.TrailerPrefix+"Server-Timing", upstreamTiming)
			w.Header().Set(http.TrailerPrefix+"X-Checksum", "abc")
		}, http.StatusOK, "body", true},
		{"TrailerPrefix, lower case", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "body")
			flush(t, w)
			w.Header()[http.TrailerPrefix+"server-timing"] = []string{upstreamTiming}
			w.Header().Set(http.TrailerPrefix+"X-Checksum", "abc")
		}, http.StatusOK, "body", true},
		{"httputil.ReverseProxy", proxy.ServeHTTP, http.StatusOK, "body", true},
		{"panic recovered above", func(w http.ResponseWriter, r *http.Request) {
			set(w)
			panic("boom")
		}, http.StatusInternalServerError, "recovered\n", false},
	}
}

// flush flushes w through http.ResponseController.
func flush(t *testing.T, w http.ResponseWriter) {
	assert.NoError(t, http.NewResponseController(w).Flush())
}

// newUpstream starts a server whose responses carry a Server-Timing header
// and a Server-Timing trailer, with an X-Checksum trailer beside it.
func newUpstream(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server-Timing", upstreamTiming)
		w.Header().Set("Trailer", "Server-Timing, X-Checksum")
		_, _ = io.WriteString(w, "body")
		w.Header().Set("Server-Timing", "upstream-trailer;dur=4")
		w.Header().Set("X-Checksum", "abc")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// recoverer stands for a recovering middleware above timing's: it answers
// 500 through the same header map when the handler panics.
func recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if recover() != nil {
				http.Error(w, "recovered", http.StatusInternalServerError)
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// serveCases starts a server (HTTP/2 over TLS when h2) that routes
// /<index> to the case's handler behind the middleware configured by opts.
func serveCases(t *testing.T, opts timing.Options, cases []leakCase, h2 bool) *httptest.Server {
	mux := http.NewServeMux()
	for i, c := range cases {
		mux.Handle(casePath(i), c.handler)
	}
	srv, _ := startServer(t, recoverer(timing.Must(opts)(mux)), h2)
	return srv
}

// startServer starts a server of h, over HTTP/2 with TLS when h2, else
// HTTP/1.1, closed at the test's end, and returns it with a client for it.
func startServer(t *testing.T, h http.Handler, h2 bool) (*httptest.Server, *http.Client) {
	srv := httptest.NewUnstartedServer(h)
	if h2 {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, srv.Client()
}

// protoName names a subtest run over HTTP/2 (h2) or HTTP/1.1.
func protoName(h2 bool) string {
	if h2 {
		return "HTTP2"
	}
	return "HTTP1"
}

// casePath is the path serveCases routes to the i-th case.
func casePath(i int) string { return "/" + strconv.Itoa(i) }

// rawGet sends a GET for path over HTTP/1.1 and returns every byte of the
// answer: 1xx responses, header, chunked body and trailer.
func rawGet(t *testing.T, srv *httptest.Server, path string) string {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
	require.NoError(t, err)
	raw, err := io.ReadAll(conn)
	require.NoError(t, err)
	return string(raw)
}

// finalResponse parses raw, skipping informational responses, and reads
// the body (so that the trailer is filled in).
func finalResponse(t *testing.T, raw string) (*http.Response, string) {
	t.Helper()
	br := bufio.NewReader(strings.NewReader(raw))
	for {
		res, err := http.ReadResponse(br, nil)
		require.NoError(t, err, raw)
		if res.StatusCode >= 200 {
			body, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			return res, string(body)
		}
	}
}

// TestUnadmittedRequestGetsNoServerTiming: a request Expose does not admit
// gets no Server-Timing field, in any spelling, from the handler either (a
// reverse proxy's upstream, a framework), on every path: the status line's
// header, a 103, and the trailer. Checked on the raw HTTP/1.1 bytes.
func TestUnadmittedRequestGetsNoServerTiming(t *testing.T) {
	cases := leakCases(t, newUpstream(t).URL)
	srv := serveCases(t, timing.Options{}, cases, false)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := rawGet(t, srv, casePath(i))
			assert.NotContains(t, strings.ToLower(raw), "server-timing", raw)
			res, body := finalResponse(t, raw)
			assert.Equal(t, c.status, res.StatusCode)
			assert.Equal(t, c.body, body)
			if c.checksum {
				assert.Equal(t, "abc", res.Trailer.Get("X-Checksum"), "the handler's other trailers are kept")
			}
		})
	}
	get := func(name string) string {
		return rawGet(t, srv, casePath(slices.IndexFunc(cases, func(c leakCase) bool { return c.name == name })))
	}
	t.Run("103 keeps its other fields", func(t *testing.T) {
		assert.Contains(t, get("103 Early Hints"), "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n")
	})
	t.Run("a Trailer field left empty is dropped", func(t *testing.T) {
		res, _ := finalResponse(t, get("declared trailer, alone"))
		assert.NotContains(t, res.Header, "Trailer")
		assert.Empty(t, res.TransferEncoding, "nothing to send after the body: not chunked")
	})
}

// TestUnadmittedRequestGetsNoServerTimingHTTP2 is the same over HTTP/2,
// which reads trailers through its own code, as a client sees them.
func TestUnadmittedRequestGetsNoServerTimingHTTP2(t *testing.T) {
	cases := leakCases(t, newUpstream(t).URL)
	srv := serveCases(t, timing.Options{}, cases, true)
	client := srv.Client()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hints []textproto.MIMEHeader
			ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
				Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
					hints = append(hints, h)
					return nil
				},
			})
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+casePath(i), nil)
			require.NoError(t, err)
			res, err := client.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			res.Body.Close()
			assert.Equal(t, 2, res.ProtoMajor)
			assert.Equal(t, c.status, res.StatusCode)
			assert.Equal(t, c.body, string(body))
			assert.Empty(t, res.Header.Values("Server-Timing"), "header")
			assert.NotContains(t, strings.ToLower(res.Header.Get("Trailer")), "server-timing", "trailer announced")
			assert.Empty(t, res.Trailer.Values("Server-Timing"), "trailer")
			for _, h := range hints {
				assert.Empty(t, h.Values("Server-Timing"), "1xx")
			}
			if c.checksum {
				assert.Equal(t, "abc", res.Trailer.Get("X-Checksum"), "the handler's other trailers are kept")
			}
		})
	}
}

// TestAdmittedRequestKeepsHandlerServerTiming: for a request Expose admits,
// the handler's own Server-Timing fields (in a 103, the header and the
// trailer) are sent as the handler set them, the middleware's metrics in a
// field of their own after the handler's.
func TestAdmittedRequestKeepsHandlerServerTiming(t *testing.T) {
	var hints []textproto.MIMEHeader
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			hints = append(hints, h)
			return nil
		},
	})
	mw := timing.Must(timing.Options{Expose: func(*http.Request) bool { return true }})
	srv := httptest.NewServer(mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Server-Timing", "hint;desc=early")
		w.WriteHeader(http.StatusEarlyHints)
		h.Set("Server-Timing", upstreamTiming)
		h["server-timing"] = []string{"framework;dur=1"}
		timing.Add(r.Context(), "db", 0, "")
		_, _ = io.WriteString(w, "body")
		flush(t, w)
		h.Set(http.TrailerPrefix+"Server-Timing", "upstream-trailer;dur=4")
	})))
	defer srv.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()

	require.Len(t, hints, 1)
	assert.Equal(t, []string{"hint;desc=early"}, hints[0].Values("Server-Timing"), "103")
	st := res.Header.Values("Server-Timing")
	require.Len(t, st, 3, "the handler's two fields and the middleware's")
	assert.Contains(t, st, upstreamTiming)
	assert.Contains(t, st, "framework;dur=1")
	assert.True(t, slices.ContainsFunc(st, regexp.MustCompile(`^db, total;dur=[0-9.]+$`).MatchString), "%q", st)
	assert.Equal(t, []string{"upstream-trailer;dur=4"}, res.Trailer.Values("Server-Timing"), "trailer")
}
