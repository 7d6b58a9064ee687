package memcached

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"

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
// reply of more values than its get asked for keys (see getKeys; at most
// maxReplyValues), fail the read with errBadReply before gomemcache sees
// the line, and every read after it: the call fails, and gomemcache closes
// the connection (it is never pooled nor parked). A value over
// Options.MaxItemSize, and no more than a server may hold, is skipped (see
// maxSkipped): its key is refused, and the reply read on. A VALUE line
// whose key its get did not ask for marks the connection out of step (see
// replyFrame.stray), which never writes a request again.
//
// It costs a pass over each reply line (IndexByte; a VALUE line's key in a
// tight loop, copied, its numbers byte by byte), a pass over a get's keys
// a reply (see askedFor), a copy of a get's line as it is written, and a
// subtraction per read of a value's data (BenchmarkReplyFrame).

// errBadReply is wrapped by the errors of replies that break memcached's
// protocol (see replyFrame).
var errBadReply = errors.New("memcached: a reply that breaks the protocol")

// maxServerItem is the largest item a memcached server holds (its -I is at
// most 1 GiB). A VALUE line that declares more breaks the protocol; one
// that declares more than Options.MaxItemSize but no more than this is a
// value the server holds and this Store will not read: stored by a process
// told a larger MaxItemSize (the servers' -I larger than this Store's
// MaxItemSize). It is a refusal of its key (errOverItemSize, wrapping
// backend.ErrKeyRefused), not a failure of the server: a Store whose
// MaxItemSize is set lower than the others' refuses such keys, and is not
// cut off from a server that answers every other key.
const maxServerItem = 1 << 30

// maxSizeDigits is the most digits of a VALUE line's size: maxServerItem's
// (memcached writes no leading zeros).
const maxSizeDigits = len("1073741824")

// maxSkipped bounds the values skipped. A value over Options.MaxItemSize
// is read off the connection without being kept, its key refused:
// gomemcache sees its VALUE line with the size of a token of the Store's
// (Store.overItem, overItemLen random bytes that never leave the process,
// so that no server can send them) followed by the value's size in
// maxSizeDigits digits, its data block as those, and the rest of the reply
// as it came. Get and GetMany read the token as the refusal of the key
// (errOverItemSize; Get's error says the size), not as a value, nor as a
// miss; the connection stays in step, and goes back to the pool: a read of
// such a key costs no dial, and a GetMany reads every other key of the
// reply. The frame holds a VALUE line's size back from gomemcache, a read
// that ends within it held until the next, until the size is known; the
// token's and the size's bytes are written over the data's first, and the
// rest of the data is dropped as it is read, in the reads' own buffers:
// nothing is allocated. Reading a skipped value costs the time its bytes
// take to come: they are bounded by maxSkipped a reply (up to the next
// line that is not a VALUE line), past which a value over MaxItemSize
// fails the read with errOverItemSize, closing the connection, as does a
// skipped value whose data does not come within Options.Timeout (the
// server answered: neither counts against it). 8 MiB comes within the
// default Timeout (250ms) at 300 Mbit/s; a server's values of many MiB,
// and many such values in a multi-get, close the connection instead of
// filling the Timeout.
const maxSkipped = 8 << 20

// overItemLen is the length of Store.overItem, the token of a skipped
// value (see maxSkipped); overItemRead the length of what such a value is
// read as, the token then its size in maxSizeDigits digits; and
// overItemDigits the VALUE line's size that declares that.
const (
	overItemLen  = 16
	overItemRead = overItemLen + maxSizeDigits
)

var overItemDigits = strconv.Itoa(overItemRead)

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
// held a Get, without bound. A get written whole bounds its reply to as
// many values as it asked for keys (see getKeys): 1000 values of keys
// never asked for, each up to Options.MaxItemSize, were up to 1 GiB kept
// for a GetMany of one key.
const maxReplyValues = getManyBatchKeys

// keepKeys is the most of a get's keys (replyFrame.keys) a connection
// keeps from one request to the next: a larger copy, up to
// getManyBatchBytes (64 KiB) of a GetMany batch of long keys, is let go
// once its reply ended (its last line read), so that a pooled connection
// does not hold it for the rest of its life (MaxIdleConns of them per
// server). A get of fewer keys' bytes (a Get, a GetMany of a few dozen
// keys) reuses the buffer, allocating nothing.
const keepKeys = 4 << 10

