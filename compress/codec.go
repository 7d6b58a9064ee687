package compress

import (
	"errors"
	"io"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/go-caching/caching/internal/header"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// encoder is what every codec's writer offers: Flush is a sync flush (the
// decoder can decode everything written so far), Reset rebinds to a new
// destination and forgets all state.
type encoder interface {
	io.Writer
	Flush() error
	Close() error
	Reset(w io.Writer)
}

// codec is one encoding at one level, with its pool of encoders. Codecs are
// shared by every Compressor (one pool per encoding and level).
type codec struct {
	name   string
	coding header.Coding
	level  int
	pool   sync.Pool
}

func (c *codec) get(w io.Writer) encoder {
	e := c.pool.Get().(encoder)
	e.Reset(w)
	return e
}

// put returns e to the pool after dropping its reference to the destination.
func (c *codec) put(e encoder) {
	e.Reset(nil)
	c.pool.Put(e)
}

type codecKey struct {
	name   string
	level  int
	window int // brotli's and zstd's log2; 0 for the others
}

var (
	codecsMu sync.Mutex
	codecs   = map[codecKey]*codec{}
)

var errUnknownCodec = errors.New("compress: unknown encoding")

// codecFor returns the shared codec for name at level, with the base-2
// logarithm of its window for brotli and zstd (all validated).
func codecFor(name string, level, window int) (*codec, error) {
	k := codecKey{name: name, level: level}
	var newEnc func() any
	switch name {
	case Gzip:
		newEnc = func() any {
			w, _ := gzip.NewWriterLevel(nil, level) // level validated by New
			return w
		}
	case Deflate:
		newEnc = func() any {
			w, _ := zlib.NewWriterLevel(nil, level)
			return w
		}
	case Brotli:
		newEnc = func() any {
			return brotliEncoder{brotli.NewWriterOptions(nil, brotli.WriterOptions{Quality: level, LGWin: window})}
		}
	case Zstd:
		zl := zstd.EncoderLevelFromZstd(level)
		newEnc = func() any {
			// Concurrency 1: a synchronous encoder, no goroutines.
			w, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zl), zstd.WithWindowSize(1<<window),
				zstd.WithEncoderConcurrency(1))
			return w
		}
	default:
		return nil, errUnknownCodec
	}
	codecsMu.Lock()
	defer codecsMu.Unlock()
	if name == Brotli || name == Zstd {
		k.window = window
	}
	if c, ok := codecs[k]; ok {
		return c, nil
	}
	coding, _ := header.ParseCoding(name) // one of the four above
	c := &codec{name: name, coding: coding, level: level}
	c.pool.New = newEnc
	codecs[k] = c
	return c, nil
}

// brotliChunk bounds each write into a brotli encoder. The encoder picks
// its match finder once, from the size of its first write: from 1 MiB on,
// at quality 4, one with a 4 MiB table (an in-flight response then held
// about 6 MiB at any window, against about 2 MiB at window 18 otherwise),
// for bodies about 2% smaller.
const brotliChunk = 64 << 10

// brotliEncoder is a brotli encoder whose writes are cut into brotliChunk
// pieces, so that its memory does not depend on how the handler writes.
type brotliEncoder struct{ *brotli.Writer }

func (e brotliEncoder) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), brotliChunk)
		m, err := e.Writer.Write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}
