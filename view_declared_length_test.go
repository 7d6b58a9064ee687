package caching

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMissDeclaredLengthSizesBufferOnce: a handler that declares a
// Content-Length of 1 MiB and writes 1 MiB (in the 32 KiB chunks io.Copy
// writes) had the miss record it into a buffer grown by doubling, from a
// few KiB up: about 2 MiB allocated, in six copies, for a 1 MiB body. Once a
// share of a declared body has arrived, the buffer is now sized once for
// it: a miss allocates about the body once more than the handler alone.
func TestMissDeclaredLengthSizesBufferOnce(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		body := bytes.Repeat([]byte("x"), 1<<20)
		origin := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			writeChunks(w, body)
		})
		always := RefreshIf(func(context.Context, *http.Request) bool { return true })
		ch := e.c.Cached(time.Hour, always, CacheStatusHeader("X-Cache"))(origin)
		if w := get(ch, "/big"); w.Header().Get("X-Cache") != "MISS" || !bytes.Equal(w.Body.Bytes(), body) {
			t.Fatalf("the miss got %s and %d bytes", w.Header().Get("X-Cache"), w.Body.Len())
		}
		direct, cached := allocPerMiss(origin), allocPerMiss(ch)
		// The recorded body, once, and what a miss costs besides. On a
		// remote store, the entry is encoded, the snapshot in place in its
		// envelope (encodeEntry), and copied by the test's backend: two
		// more copies of the body. (The envelope was a copy of its own,
		// a third, before the snapshot was encoded into it.)
		want := uint64(len(body)) + 256<<10
		if k.name == "remote" {
			want += 2 * uint64(len(body))
		}
		assert.LessOrEqual(t, cached-direct, want, "bytes a 1 MiB miss allocates past the handler alone (%d)", direct)
	})
}

// allocPerMiss returns the bytes h allocates per GET of /big, over n
// requests, into a writer that allocates nothing.
func allocPerMiss(h http.Handler) uint64 {
	const n = 20
	r := httptest.NewRequest(http.MethodGet, "/big", nil)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	for range n {
		h.ServeHTTP(&discardWriter{h: make(http.Header)}, r)
	}
	runtime.ReadMemStats(&m1)
	return (m1.TotalAlloc - m0.TotalAlloc) / n
}

// TestMissWrongDeclaredLength: a handler whose Content-Length is wrong (a
// lie past MaxBodySize, more than it writes, or less) gets through the
// cache what it gets without it: the same bytes and status to the client,
// and nothing stored that it did not make.
func TestMissWrongDeclaredLength(t *testing.T) {
	const max = 64 << 10
	cases := []struct {
		name     string
		declared int
		written  int
	}{
		{"declared=past-max", 1 << 30, 1 << 10},
		{"declared=max/written=less", max, 100},
		{"declared=more", 5000, 4000},
		{"declared=less", 4000, 5000},
		{"declared=right", 5000, 5000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := bytes.Repeat([]byte("y"), tc.written)
			calls := 0
			origin := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				calls++
				w.Header().Set("Content-Length", strconv.Itoa(tc.declared))
				writeChunks(w, body)
			})
			fetch := func(srv *httptest.Server) (int, []byte, error) {
				resp, err := http.Get(srv.URL + "/doc")
				require.NoError(t, err)
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				return resp.StatusCode, b, err
			}
			bare := httptest.NewServer(origin)
			defer bare.Close()
			wantCode, wantBody, wantErr := fetch(bare)

			c := Must(nil)
			defer c.Close()
			srv := httptest.NewServer(c.Cached(time.Hour, MaxBodySize(max))(origin))
			defer srv.Close()
			for i := range 2 {
				code, got, err := fetch(srv)
				assert.Equal(t, wantCode, code, "request %d", i)
				assert.Equal(t, wantBody, got, "request %d", i)
				assert.Equal(t, wantErr != nil, err != nil, "request %d: error %v, without the cache %v", i, err, wantErr)
			}
			stored := tc.declared == tc.written
			assert.Equal(t, map[bool]int{true: 2, false: 3}[stored], calls, "handler runs (one without the cache)")
		})
	}
}

// writeChunks writes body in the 32 KiB chunks io.Copy writes, as a
// handler relaying a file or an upstream response does.
func writeChunks(w io.Writer, body []byte) {
	for len(body) > 0 {
		n := min(len(body), 32<<10)
		if _, err := w.Write(body[:n]); err != nil {
			return
		}
		body = body[n:]
	}
}