// getKeys returns how many keys p asks for when it is a get request
// written whole ("get <key> ...\r\n" or "gets ...", as gomemcache writes
// one), and its keys, each followed by a space ("<key> ... "); 0 and nil
// otherwise. It counts the spaces: never fewer keys than the server reads
// (memcached splits on spaces, and gomemcache writes one between keys).
func getKeys(p []byte) (int, []byte) {
	line, ok := bytes.CutPrefix(p, []byte("get"))
	if !ok {
		return 0, nil
	}
	line = bytes.TrimPrefix(line, []byte("s"))
	if len(line) == 0 || line[0] != ' ' || !bytes.HasSuffix(line, []byte("\r\n")) ||
		bytes.IndexByte(line, '\n') != len(line)-1 {
		return 0, nil
	}
	return bytes.Count(line, []byte(" ")), line[1 : len(line)-1]
}

// ask notes the request p, just written, for the reply that answers it:
// the number of keys of a get written whole (see getKeys), and those keys,
// for each VALUE line's key to be checked against them (see stray). It
// copies them into the frame's own buffer, kept from request to request
// up to keepKeys: a get of one key costs a copy of its line.
func (f *replyFrame) ask(p []byte) {
	var keys []byte
	f.asked, keys = getKeys(p)
	if f.asked > 0 {
		f.keys = append(f.keys[:0], keys...)
		f.keys[len(f.keys)-1] = ' ' // the line's '\r'
		f.next = 0
	}
}

// askedFor reports whether key is one of the keys of the get answered
// (f.keys). memcached answers a multi-get's keys in their order, those it
// has no value of left out: key is looked for from the one after the last
// found (f.next) on, which it then moves past, and only then, for a
// server or proxy that answers in another order, among the keys before it.
// A reply of values in order thus costs one pass over the get's keys.
func (f *replyFrame) askedFor(key []byte) bool {
	if end := findKey(f.keys[f.next:], key); end >= 0 {
		f.next += end
		return true
	}
	return findKey(f.keys[:f.next], key) >= 0
}

// findKey returns where the first of keys ("<key> <key> ... ", each
// followed by a space) that is key ends, its space included, or -1 if none
// is.
func findKey(keys, key []byte) int {
	for off := 0; off < len(keys); {
		n := bytes.IndexByte(keys[off:], ' ')
		if n < 0 {
			break // no key: keys ends with a space
		}
		if n == len(key) && bytes.Equal(keys[off:off+n], key) {
			return off + n + 1
		}
		off += n + 1
	}
	return -1
}

// valuePrefix starts the line before each value of a get's reply.
const valuePrefix = "VALUE "

// replyFrame is where a connection stands in its replies. Its zero value,
// but for max, is at the start of a line.
type replyFrame struct {
	// max is the largest value a VALUE line may declare
	// (Options.MaxItemSize).
	max int64
	// asked is how many keys the request answered asked for, when it was
	// a get written whole (see getKeys), its reply then bounded to as
	// many values; 0 otherwise, the reply bounded by maxReplyValues.
	// keys are then those keys, each followed by a space, and next where
	// the one after the last key found in the reply starts (see askedFor).
	asked int
	keys  []byte
	next  int
	// key[:min(fieldLen, maxKeyLen)] is the key of the VALUE line being
	// read, while its get's keys are known (asked > 0), for the check
	// of stray.
	key [maxKeyLen]byte
	// stray reports that a reply named the key of a VALUE line its get
	// did not ask for: the connection is out of step with its replies
	// (the reply answers an earlier request), or the server hostile. The
	// reply is read on as it came (the Store drops the values of such a
	// reply: see Store.getMulti), and the connection is never used again
	// (see healthConn.Write).
	stray bool
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
	// values counts the VALUE lines since the last other line, kept
	// those of them whose value is not skipped; skipped, the bytes of the
	// values over max skipped since then; ends counts the other lines read
	// whole (a reply's last line among them: a get's END). runValues and
	// runKept are values and kept as the last other line started them
	// anew: the values of the reply it ended (see healthConn.Read).
	values, kept       int
	runValues, runKept int
	skipped            int64
	ends               uint64
	// token is what a value over max is read as (see maxSkipped), nil
	// where such a value fails the read; mark is the token and the size
	// of the value skipped, and tok how much of it was written over the
	// current value's data (0 for a value not skipped).
	token *[overItemLen]byte
	mark  [overItemRead]byte
	tok   int
	// over reports that the VALUE line being read is a skipped value's.
	over bool
	// hold[:held] are the digits of a VALUE line's size that ended the
	// last read, kept from the reader until the size is known (see read).
	hold [maxSizeDigits]byte
	held int
}

type frameState uint8

const (
	frameLine  frameState = iota // a line, which may be a VALUE line while line < len(valuePrefix)
	frameOther                   // a line that is not a VALUE line
	frameValue                   // a VALUE line's fields
	frameData                    // a value's data block
	frameCR                      // the '\r' after a data block
	frameLF                      // the '\n' after it
	frameToken                   // a skipped value's data, its first overItemRead bytes: mark's
	frameSkip                    // a skipped value's data, the rest: dropped
)

