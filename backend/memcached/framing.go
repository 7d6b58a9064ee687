package memcached

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/go-caching/caching/backend"
)

// The framing of a connection's replies. gomemcache allocates the value of
// a get as the reply's "VALUE <key> <flags> <size> [<cas>]" line declares
// it, make([]byte, size+2), before it reads a byte of it, for any size up
// to 4 GiB: a broken or hostile server (or proxy) could make the client
// allocate gigabytes with one line. Every connection of a Store reads
// through a replyFrame (see healthConn.Read), which follows the replies as
// they are read, line by line, and skips each value's data block without
// looking inside it: a VALUE line that declares more than any memcached
// holds (maxServerItem), a line longer than maxReplyLine without its end,
// a line that does not end in "\r\n", a data block that does not, and a
// reply of more values than a request of the Store asks for
// (maxReplyValues), fail the read with errBadReply before gomemcache sees
// the line, and every read after it: the call fails, and gomemcache closes
// the connection (it is never pooled nor parked). A VALUE line that declares more than Options.MaxItemSize, and
// no more than a server may hold, fails the read the same way, before
// anything is allocated for it, but as a refusal of its key
// (errOverItemSize), not a failure of the server.
//
// It costs a pass over each reply line (IndexByte; a VALUE line's key in a
// tight loop, its numbers byte by byte) and a subtraction per read of a
// value's data (BenchmarkReplyFrame).

// errBadReply is wrapped by the errors of replies that break memcached's
// protocol (see replyFrame).
var errBadReply = errors.New("memcached: a reply that breaks the protocol")

// maxServerItem is the largest item a memcached server holds (its -I is at
// most 1 GiB). A VALUE line that declares more breaks the protocol; one
// that declares more than Options.MaxItemSize but no more than this is a
// value the server holds and this Store will not read: stored by a process
// told a larger MaxItemSize (the servers' -I larger than this Store's
// MaxItemSize). Its read fails with errOverItemSize, a refusal of its key
// (backend.ErrKeyRefused), not a failure of the server: a Store whose
// MaxItemSize is set lower than the others' misses such keys, and is not
// cut off from a server that answers every other key.
const maxServerItem = 1 << 30

// errOverItemSize is wrapped by the error of a read of a value larger than
// Options.MaxItemSize (see maxServerItem).
var errOverItemSize = fmt.Errorf("memcached: a value over Options.MaxItemSize, not read: %w", backend.ErrKeyRefused)

// maxReplyLine bounds a reply line, its "\r\n" included. memcached's
// longest are a VALUE line (a key of at most 250 bytes and three numbers)
// and its error lines, far shorter. It is gomemcache's read buffer: a
// longer line would fail there anyway, with an error that does not count
// against the server.
const maxReplyLine = 4 << 10

// maxReplyValues bounds the values of one reply (the VALUE lines before
// its END): no request of the Store asks for more keys (see
// getManyBatchKeys). gomemcache keeps every value a multi-get's reply
// holds, the keys asked for or not, and extends its read deadline before
// each: a server sending values without end grew a GetMany's memory, and
// held a Get, without bound.
const maxReplyValues = getManyBatchKeys

// valuePrefix starts the line before each value of a get's reply.
const valuePrefix = "VALUE "

// replyFrame is where a connection stands in its replies. Its zero value,
// but for max, is at the start of a line.
type replyFrame struct {
	// max is the largest value a VALUE line may declare
	// (Options.MaxItemSize).
	max int64
	// err is the first error, returned by every read after it.
	err   error
	state frameState
	// line is how many bytes of the current line were read; cr whether
	// the last of them was '\r'.
	line int
	cr   bool
	// field is the VALUE line's field being read (valueKey...valueCas),
	// fieldLen how many bytes of it were read, size the size field's
	// value.
	field    int
	fieldLen int
	size     int64
	// data is how many bytes of a value's data block are left to skip.
	data int64
	// values counts the VALUE lines since the last other line.
	values int
}

type frameState uint8

const (
	frameLine  frameState = iota // a line, which may be a VALUE line while line < len(valuePrefix)
	frameOther                   // a line that is not a VALUE line
	frameValue                   // a VALUE line's fields
	frameData                    // a value's data block
	frameCR                      // the '\r' after a data block
	frameLF                      // the '\n' after it
)

// The fields of a VALUE line.
const (
	valueKey = iota
	valueFlags
	valueSize
	valueCas
)

