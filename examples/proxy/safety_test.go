package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/cacheurl"
)

// startProxy starts the proxy as run() builds it (the backend cacheurl
// opens, the default simple:// unless args say otherwise) in front of
// origin, logging to log (nil: nowhere).
func startProxy(t *testing.T, origin http.Handler, log io.Writer, args ...string) (front *httptest.Server, admin http.Handler) {
	t.Helper()
	return startProxyWith(t, origin, log, nil, args...)
}

// startProxyEnv is startProxy with the environment env.
func startProxyEnv(t *testing.T, origin http.Handler, env map[string]string, args ...string) *httptest.Server {
	t.Helper()
	front, _ := startProxyWith(t, origin, nil, env, args...)
	return front
}

// startProxyWith is startProxy with the environment env (nil: empty).
func startProxyWith(t *testing.T, origin http.Handler, log io.Writer, env map[string]string, args ...string) (front *httptest.Server, admin http.Handler) {
	t.Helper()
	o := httptest.NewServer(origin)
	t.Cleanup(o.Close)
	cfg, err := parseFlags(append([]string{"-origin", o.URL}, args...), func(k string) string { return env[k] })
	require.NoError(t, err)
	logger := slog.New(slog.DiscardHandler)
	if log != nil {
		logger = slog.New(slog.NewTextHandler(log, nil))
	}
	c, err := openCache(cfg, logger)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	proxy, admin, err := newProxy(cfg, c, logger)
	require.NoError(t, err)
	front = httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	return front, admin
}

// send sends method url with the header fields hdr (name, value, ...;
// "Host" sets the request's host) and returns the response and its body.
func send(t *testing.T, method, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header[hdr[i]] = append(req.Header[hdr[i]], hdr[i+1]) // as written: X_Forwarded_Prefix too
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

// TestClientForwardingHeadersNeverReachOrigin: Rewrite with SetXForwarded
// dropped only Forwarded and X-Forwarded-For/-Host/-Proto; a client's
// X-Forwarded-Prefix (and -Port, -Server, -Ssl, X-Original-URL,
// X-HTTP-Method-Override...) reached the origin, outside the key. An
// origin that builds its links from them (Spring, ASP.NET, Symfony behind
// a trusted proxy) had one forged request's page stored for every client.
func TestClientForwardingHeadersNeverReachOrigin(t *testing.T) {
	forged := []string{
		"X-Forwarded-Prefix", "X-Forwarded-Port", "X-Forwarded-Server", "X-Forwarded-Ssl",
		"X_Forwarded_Prefix", "x-forwarded-scheme", "X-Original-URL", "X-Rewrite-URL",
		"X-HTTP-Method-Override", "X-Real-IP", "Forwarded", "X-Forwarded-Host",
	}
	front, _ := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		for _, name := range forged {
			if v := r.Header.Values(name); len(v) > 0 && name != "X-Forwarded-Host" && name != "Forwarded" { // the proxy sets its own
				fmt.Fprintf(w, "%s=%s\n", name, v)
			}
		}
		fmt.Fprintf(w, "host=%s", r.Header.Get("X-Forwarded-Host"))
	}), nil)
	var attack []string
	for _, name := range forged {
		attack = append(attack, name, "evil.example")
	}
	_, b := send(t, http.MethodGet, front.URL+"/page", attack...) // the attacker
	assert.NotContains(t, b, "evil", "what the origin saw of the attacker's request")
	_, b = send(t, http.MethodGet, front.URL+"/page") // a victim
	assert.Equal(t, "host="+strings.TrimPrefix(front.URL, "http://"), b,
		"the proxy's own X-Forwarded-Host still reaches the origin, and nothing the attacker sent")
}