// The fields of a VALUE line.
const (
	valueKey = iota
	valueFlags
	valueSize
	valueCas
)

// read reads the connection c's next bytes into p through the frame (see
// scan): the digits it held first, then what c has. It reads on while the
// frame keeps all that c had (a skipped value's data, a size's digits),
// so that it returns bytes or an error, within c's deadline: the reader
// (gomemcache's, as bufio's) would call again at once. got reports that
// it read anything.
func (f *replyFrame) read(c net.Conn, p []byte) (n int, got bool, err error) {
	for {
		h := 0
		if f.held > 0 {
			// The reader's buffer holds the VALUE line's bytes before the
			// size (at most maxReplyLine, gomemcache's buffer, as a line
			// must be): room for the digits and more, but for a line
			// that breaks the bound.
			if len(p) <= f.held {
				return 0, got, f.fail(fmt.Errorf("a reply line of over %d bytes", maxReplyLine))
			}
			h = copy(p, f.hold[:f.held])
		}
		m, rerr := readArrived(c, p[h:])
		if m == 0 {
			return 0, got, rerr // the digits held still
		}
		got, f.held = true, 0
		n, ferr := f.scan(p[:h+m])
		switch {
		case ferr != nil:
			return 0, got, ferr
		case n > 0 || rerr != nil:
			return n, got, rerr
		}
	}
}

// skipping reports whether the frame is within a skipped value's data, or
// waits for the "\r\n" after it (f.tok is overItemRead after a skipped
// value's token and size, up to the next value's data block).
func (f *replyFrame) skipping() bool {
	switch f.state {
	case frameToken, frameSkip:
		return true
	case frameCR, frameLF:
		return f.tok == overItemRead
	}
	return false
}

// scan follows b, the next bytes read on the connection, and returns how
// many of them are the reader's, rewritten in place in b[:n]: all of
// them, but for a skipped value's (see maxSkipped), and for the digits of
// a VALUE line's size that end b, held for the next read (see read) until
// the size is known. It returns the error of the first thing in b that
// breaks the protocol (see replyFrame), and every time after it.
func (f *replyFrame) scan(b []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n := len(b)
	p := b // the bytes not scanned yet, the end of b[:n]
	for len(p) > 0 {
		switch f.state {
		case frameData:
			if int64(len(p)) <= f.data {
				f.data -= int64(len(p))
				return n, nil
			}
			p = p[f.data:]
			f.data, f.state = 0, frameCR
		case frameCR, frameLF:
			want := byte('\r')
			if f.state == frameLF {
				want = '\n'
			}
			if p[0] != want {
				return 0, f.fail(errors.New("a value's data block does not end with \\r\\n where its VALUE line says"))
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
					f.runValues, f.runKept = f.values, f.kept
					f.state, f.values, f.kept, f.skipped = frameOther, 0, 0, 0
					break
				}
				f.line, p = f.line+1, p[1:]
			}
			if f.state == frameLine && f.line == len(valuePrefix) {
				if f.values++; f.asked > 0 && f.values > f.asked {
					return 0, f.fail(fmt.Errorf("a reply of more values than the %d keys its get asked for", f.asked))
				} else if f.values > maxReplyValues {
					return 0, f.fail(fmt.Errorf("a reply of over %d values", maxReplyValues))
				}
				f.state, f.field, f.fieldLen, f.size = frameValue, valueKey, 0, 0
			}
		case frameOther:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				f.line += len(p)
				f.cr = p[len(p)-1] == '\r'
				if f.line >= maxReplyLine {
					return 0, f.fail(fmt.Errorf("a reply line of over %d bytes", maxReplyLine))
				}
				return n, nil
			}
			if f.line+i+1 > maxReplyLine {
				return 0, f.fail(fmt.Errorf("a reply line of over %d bytes", maxReplyLine))
			}
			if i > 0 && p[i-1] != '\r' || i == 0 && !f.cr {
				return 0, f.fail(errors.New(`a reply line that does not end with \r\n`))
			}
			p = p[i+1:]
			f.line, f.cr, f.state = 0, false, frameLine
			f.ends++
			if cap(f.keys) > keepKeys {
				// The reply ended: a VALUE line after it is a key not
				// asked for (see askedFor), whatever it names.
				f.keys, f.next = nil, 0
			}
		case frameValue:
			k, cut, err := f.value(p)
			if err != nil {
				return 0, f.fail(err)
			}
			p, n = p[k:len(p)-cut], n-cut
		case frameToken:
			k := copy(p, f.mark[f.tok:])
			p, f.tok, f.data = p[k:], f.tok+k, f.data-int64(k)
			if f.tok == overItemRead {
				f.state = frameSkip
			}
		case frameSkip:
			k := int(min(int64(len(p)), f.data))
			copy(p, p[k:])
			p, n, f.data = p[:len(p)-k], n-k, f.data-int64(k)
			if f.data == 0 {
				f.state = frameCR
			}
		}
	}
	if f.state == frameValue && f.field == valueSize && f.fieldLen > 0 && !f.cr {
		// The size's digits so far end b: held, to be read again with
		// the rest of the size.
		f.held = copy(f.hold[:], b[n-f.fieldLen:n])
		n, f.line, f.fieldLen, f.size = n-f.fieldLen, f.line-f.fieldLen, 0, 0
	}
	return n, nil
}

