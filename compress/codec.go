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
	window int // brotli's; 0 for the others
}

var (
	codecsMu sync.Mutex
	codecs   = map[codecKey]*codec{}
)

var errUnknownCodec = errors.New("compress: unknown encoding")

// zstdWindow is RFC 9659's limit for zstd in HTTP.
const zstdWindow = 8 << 20

// codecFor returns the shared codec for name at level, with brotliWindow
// for brotli (all validated).
func codecFor(name string, level, brotliWindow int) (*codec, error) {
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
			return brotli.NewWriterOptions(nil, brotli.WriterOptions{Quality: level, LGWin: brotliWindow})
		}
	case Zstd:
		zl := zstd.EncoderLevelFromZstd(level)
		newEnc = func() any {
			// Concurrency 1: a synchronous encoder, no goroutines.
			w, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zl), zstd.WithWindowSize(zstdWindow),
				zstd.WithEncoderConcurrency(1))
			return w
		}
	default:
		return nil, errUnknownCodec
	}
	codecsMu.Lock()
	defer codecsMu.Unlock()
	if name == Brotli {
		k.window = brotliWindow
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