// TestCookieReadsBypassCache: a page a logged-in user got (the request has
// a Cookie) that the origin marks max-age without private or Vary: Cookie
// was stored and served to anonymous clients (RFC 9111 allows it; Varnish
// does not by default). Reads with a Cookie now bypass the cache unless
// -share-cookie-requests; writes with one still drop their path.
func TestCookieReadsBypassCache(t *testing.T) {
	var calls atomic.Int64
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Cache-Control", "max-age=60") // a framework's page cache default
		n := calls.Add(1)
		if c, err := r.Cookie("session"); err == nil {
			fmt.Fprintf(w, "hello %s", c.Value)
			return
		}
		fmt.Fprintf(w, "hello guest #%d", n)
	})
	t.Run("default", func(t *testing.T) {
		front, _ := startProxy(t, origin, nil)
		res, b := send(t, http.MethodGet, front.URL+"/home", "Cookie", "session=alice")
		assert.Equal(t, "hello alice", b)
		assert.Equal(t, "BYPASS", res.Header.Get(statusHeader))
		_, guest := send(t, http.MethodGet, front.URL+"/home")
		assert.True(t, strings.HasPrefix(guest, "hello guest"), "alice's page was served to an anonymous client: %q", guest)
		_, b = send(t, http.MethodGet, front.URL+"/home")
		assert.Equal(t, guest, b, "pages without a Cookie are still cached")
		send(t, http.MethodPost, front.URL+"/home", "Cookie", "session=alice")
		_, b = send(t, http.MethodGet, front.URL+"/home")
		assert.NotEqual(t, guest, b, "a write with a Cookie still drops its path")
	})
	t.Run("-share-cookie-requests", func(t *testing.T) {
		front, _ := startProxy(t, origin, nil, "-share-cookie-requests")
		send(t, http.MethodGet, front.URL+"/home", "Cookie", "session=bob")
		res, b := send(t, http.MethodGet, front.URL+"/home")
		assert.Equal(t, "hello bob", b, "the flag shares them, as RFC 9111 allows")
		assert.Equal(t, "HIT", res.Header.Get(statusHeader))
	})
}

// TestDefaultTTL: the README's quickstart put the proxy in front of the
// catalog, which sends no Cache-Control, Expires or Last-Modified: every
// response was BYPASS, never the MISS then HIT it promised; and the
// proxy's X-Cache replaced the catalog's own. -default-ttl gives such
// responses a lifetime (in a field of the proxy's own, which no client
// gets), and the proxy tells its own status in X-Proxy-Cache.
func TestDefaultTTL(t *testing.T) {
	var calls atomic.Int64
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Cache", "MISS") // the origin's own cache
		n := calls.Add(1)
		switch r.URL.Path {
		case "/fail":
			w.WriteHeader(http.StatusInternalServerError)
		case "/private":
			w.Header().Set("Cache-Control", "private")
		}
		fmt.Fprintf(w, "#%d", n)
	})
	t.Run("off", func(t *testing.T) {
		front, _ := startProxy(t, origin, nil)
		send(t, http.MethodGet, front.URL+"/products/42")
		res, _ := send(t, http.MethodGet, front.URL+"/products/42")
		assert.Equal(t, "BYPASS", res.Header.Get(statusHeader), "nothing says the response may be stored")
	})
	t.Run("1m", func(t *testing.T) {
		front, _ := startProxy(t, origin, nil, "-default-ttl", "1m")
		res, first := send(t, http.MethodGet, front.URL+"/products/42")
		assert.Equal(t, "MISS", res.Header.Get(statusHeader))
		res, b := send(t, http.MethodGet, front.URL+"/products/42")
		assert.Equal(t, first, b)
		assert.Equal(t, "HIT", res.Header.Get(statusHeader))
		assert.NotEmpty(t, res.Header.Get("Age"))
		assert.Equal(t, "MISS", res.Header.Get("X-Cache"), "the origin's own status header is left alone")
		assert.Empty(t, res.Header.Values("CDN-Cache-Control"), "a CDN in front is told nothing the origin did not say")
		assert.Empty(t, res.Header.Values(defaultField), "the default is the proxy's own")
		assert.Empty(t, res.Header.Get("Cache-Control"), "browsers are told nothing the origin did not say")
		for _, p := range []string{"/fail", "/private"} {
			_, first := send(t, http.MethodGet, front.URL+p)
			_, again := send(t, http.MethodGet, front.URL+p)
			assert.NotEqual(t, first, again, "%s: an error, or a response with its own Cache-Control, gets no default", p)
		}
	})
}

