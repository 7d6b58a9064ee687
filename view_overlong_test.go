package caching

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// overlongBody is what the handlers of the overlong tests have to send: more
// than the Content-Length they declare.
var overlongBody = bytes.Repeat([]byte("0123456789"), 600)

// overlongWrite is a handler's way of writing a body longer than the
// Content-Length it declares.
type overlongWrite struct {
	name     string
	declared int
	write    func(w http.ResponseWriter) error
}

// overlongWrites are the ways a handler writes more than it declared. Over
// TCP, net/http refuses a Write that passes the declared length
// (http.ErrContentLength) and sends none of it; io.Copy from a reader that
// is not an io.WriterTo (a file; an upstream response body) reaches
// net/http's ReadFrom, which writes the first 512 bytes through Write and
// hands the rest to the connection, past the length: the client reads the
// declared length as a complete response.
func overlongWrites(t *testing.T) []overlongWrite {
	file := writeFile(t, overlongBody)
	return []overlongWrite{
		{"one Write", 4000, func(w http.ResponseWriter) error {
			_, err := w.Write(overlongBody)
			return err
		}},
		{"Writes crossing the length", 4000, func(w http.ResponseWriter) error {
			return writeEach(w, overlongBody, 1500)
		}},
		{"Writes to the length, then more", 4000, func(w http.ResponseWriter) error {
			if _, err := w.Write(overlongBody[:4000]); err != nil {
				return err
			}
			_, err := w.Write(overlongBody[4000:])
			return err
		}},
		{"io.Copy from a file that grew", 4000, func(w http.ResponseWriter) error {
			return copyFile(w, file)
		}},
		{"io.Copy from a reader", 4000, func(w http.ResponseWriter) error {
			_, err := io.Copy(w, onlyReader{bytes.NewReader(overlongBody)})
			return err
		}},
		{"io.Copy from a reader, length under 512", 100, func(w http.ResponseWriter) error {
			_, err := io.Copy(w, onlyReader{bytes.NewReader(overlongBody)})
			return err
		}},
		{"Write, then io.Copy from a reader", 4000, func(w http.ResponseWriter) error {
			if _, err := w.Write(overlongBody[:1000]); err != nil {
				return err
			}
			_, err := io.Copy(w, onlyReader{bytes.NewReader(overlongBody[1000:])})
			return err
		}},
		{"io.Copy from a bytes.Reader", 4000, func(w http.ResponseWriter) error {
			_, err := io.Copy(w, bytes.NewReader(overlongBody)) // one Write (io.WriterTo)
			return err
		}},
	}
}

// onlyReader hides everything of its reader but Read (io.WriterTo), as an
// upstream response body or a decompressing reader has.
type onlyReader struct{ io.Reader }

// writeEach writes body in pieces of n bytes, stopping at the first error.
func writeEach(w io.Writer, body []byte, n int) error {
	for p := body; len(p) > 0; p = p[min(len(p), n):] {
		if _, err := w.Write(p[:min(len(p), n)]); err != nil {
			return err
		}
	}
	return nil
}

// writeFile returns the name of a file holding body.
func writeFile(t *testing.T, body []byte) string {
	name := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.WriteFile(name, body, 0o600))
	return name
}

