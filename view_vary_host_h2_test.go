package caching

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVaryHostKeysTheAuthorityOverHTTP2: IgnoreHost shares entries between the
// names of a site, and a response that depends on the host says
// "Vary: Host", which the README says is keyed "by r.Host". VariantKey
// read the request's Host field first and r.Host only without one. Over
// HTTP/1 a server removes the field, but net/http's HTTP/2 server keeps a
// "host" field a client sends next to :authority, and sets r.Host from
// :authority: a client sending :authority evil.example with
// host: shop.example gets the handler's page for evil.example stored as
// shop.example's variant, and shop.example's visitors were served it.
// Now Host is always keyed by r.Host.
func TestVaryHostKeysTheAuthorityOverHTTP2(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	h := c.Cached(time.Minute, IgnoreHost(), CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Host")
		fmt.Fprintf(w, `<script src="https://%s/app.js"></script>`, r.Host)
	}))
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()

	// The attacker: raw HTTP/2, :authority evil.example, host shop.example.
	got := h2Get(t, srv.Listener.Addr().String(), "evil.example", "shop.example", "/")
	require.Contains(t, got, "evil.example")

	// A visitor of shop.example.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	req.Host = "shop.example"
	body, st := fetchRequest(t, srv, req)
	assert.Equal(t, `<script src="https://shop.example/app.js"></script>`, body, "the visitor got the attacker's page (%s)", st)
}

// h2Get sends one GET over a new HTTP/2 connection with the given
// :authority and, when not "", a regular host field, and returns the body.
func h2Get(t *testing.T, addr, authority, hostField, path string) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	require.NoError(t, err)
	defer conn.Close()
	require.Equal(t, "h2", conn.ConnectionState().NegotiatedProtocol)
	frame := func(typ, flags byte, stream uint32, payload []byte) []byte {
		b := []byte{byte(len(payload) >> 16), byte(len(payload) >> 8), byte(len(payload)), typ, flags, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[5:], stream)
		return append(b, payload...)
	}
	var hb []byte
	lit := func(name, value string) { // literal without indexing, new name, no Huffman
		hb = append(hb, 0x00, byte(len(name)))
		hb = append(hb, name...)
		hb = append(hb, byte(len(value)))
		hb = append(hb, value...)
	}
	lit(":method", "GET")
	lit(":scheme", "https")
	lit(":authority", authority)
	lit(":path", path)
	if hostField != "" {
		lit("host", hostField)
	}
	var out bytes.Buffer
	out.WriteString("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	out.Write(frame(0x4, 0, 0, nil))  // SETTINGS
	out.Write(frame(0x1, 0x5, 1, hb)) // HEADERS, END_STREAM|END_HEADERS
	_, err = conn.Write(out.Bytes())
	require.NoError(t, err)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var body []byte
	for {
		var fh [9]byte
		_, err := io.ReadFull(conn, fh[:])
		require.NoError(t, err)
		n := int(fh[0])<<16 | int(fh[1])<<8 | int(fh[2])
		payload := make([]byte, n)
		_, err = io.ReadFull(conn, payload)
		require.NoError(t, err)
		stream := binary.BigEndian.Uint32(fh[5:]) & 0x7fffffff
		switch typ, flags := fh[3], fh[4]; {
		case typ == 0x4 && flags&0x1 == 0: // the server's SETTINGS: ack it
			_, err = conn.Write(frame(0x4, 0x1, 0, nil))
			require.NoError(t, err)
		case typ == 0x3 || typ == 0x7: // RST_STREAM, GOAWAY
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
