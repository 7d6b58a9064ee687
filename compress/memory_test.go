package compress_test

import (
	"bytes"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// randomText returns n bytes of text drawn at random from a small
// alphabet (seeded: the same each run), which the encoders cannot shrink
// much, so that their windows fill.
func randomText(n int) []byte {
	data := make([]byte, n)
	rng := rand.New(rand.NewSource(1))
	for i := range data {
		data[i] = "abcdefghij klmnop\n"[rng.Intn(18)]
	}
	return data
}

// TestInFlightMemoryPerResponse: the client picks the codec. With the old
// defaults every in-flight response a client chose zstd for pinned ~18 MiB
// once 1 MiB had gone through it (an 8 MiB window), br ~13 MiB, against
// ~1 MiB for gzip: K slow or long responses (an export, a slow reader)
// cost K x 18 MiB.
func TestInFlightMemoryPerResponse(t *testing.T) {
	data := randomText(1 << 20)
	const k = 16
	for _, ae := range []string{"gzip", "zstd", "br"} {
		cz := compress.Must(compress.Options{})
		release := make(chan struct{})
		var started sync.WaitGroup
		started.Add(k)
		h := cz.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write(data)
			started.Done()
			<-release // the export goes on / the client reads slowly
		}))
		before := heapInUse()
		var done sync.WaitGroup
		for i := 0; i < k; i++ {
			done.Add(1)
			go func() {
				defer done.Done()
				r := httptest.NewRequest("GET", "/export", nil)
				r.Header.Set("Accept-Encoding", ae)
				h.ServeHTTP(newDiscard(), r)
			}()
		}
		started.Wait()
		per := float64(heapInUse()-before) / k / (1 << 20)
		close(release)
		done.Wait()
		t.Logf("%s: %.1f MiB per in-flight response", ae, per)
		if per > 4 {
			t.Errorf("%s: %.1f MiB of heap per in-flight response (client-chosen); gzip needs ~1", ae, per)
		}
	}
}

// TestZstdWindow: the window is an option, validated; the default's output
// decodes for a client that allows only 512 KiB, a larger window's does not
// (it is declared in the frame), and both decode with RFC 9659's 8 MiB.
func TestZstdWindow(t *testing.T) {
	for _, bad := range []int{-1, 9, 24} {
		_, err := compress.New(compress.Options{ZstdWindow: bad})
		require.ErrorIs(t, err, compress.ErrInvalidOption, "%d", bad)
		assert.Contains(t, err.Error(), "ZstdWindow")
	}
	body := bytes.Repeat(jsonBody(64<<10), 40) // 2.5 MiB
	encode := func(opts compress.Options) []byte {
		rec := serve(t, compress.Must(opts), writeJSON(body), get("zstd"))
		require.Equal(t, "zstd", rec.Header().Get("Content-Encoding"))
		assert.Equal(t, body, decode(t, "zstd", rec.Body.Bytes()))
		return rec.Body.Bytes()
	}
	limited := func(b []byte) error {
		d, err := zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderMaxWindow(512<<10))
		require.NoError(t, err)
		defer d.Close()
		_, err = d.WriteTo(&bytes.Buffer{})
		return err
	}
	assert.NoError(t, limited(encode(compress.Options{})), "default window")
	assert.Error(t, limited(encode(compress.Options{ZstdWindow: 23})), "8 MiB window")
	encode(compress.Options{ZstdWindow: 10})
}