// scan follows p, the next bytes read on the connection, and returns the
// error of the first thing in them that breaks the protocol (see
// replyFrame), and every time after it.
func (f *replyFrame) scan(p []byte) error {
	if f.err != nil {
		return f.err
	}
	for len(p) > 0 {
		switch f.state {
		case frameData:
			if int64(len(p)) <= f.data {
				f.data -= int64(len(p))
				return nil
			}
			p = p[f.data:]
			f.data, f.state = 0, frameCR
		case frameCR, frameLF:
			want := byte('\r')
			if f.state == frameLF {
				want = '\n'
			}
			if p[0] != want {
				return f.fail(errors.New("a value's data block does not end with \\r\\n where its VALUE line says"))
			}
			p = p[1:]
			if f.state == frameCR {
				f.state = frameLF
			} else {
				f.state = frameLine
			}
		case frameLine:
			for f.line < len(valuePrefix) && len(p) > 0 {
				if p[0] != valuePrefix[f.line] {
					f.state, f.values = frameOther, 0
					break
				}
				f.line, p = f.line+1, p[1:]
			}
			if f.state == frameLine && f.line == len(valuePrefix) {
				if f.values++; f.values > maxReplyValues {
					return f.fail(fmt.Errorf("a reply of over %d values", maxReplyValues))
				}
				f.state, f.field, f.fieldLen, f.size = frameValue, valueKey, 0, 0
			}
		case frameOther:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				f.line += len(p)
				f.cr = p[len(p)-1] == '\r'
				if f.line >= maxReplyLine {
					return f.fail(fmt.Errorf("a reply line of over %d bytes", maxReplyLine))
				}
				return nil
			}
			if f.line+i+1 > maxReplyLine {
				return f.fail(fmt.Errorf("a reply line of over %d bytes", maxReplyLine))
			}
			if i > 0 && p[i-1] != '\r' || i == 0 && !f.cr {
				return f.fail(errors.New(`a reply line that does not end with \r\n`))
			}
			p = p[i+1:]
			f.line, f.cr, f.state = 0, false, frameLine
		case frameValue:
			n, err := f.value(p)
			if err != nil {
				return f.fail(err)
			}
			p = p[n:]
		}
	}
	return nil
}

// value follows p, the next bytes of a VALUE line, field by field:
// "VALUE <key> <flags> <size> [<cas>]\r\n", each field one space after
// the other, as memcached writes it and gomemcache reads it. It returns
// how many bytes of p it took: all of them, or up to the line's end, after
// which a data block of the size declared follows.
func (f *replyFrame) value(p []byte) (int, error) {
	start := 0
	if f.field == valueKey {
		// The key, the line's longest field, in a tight loop: up to the
		// space after it (or p's end).
		for start < len(p) && p[start] > ' ' && p[start] != 0x7f {
			start++
		}
		f.line += start
		f.fieldLen += start
		if f.line > maxReplyLine {
			return 0, fmt.Errorf("a reply line of over %d bytes", maxReplyLine)
		}
	}
	for i := start; i < len(p); i++ {
		c := p[i]
		f.line++
		if f.line > maxReplyLine {
			return 0, fmt.Errorf("a reply line of over %d bytes", maxReplyLine)
		}
		if (c == ' ' || c == '\r') && f.field == valueSize && f.fieldLen > 0 && f.size > f.max {
			return 0, fmt.Errorf("%w: %d bytes, over %d", errOverItemSize, f.size, f.max)
		}
		switch {
		case c == ' ' && f.fieldLen > 0 && f.field < valueCas:
			f.field, f.fieldLen = f.field+1, 0
			continue
		case c == '\r' && f.fieldLen > 0 && f.field >= valueSize && !f.cr:
			f.cr = true
			continue
		case c == '\n' && f.cr:
			f.state, f.line, f.cr, f.data = frameData, 0, false, f.size
			return i + 1, nil
		case f.cr || c == ' ' || c == '\r' || c == '\n':
			return 0, errors.New("a VALUE line that is not VALUE <key> <flags> <size> [<cas>]")
		case f.field == valueKey:
			if c < '!' || c == 0x7f {
				return 0, errors.New("a VALUE line whose key has control characters")
			}
		case c < '0' || c > '9':
			return 0, errors.New("a VALUE line with a field that is not a number")
		case f.field == valueSize:
			f.size = f.size*10 + int64(c-'0')
			if f.size > maxServerItem {
				return 0, fmt.Errorf("a value of over %d bytes, which no memcached holds", maxServerItem)
			}
		}
		f.fieldLen++
	}
	return len(p), nil
}

// fail notes err, the scan's first error, wrapped in errBadReply unless
// it is errOverItemSize's.
func (f *replyFrame) fail(err error) error {
	if errors.Is(err, errOverItemSize) {
		f.err = fmt.Errorf("%w (the connection is closed)", err)
	} else {
		f.err = fmt.Errorf("%w: %w (the connection is closed)", errBadReply, err)
	}
	return f.err
}