// TestDefaultMaxBodyStored: -max-body's 8 MiB default exceeded what the
// default simple:// backend holds in one entry on a machine of 4 or more
// cores (64 MiB in 16 shards: 4 MiB), so bodies of 4 to 8 MiB were never
// stored and every request for them reached the origin. The default is now
// what the backend holds, and a larger -max-body is logged at start.
func TestDefaultMaxBodyStored(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8)) // a 4+ core server: 16 shards of 4 MiB
	opts, err := cacheurl.Options("simple://")
	require.NoError(t, err)
	c, err := caching.New(opts)
	require.NoError(t, err)
	limit := maxBody(0, c.Backend(), slog.New(slog.DiscardHandler))
	c.Close()
	require.Less(t, limit, 4<<20, "the default backend's entries hold 4 MiB")

	var calls atomic.Int64
	big := bytes.Repeat([]byte("x"), limit)
	front, _ := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		w.Write(big)
	}), nil)
	send(t, http.MethodGet, front.URL+"/big")
	res, b := send(t, http.MethodGet, front.URL+"/big")
	require.Len(t, b, len(big))
	assert.Equal(t, "HIT", res.Header.Get(statusHeader), "a body of the default -max-body is stored")
	assert.Equal(t, int64(1), calls.Load(), "origin calls")

	var log bytes.Buffer
	startProxy(t, http.NotFoundHandler(), &log, "-max-body", fmt.Sprint(8<<20))
	assert.Contains(t, log.String(), "-max-body exceeds what the cache backend holds")
}

// TestAdminRejectsPathsThatDropNothing: the admin API took any string as a
// path: "products/42", "/products/42?color=red" or a full URL dropped
// nothing and the answer was still "invalidated 1 paths". Such a path is
// now refused with 400, and an absolute URL's path is taken.
func TestAdminRejectsPathsThatDropNothing(t *testing.T) {
	var calls atomic.Int64
	front, admin := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "#%d", calls.Add(1))
	}), nil)
	for _, tc := range []struct {
		path string
		code int
	}{
		{"products/42", http.StatusBadRequest},
		{"/products/42%3Fcolor=red", http.StatusBadRequest},
		{"/products/42%23top", http.StatusBadRequest},
		{"http://127.0.0.1/products/42%3Fcolor=red", http.StatusOK},
		{"/products/42", http.StatusOK},
	} {
		t.Run(tc.path, func(t *testing.T) {
			_, before := send(t, http.MethodGet, front.URL+"/products/42?color=red")
			w := httptest.NewRecorder()
			admin.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/invalidate?path="+tc.path, nil))
			require.Equal(t, tc.code, w.Code, w.Body.String())
			_, after := send(t, http.MethodGet, front.URL+"/products/42?color=red")
			if tc.code == http.StatusOK {
				assert.NotEqual(t, before, after, "admin answered %q but the entry is still served", strings.TrimSpace(w.Body.String()))
			} else {
				assert.Equal(t, before, after)
			}
		})
	}
}

// TestTagPrefixProxiesSubtreeRoot: with -tag /img/=images (the README's
// form), ServeMux answered GET and POST /img itself with a redirect to
// /img/, and redirected uncleaned paths, instead of passing them on. Every
// request now reaches the origin as it came, and "/img" carries the tag of
// "/img/".
func TestTagPrefixProxiesSubtreeRoot(t *testing.T) {
	var calls atomic.Int64
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "origin %s %s #%d", r.Method, r.URL.EscapedPath(), calls.Add(1))
	})
	for _, args := range [][]string{nil, {"-tag", "/img/=images,/img/big/=big,/=rest"}} {
		t.Run(fmt.Sprint(args), func(t *testing.T) {
			front, admin := startProxy(t, origin, nil, args...)
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				for _, p := range []string{"/img", "/img/a", "//img/./x/../y", "/imgs"} {
					conn, err := net.Dial("tcp", strings.TrimPrefix(front.URL, "http://"))
					require.NoError(t, err)
					fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", method, p)
					res, err := http.ReadResponse(bufio.NewReader(conn), nil)
					require.NoError(t, err)
					b, _ := io.ReadAll(res.Body)
					conn.Close()
					assert.True(t, strings.HasPrefix(string(b), "origin "+method+" "+p+" "), "%s %s: proxy answered %d %s itself: %q", method, p, res.StatusCode, res.Header.Get("Location"), b)
				}
			}
			if args == nil {
				return
			}
			get := func(p string) string { _, b := send(t, http.MethodGet, front.URL+p); return b }
			before := map[string]string{}
			for _, p := range []string{"/img", "/img/a", "/img/big/b", "/other"} {
				before[p] = get(p)
			}
			w := httptest.NewRecorder()
			admin.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/invalidate?tag=images", nil))
			require.Equal(t, http.StatusOK, w.Code)
			assert.NotEqual(t, before["/img"], get("/img"), "/img is under /img/")
			assert.NotEqual(t, before["/img/a"], get("/img/a"))
			assert.Equal(t, before["/img/big/b"], get("/img/big/b"), "the longest prefix tags it")
			assert.Equal(t, before["/other"], get("/other"))
		})
	}
}