// copyFile copies the file name to w with io.Copy.
func copyFile(w io.Writer, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// overlongSeen is what a client of an overlong handler reads, and what the
// handler's writing returned.
type overlongSeen struct {
	GetErr        bool // no response came (the connection was cut first)
	Status        int
	ContentLength string
	ContentType   string
	Body          string // its length and digest
	Cut           bool   // the client's read ended with io.ErrUnexpectedEOF
	ReadErr       bool   // the client's read ended with an error
	HandlerErr    bool   // the handler's writing returned an error
	ErrLength     bool   // that error is http.ErrContentLength
}

// digest names body by its length and a digest of it, for messages that
// stay short.
func digest(body []byte) string {
	return fmt.Sprintf("%d bytes, sha256 %x", len(body), sha256.Sum256(body))
}

// clientSide returns s without what the handler's writing returned.
func (s overlongSeen) clientSide() overlongSeen {
	s.HandlerErr, s.ErrLength = false, false
	return s
}

// overlongFetch gets target from srv on a connection of its own, and
// returns what the client read, what the handler's writing returned (errs
// receives it, unless the response is a hit), and the response's X-Cache.
// An acceptEncoding other than "" is sent (the client then decodes
// nothing); without one, the client asks for gzip and decodes it.
func overlongFetch(t *testing.T, srv *httptest.Server, target, acceptEncoding string, errs <-chan error) (overlongSeen, string) {
	t.Helper()
	// A connection per request: net/http may send the bytes past the length
	// after the response, which a kept-alive connection would read as the
	// next one's.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, srv.URL+target, nil)
	require.NoError(t, err)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	return seeOverlong(t, client, req, errs)
}

// seeOverlong sends req with client and returns what overlongFetch does.
func seeOverlong(t *testing.T, client *http.Client, req *http.Request, errs <-chan error) (overlongSeen, string) {
	t.Helper()
	var seen overlongSeen
	resp, err := client.Do(req)
	status := ""
	if err != nil {
		seen.GetErr = true
	} else {
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		status = resp.Header.Get("X-Cache")
		seen.Status = resp.StatusCode
		seen.ContentLength = resp.Header.Get("Content-Length")
		seen.ContentType = resp.Header.Get("Content-Type")
		seen.Body = digest(body)
		seen.Cut, seen.ReadErr = errors.Is(rerr, io.ErrUnexpectedEOF), rerr != nil
	}
	if status != "HIT" { // the handler ran
		select {
		case herr := <-errs:
			seen.HandlerErr, seen.ErrLength = herr != nil, errors.Is(herr, http.ErrContentLength)
		case <-time.After(10 * time.Second):
			t.Fatal("the handler did not return")
		}
	}
	return seen, status
}

// overlongHandler declares ow's Content-Length, writes through ow, and
// sends what that returned on errs; cacheControl, when not "", is its
// Cache-Control.
func overlongHandler(ow overlongWrite, cacheControl string, errs chan<- error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if cacheControl != "" {
			w.Header().Set("Cache-Control", cacheControl)
		}
		w.Header().Set("Content-Length", strconv.Itoa(ow.declared))
		errs <- ow.write(w)
	})
}

// TestOverlongBodyAsWithoutCache: a handler that declares a Content-Length
// and writes more (io.Copy of a file that grew, of an upstream body) gets,
// through the cache, what it gets from net/http alone. Over TCP, net/http
// sends the declared length as a complete response when the body goes
// through its ReadFrom (io.Copy from a file or a plain reader); the cache
// copied it through Write instead, where net/http refuses the write that
// passes the length: the client got the header and no body (unexpected
// EOF), a failed request where there was none. The client must read the
// same status, header and body, with the same error or none, and the
// handler's writing must fail or not as without the cache, in every mode:
// the default one (which holds the body until the handler returns), a
// response that passes through (no-store: nothing held), and SharedCache.
// Nothing is stored (the body is not what the handler declared): the next
// request runs the handler again.
func TestOverlongBodyAsWithoutCache(t *testing.T) {
	modes := []struct {
		name         string
		opts         []ViewOption
		cacheControl string
		status       string // X-Cache of every request
	}{
		{"default", nil, "", "MISS"},
		{"no-store passes through", nil, "no-store", "BYPASS"},
		{"SharedCache", []ViewOption{SharedCache()}, "max-age=60", "MISS"},
	}
	for _, ow := range overlongWrites(t) {
		t.Run(ow.name, func(t *testing.T) {
			for _, m := range modes {
				t.Run(m.name, func(t *testing.T) {
					errs := make(chan error, 1)
					h := overlongHandler(ow, m.cacheControl, errs)
					bare := httptest.NewServer(h)
					defer bare.Close()
					want, _ := overlongFetch(t, bare, "/doc", "", errs)

					c := Must(nil)
					defer c.Close()
					opts := append([]ViewOption{CacheStatusHeader("X-Cache")}, m.opts...)
					srv := httptest.NewServer(c.Cached(time.Hour, opts...)(h))
					defer srv.Close()
					for i := range 2 {
						got, status := overlongFetch(t, srv, "/doc", "", errs)
						assert.Equal(t, want, got, "request %d: what the client read and the handler's error, without the cache and with it", i)
						assert.Equal(t, m.status, status, "request %d: not stored, the handler runs again", i)
					}
				})
			}
		})
	}
}

