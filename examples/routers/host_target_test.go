package routers_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/go-caching/caching"
)

// TestGorillaHostRouteAbsolutePathOverHTTP2: net/http's HTTP/2
// server takes r.Host from :authority but parses an absolute-form :path
// ("https://a.example.com/home") into r.URL, so r.URL.Host can differ from
// r.Host (over HTTP/1 the server makes them one). gorilla/mux routes host
// matchers by r.URL.Host when the URL is absolute (mux.getHost), while the
// view key holds r.Host only: a client of b.example.com that sends
// :path https://a.example.com/home reaches tenant a's route, and its page
// is stored under b.example.com's key, served to b's visitors.
func TestGorillaHostRouteAbsolutePathOverHTTP2(t *testing.T) {
	c := caching.Must(nil)
	defer c.Close()
	r := mux.NewRouter()
	r.Use(c.Cached(time.Minute, caching.CacheStatusHeader("X-Cache")))
	r.Host("{tenant}.example.com").Path("/home").HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "home of tenant "+mux.Vars(r)["tenant"])
	})
	srv := httptest.NewUnstartedServer(r)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	// The attacker, a client of b.example.com.
	got := h2Get(t, addr, "b.example.com", "https://a.example.com/home")
	if !strings.Contains(got, "tenant a") {
		t.Skipf("the attacker's request reached %q: not routed by r.URL.Host", got)
	}
	// A visitor of b.example.com.
	if got := h2Get(t, addr, "b.example.com", "/home"); got != "home of tenant b" {
		t.Errorf("GET https://b.example.com/home: %q: tenant a's page, stored under b's key by an absolute :path", got)
	}
}

// h2Get sends one GET over a new HTTP/2 connection with the given
// :authority and :path and returns the body (as h2Get in the caching
// package's tests).
func h2Get(t *testing.T, addr, authority, path string) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	frame := func(typ, flags byte, stream uint32, payload []byte) []byte {
		b := []byte{byte(len(payload) >> 16), byte(len(payload) >> 8), byte(len(payload)), typ, flags, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[5:], stream)
		return append(b, payload...)
	}
	var hb []byte
	lit := func(name, value string) {
		hb = append(hb, 0x00, byte(len(name)))
		hb = append(hb, name...)
		hb = append(hb, byte(len(value)))
		hb = append(hb, value...)
	}
	lit(":method", "GET")
	lit(":scheme", "https")
	lit(":authority", authority)
	lit(":path", path)
	var out bytes.Buffer
	out.WriteString("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	out.Write(frame(0x4, 0, 0, nil))
	out.Write(frame(0x1, 0x5, 1, hb))
	if _, err := conn.Write(out.Bytes()); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var body []byte
	for {
		var fh [9]byte
		if _, err := io.ReadFull(conn, fh[:]); err != nil {
			t.Fatal(err)
		}
		n := int(fh[0])<<16 | int(fh[1])<<8 | int(fh[2])
		payload := make([]byte, n)
		if _, err := io.ReadFull(conn, payload); err != nil {
			t.Fatal(err)
		}
		stream := binary.BigEndian.Uint32(fh[5:]) & 0x7fffffff
		switch typ, flags := fh[3], fh[4]; {
		case typ == 0x4 && flags&0x1 == 0:
			if _, err := conn.Write(frame(0x4, 0x1, 0, nil)); err != nil {
				t.Fatal(err)
			}
		case typ == 0x3 || typ == 0x7:
			t.Fatalf("server refused the request: frame type %d", typ)
		case typ == 0x0 && stream == 1:
			body = append(body, payload...)
			if flags&0x1 != 0 {
				return string(body)
			}
		case typ == 0x1 && stream == 1 && flags&0x1 != 0:
			return string(body)
		}
	}
}

// TestGorillaHostRouteEmptyURLHost: over HTTP/1 too, an
// absolute-form target without a host ("GET http:///home", or "GET
// http:/home") leaves r.URL.Host empty while r.Host is the Host field.
// gorilla/mux reads r.URL.Host for an absolute URL, so no host route
// matches and the request falls through to the route without a host
// matcher; the key holds r.Host, and b.example.com's visitors get the
// fallback page instead of tenant b's.
func TestGorillaHostRouteEmptyURLHost(t *testing.T) {
	for _, target := range []string{"http:///home", "http:/home"} {
		t.Run(target, func(t *testing.T) {
			c := caching.Must(nil)
			defer c.Close()
			r := mux.NewRouter()
			r.Use(c.Cached(time.Minute, caching.CacheStatusHeader("X-Cache")))
			r.Host("{tenant}.example.com").Path("/home").HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "home of tenant "+mux.Vars(r)["tenant"])
			})
			r.Path("/home").HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, "landing page: pick a tenant")
			})
			get := func(target string) string {
				req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: b.example.com\r\n\r\n")))
				if err != nil {
					t.Fatal(err)
				}
				w := httptest.NewRecorder()
				r.ServeHTTP(w, req)
				return w.Body.String()
			}
			if got := get(target); !strings.HasPrefix(got, "landing") {
				t.Skipf("GET %s reached %q", target, got)
			}
			if got := get("/home"); got != "home of tenant b" {
				t.Errorf("GET /home on b.example.com: %q, stored by GET %s", got, target)
			}
		})
	}
}