// value follows p, the next bytes of a VALUE line, field by field:
// "VALUE <key> <flags> <size> [<cas>]\r\n", each field one space after
// the other, as memcached writes it and gomemcache reads it. It returns
// how many bytes of p it took: all of them, or up to the line's end, after
// which a data block of the size declared follows. The size of a value
// that is skipped (see maxSkipped) is rewritten in p, its digits those of
// overItemRead: cut is by how many bytes that shortened p, whose end moved
// as much to the left (k counts the bytes after the cut).
func (f *replyFrame) value(p []byte) (k, cut int, err error) {
	start := 0
	if f.field == valueKey {
		// The key, the line's longest field, in a tight loop: up to the
		// space after it (or p's end).
		for start < len(p) && p[start] > ' ' && p[start] != 0x7f {
			start++
		}
		if f.asked > 0 && f.fieldLen < maxKeyLen {
			copy(f.key[f.fieldLen:], p[:start])
		}
		f.line += start
		f.fieldLen += start
		if f.line > maxReplyLine {
			return 0, 0, fmt.Errorf("a reply line of over %d bytes", maxReplyLine)
		}
	}
	for i := start; i < len(p); i++ {
		c := p[i]
		f.line++
		if f.line > maxReplyLine {
			return 0, 0, fmt.Errorf("a reply line of over %d bytes", maxReplyLine)
		}
		// The size ends at its first space or '\r' (the line's first
		// '\r', which the line's end must follow): rewritten there once,
		// fieldLen the digits it had (a byte after that '\r' that is not
		// '\n' fails the line below).
		if (c == ' ' || c == '\r') && f.field == valueSize && f.fieldLen > 0 && !f.cr && f.size > f.max {
			if f.token == nil || f.size < int64(overItemRead) || f.skipped+f.size > maxSkipped {
				return 0, 0, fmt.Errorf("%w: %d bytes, over %d", errOverItemSize, f.size, f.max)
			}
			// The size's digits, p[i-f.fieldLen:i], become overItemRead's,
			// at least two fewer (f.max is at least 1024).
			d := i - f.fieldLen
			d += copy(p[d:], overItemDigits)
			copy(p[d:], p[i:])
			cut += i - d
			p, i = p[:len(p)-(i-d)], d
			f.skipped += f.size
			f.over = true
		}
		switch {
		case c == ' ' && f.fieldLen > 0 && f.field < valueCas:
			if f.field == valueKey && f.asked > 0 && (f.fieldLen > maxKeyLen || !f.askedFor(f.key[:f.fieldLen])) {
				f.stray = true
			}
			f.field, f.fieldLen = f.field+1, 0
			continue
		case c == '\r' && f.fieldLen > 0 && f.field >= valueSize && !f.cr:
			f.cr = true
			continue
		case c == '\n' && f.cr:
			f.state, f.line, f.cr, f.data, f.tok = frameData, 0, false, f.size, 0
			if !f.over {
				f.kept++
				return i + 1, cut, nil
			}
			f.state, f.over = frameToken, false
			copy(f.mark[:], f.token[:])
			for i, n := len(f.mark)-1, f.size; i >= overItemLen; i, n = i-1, n/10 {
				f.mark[i] = byte('0' + n%10)
			}
			return i + 1, cut, nil
		case f.cr || c == ' ' || c == '\r' || c == '\n':
			return 0, 0, errors.New("a VALUE line that is not VALUE <key> <flags> <size> [<cas>]")
		case f.field == valueKey:
			if c < '!' || c == 0x7f {
				return 0, 0, errors.New("a VALUE line whose key has control characters")
			}
		case c < '0' || c > '9':
			return 0, 0, errors.New("a VALUE line with a field that is not a number")
		case f.field == valueSize:
			if f.fieldLen == maxSizeDigits {
				return 0, 0, fmt.Errorf("a VALUE line whose size has over %d digits", maxSizeDigits)
			}
			f.size = f.size*10 + int64(c-'0')
			if f.size > maxServerItem {
				return 0, 0, fmt.Errorf("a value of over %d bytes, which no memcached holds", maxServerItem)
			}
		}
		f.fieldLen++
	}
	return len(p), cut, nil
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