// TestOverlongBodyCompress: with the compress middleware below the cache
// (the recommended order) or above it, a handler that writes more than it
// declared gets what it gets with compress alone, and a response that
// compress alone does not send complete is never stored. (compress cuts
// the connection when it encodes a body shorter than declared: its Write
// refuses to pass the length, as net/http's does. A handler that writes
// the declared length, then more, has the extra write refused by compress,
// and the response complete: the cache below it sees a response of the
// length declared, and stores it.)
func TestOverlongBodyCompress(t *testing.T) {
	for _, ow := range overlongWrites(t) {
		for _, ae := range []string{"", "identity"} { // gzip (decoded by the client), or none
			t.Run(ow.name+"/Accept-Encoding="+ae, func(t *testing.T) {
				errs := make(chan error, 1)
				h := compress.Middleware(compress.Options{})(overlongHandler(ow, "", errs))
				alone := httptest.NewServer(h)
				defer alone.Close()
				want, _ := overlongFetch(t, alone, "/doc", ae, errs)

				c := Must(nil)
				defer c.Close()
				cached := c.Cached(time.Hour, CacheStatusHeader("X-Cache"))
				for name, stack := range map[string]http.Handler{
					"Cached(compress)": cached(h),
					"compress(Cached)": compress.Middleware(compress.Options{})(cached(overlongHandler(ow, "", errs))),
				} {
					t.Run(name, func(t *testing.T) {
						srv := httptest.NewServer(stack)
						defer srv.Close()
						got, _ := overlongFetch(t, srv, "/doc", ae, errs)
						assert.Equal(t, want, got, "what the client read and the handler's error, with compress alone and with the cache")
						got, status := overlongFetch(t, srv, "/doc", ae, errs)
						assert.Equal(t, want.clientSide(), got.clientSide(), "the next request: what the client read")
						if status == "HIT" {
							assert.False(t, want.GetErr || want.ReadErr, "stored, though compress alone does not send it complete")
						} else {
							assert.Equal(t, want, got, "the next request: what the client read and the handler's error")
						}
					})
				}
			})
		}
	}
}

// TestDeclaredLengthCopyStored: a handler that copies a file of exactly the
// length it declares (through net/http's ReadFrom) has its response stored:
// the next request is a hit, with the same body.
func TestDeclaredLengthCopyStored(t *testing.T) {
	var runs atomic.Int32
	file := writeFile(t, overlongBody)
	c := Must(nil)
	defer c.Close()
	srv := httptest.NewServer(c.Cached(time.Hour, CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		runs.Add(1)
		w.Header().Set("Content-Length", strconv.Itoa(len(overlongBody)))
		assert.NoError(t, copyFile(w, file))
	})))
	defer srv.Close()
	for i, want := range []string{"MISS", "HIT"} {
		resp, err := http.Get(srv.URL + "/file")
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err, "request %d", i)
		assert.Equal(t, overlongBody, body, "request %d", i)
		assert.Equal(t, want, resp.Header.Get("X-Cache"), "request %d", i)
	}
	assert.EqualValues(t, 1, runs.Load(), "the handler ran once")
}