// runProxy starts run() itself (the real http.Server settings) with args
// and returns the proxy's address.
func runProxy(t *testing.T, origin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = run(ctx, append([]string{"-origin", origin, "-listen", "127.0.0.1:0", "-admin", ""}, args...), func(string) string { return "" }, pw)
	}()
	t.Cleanup(func() { cancel(); <-done; pw.Close() })
	return listenAddr(t, pr)
}

// listenAddr returns the first address a proxy's log, read from r, says
// it listens on, failing t when none came in 30 s.
func listenAddr(t *testing.T, r io.Reader) string {
	t.Helper()
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`addr=(\S+)`)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		return a
	case <-time.After(30 * time.Second):
		t.Fatal("proxy did not start")
	}
	return ""
}

// TestServerTimeouts: the server set ReadHeaderTimeout only, so a
// keep-alive connection gone idle after one request, and a request whose
// body never comes, held their connection (and an origin request) forever.
// With -idle-timeout and -read-timeout of 1 s both are closed; 10 s is an
// upper bound for a hang.
func TestServerTimeouts(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, "ok")
	}))
	defer origin.Close()
	addr := runProxy(t, origin.URL, "-read-timeout", "1s", "-idle-timeout", "1s")

	idle, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer idle.Close()
	fmt.Fprintf(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(idle)
	res, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	io.Copy(io.Discard, res.Body)
	res.Body.Close()

	slow, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer slow.Close()
	fmt.Fprintf(slow, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")

	var wg sync.WaitGroup
	for name, r := range map[string]io.Reader{"idle keep-alive": br, "body never sent": slow} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn := idle
			if name == "body never sent" {
				conn = slow
			}
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err := io.Copy(io.Discard, r) // what the proxy answers, if anything, up to its close
			ne, ok := err.(net.Error)
			assert.False(t, ok && ne.Timeout(), "%s: connection still held open by the proxy after 10 s", name)
		}()
	}
	wg.Wait()
}

// TestFlagsOfTimeouts: the timeouts refuse negative values, as the other
// durations do.
func TestFlagsOfTimeouts(t *testing.T) {
	for _, flag := range []string{"-read-timeout", "-idle-timeout", "-send-timeout", "-origin-timeout", "-default-ttl"} {
		_, err := parseFlags([]string{"-origin", "http://127.0.0.1:1", flag, "-1s"}, func(string) string { return "" })
		require.Error(t, err, flag)
		assert.Contains(t, err.Error(), flag)
	}
}

// TestSendTimeout: with no bound on writes, a client that stopped reading
// held its connection, and the origin's, for as long as it liked. With
// -send-timeout 1s the proxy gives up on it: the client that reads again
// later finds the response cut short.
func TestSendTimeout(t *testing.T) {
	const size = 64 << 20 // more than the sockets' buffers hold
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(size))
		chunk := make([]byte, 1<<20)
		for i := 0; i < size/len(chunk); i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer origin.Close()
	addr := runProxy(t, origin.URL, "-send-timeout", "1s")
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	fmt.Fprintf(conn, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(3 * time.Second) // a client that does not read
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.Copy(io.Discard, conn)
	ne, ok := err.(net.Error)
	require.False(t, ok && ne.Timeout(), "the proxy kept the connection open: read %d bytes", n)
	assert.Less(t, n, int64(size), "the whole response was sent to a client that stopped reading")
}