// TestOverlongBodyWaiter: a request that waits for another's run of its
// key, whose handler then writes more than it declared, is served nothing
// of that run (its body is not what the handler declared): it runs the
// handler itself, and reads what net/http alone sends.
func TestOverlongBodyWaiter(t *testing.T) {
	for _, ow := range overlongWrites(t) {
		t.Run(ow.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				errs := make(chan error, 2)
				proceed := make(chan struct{})
				var runs atomic.Int32
				h := overlongHandler(ow, "", errs)
				gated := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if runs.Add(1) == 1 {
						<-proceed // the second request joins this run
					}
					h.ServeHTTP(w, r)
				})
				bareNet := newPipeNet(t, gated)
				close(proceed)
				want, _ := bareNet.fetch(t, "/doc", errs)
				proceed = make(chan struct{})
				runs.Store(0)

				c := Must(nil)
				defer c.Close()
				cachedNet := newPipeNet(t, c.Cached(time.Hour, CacheStatusHeader("X-Cache"))(gated))
				type result struct {
					seen   overlongSeen
					status string
				}
				results := make(chan result, 2)
				var wg sync.WaitGroup
				for range 2 {
					wg.Go(func() {
						seen, status := cachedNet.fetch(t, "/doc", errs)
						results <- result{seen, status}
					})
					synctest.Wait() // the first leads, the second waits for it
				}
				require.EqualValues(t, 1, runs.Load(), "the second request waits for the first's run")
				close(proceed)
				wg.Wait()
				close(results)
				for res := range results {
					// Over a pipe, net/http's write of the bytes past the
					// length fails or not as the client closes first or
					// not: only what the clients read is compared.
					assert.Equal(t, want.clientSide(), res.seen.clientSide(), "what each client read, as without the cache")
					assert.Equal(t, "MISS", res.status, "no request is served another's overlong response")
				}
				assert.EqualValues(t, 2, runs.Load(), "the waiter ran the handler itself")
			})
		})
	}
}

// pipeNet serves a handler over in-memory connections, which a synctest
// bubble can wait on, that copy a ReadFrom straight to the connection, as
// a *net.TCPConn does: net/http's ReadFrom behaves as over TCP.
type pipeNet struct {
	conns  chan net.Conn
	done   chan struct{}
	client *http.Client
}

func newPipeNet(t *testing.T, h http.Handler) *pipeNet {
	p := &pipeNet{conns: make(chan net.Conn), done: make(chan struct{})}
	srv := &http.Server{Handler: h}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(p)
	}()
	p.client = &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			client, server := net.Pipe()
			select {
			case p.conns <- tcpLike{server}:
				return client, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
	}}
	t.Cleanup(func() {
		p.client.CloseIdleConnections()
		_ = srv.Close()
		<-served
	})
	return p
}

// Accept implements net.Listener.
func (p *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-p.conns:
		return c, nil
	case <-p.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (p *pipeNet) Close() error {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	return nil
}

// Addr implements net.Listener.
func (p *pipeNet) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// fetch is overlongFetch over p.
func (p *pipeNet) fetch(t *testing.T, target string, errs <-chan error) (overlongSeen, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://shop.example"+target, nil)
	require.NoError(t, err)
	return seeOverlong(t, p.client, req, errs)
}

// tcpLike is a connection whose ReadFrom copies to it with no limit, as a
// *net.TCPConn's does where it cannot splice or sendfile.
type tcpLike struct{ net.Conn }

// ReadFrom implements io.ReaderFrom.
func (c tcpLike) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// An io.Copy of an empty reader commits nothing, as net/http's ReadFrom
// does: the handler may still choose the status.
func TestEmptyCopyCommitsNothing(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(w, onlyReader{strings.NewReader("")}); err != nil {
			t.Error(err)
		}
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "gone")
	})
	for _, shared := range []bool{false, true} {
		opts := []ViewOption{CacheStatusHeader("X-Cache")}
		if shared {
			opts = append(opts, SharedCache())
		}
		c := Must(nil)
		defer c.Close()
		for name, handler := range map[string]http.Handler{"bare": h, "cached": c.Cached(time.Hour, opts...)(h)} {
			srv := httptest.NewServer(handler)
			res, err := srv.Client().Get(srv.URL + "/x")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			srv.Close()
			if res.StatusCode != http.StatusNotFound || string(b) != "gone" {
				t.Errorf("shared=%v, %s: got %d %q, want 404 \"gone\"", shared, name, res.StatusCode, b)
			}
		}
	}
}
