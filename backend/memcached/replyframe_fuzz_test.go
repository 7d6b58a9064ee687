package memcached

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-caching/caching/backend"
)

// refItem is a value of a get's reply as refParse reads it.
type refItem struct {
	key  string
	data []byte
}

// refParse is a reference reader of a get's reply, written from the
// protocol rather than from replyFrame: "VALUE <key> <flags> <size>
// [<cas>]\r\n", fields one space apart (a key of bytes above ' ' but 0x7f,
// flags a uint32, size a uint32 of at most maxSizeDigits digits and
// maxServerItem, cas a uint64, all in decimal), the line at most
// maxReplyLine bytes, then size bytes of data and "\r\n"; at most
// maxReplyValues of them, then "END\r\n". It returns the values read, in
// order, up to the reply's end or the first thing that breaks it; end is
// the offset past "END\r\n", or -1 when b holds no whole reply.
func refParse(b []byte) (items []refItem, end int) {
	i := 0
	for {
		if bytes.HasPrefix(b[i:], []byte("END\r\n")) {
			return items, i + len("END\r\n")
		}
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 || j+1 > maxReplyLine || len(items) == maxReplyValues {
			return items, -1
		}
		line := b[i : i+j+1]
		if !bytes.HasPrefix(line, []byte(valuePrefix)) || !bytes.HasSuffix(line, []byte("\r\n")) {
			return items, -1
		}
		f := strings.Split(string(line[len(valuePrefix):len(line)-2]), " ")
		if len(f) != 3 && len(f) != 4 {
			return items, -1
		}
		if f[0] == "" || strings.ContainsFunc(f[0], func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return items, -1
		}
		digits := func(s string, bits int) (uint64, bool) {
			if s == "" || strings.Trim(s, "0123456789") != "" {
				return 0, false
			}
			n, err := strconv.ParseUint(s, 10, bits)
			return n, err == nil
		}
		_, okFlags := digits(f[1], 32)
		size, okSize := digits(f[2], 32)
		if !okFlags || !okSize || len(f[2]) > maxSizeDigits || size > maxServerItem {
			return items, -1
		}
		if len(f) == 4 {
			if _, ok := digits(f[3], 64); !ok {
				return items, -1
			}
		}
		i += len(line)
		if uint64(len(b)-i) < size+2 || !bytes.Equal(b[i+int(size):i+int(size)+2], []byte("\r\n")) {
			return items, -1
		}
		items = append(items, refItem{key: f[0], data: b[i : i+int(size)]})
		i += int(size) + 2
	}
}

// fuzzExpand returns b with each 0xff byte and the byte after it replaced
// by 256 copies of that byte (a lone 0xff at the end is kept), so that
// short inputs hold values over MaxItemSize; nil when that is over limit
// bytes.
func fuzzExpand(b []byte, limit int) []byte {
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] == 0xff && i+1 < len(b) {
			i++
			out = append(out, bytes.Repeat(b[i:i+1], 256)...)
		} else {
			out = append(out, b[i])
		}
		if len(out) > limit {
			return nil
		}
	}
	return out
}

// fuzzSplit returns a split of replies into chunks (one a read) whose
// lengths are pattern's bytes in turn, over and over, a 0 read as 4096
// (gomemcache's whole buffer); all in one chunk for an empty pattern.
func fuzzSplit(pattern []byte) func([]byte) [][]byte {
	return func(b []byte) [][]byte {
		if len(pattern) == 0 {
			return [][]byte{b}
		}
		var c [][]byte
		for i := 0; len(b) > 0; i++ {
			n := int(pattern[i%len(pattern)])
			if n == 0 {
				n = 4096
			}
			n = min(n, len(b))
			c = append(c, b[:n:n])
			b = b[n:]
		}
		return c
	}
}

// FuzzReplyFrame reads a reply (stream, expanded by fuzzExpand), split
// over reads as pattern says, through a Store whose MaxItemSize is 1024 +
// extra, on a scripted connection that answers every request with it, as
// Gets and a GetMany of the keys it names (the Store's, "fake:1:" and a
// key used as it is) and of a key it does not name. Whatever the bytes:
// no panic, no hang; a value read is the one refParse reads for its key
// (the last of the reply's, as gomemcache keeps), never over MaxItemSize,
// never the token of a skipped value. A reply that refParse reads whole
// (it is cut after its "END\r\n": bytes after it would be the next
// request's reply) is read as it says, a value over MaxItemSize refused
// with backend.ErrKeyRefused, unless it holds more values than the call
// asks for keys (a Get one): that call fails; any other fails every call.
func FuzzReplyFrame(f *testing.F) {
	// Seeds in fuzzExpand's form, short, so that the fuzzer's mutations
	// and minimization of them stay fast: over is a value's data of big
	// bytes, over MaxItemSize, full of reply lines; long a key that makes
	// a VALUE line of big bytes maxReplyLine long.
	evil := "\r\nEND\r\nVALUE fake:1:a 0 5 1\r\nevil!\r\n"
	over := evil + strings.Repeat("\xff\r\xff\n\xffE", 2) + "\xffN\xffD"
	big := len(evil) + 8*256
	keyLen := maxReplyLine - len(fmt.Sprintf("VALUE  0 %d 1\r\n", big))
	long := strings.Repeat("\xffL", keyLen/256) + strings.Repeat("L", keyLen%256)
	for _, seed := range []struct {
		stream  string
		pattern []byte
	}{
		{"VALUE fake:1:a 0 1 1\r\nA\r\nVALUE fake:1:b 0 2\r\nBB\r\nEND\r\n", nil},
		{"VALUE fake:1:a 0 1 1\r\nA\r\nVALUE fake:1:b 0 2\r\nBB\r\nEND\r\n", []byte{1}},
		{"END\r\n", []byte{2}},
		{"VALUE fake:1:a 4294967295 0003 18446744073709551615\r\n\r\n\n\r\nEND\r\n", []byte{7, 1}},
		{"VALUE fake:1:a 0 0001048577\r\r\nEND\r\n", []byte{1}},
		{"VALUE fake:1:a 0 @ 77\r\n" + over + "\r\nVALUE fake:1:b 0 1\r\nB\r\nEND\r\n", []byte{30, 5, 0}},
		{"VALUE fake:1:a 0 #\r\n" + over + "\r\nEND\r\n", []byte{29, 1}},
		{"VALUE fake:1:a 4294967295 @ 18446744073709551615\r\n" + over + "\r\nEND\r\n", []byte{3}},
		{"VALUE fake:1:a 0 @ 1\r\n" + over + "\r\r\nEND\r\n", []byte{0}},
		{"VALUE fake:1:a 0 @0 1\r\n" + over + "\r\nEND\r\n", nil},
		{"VALUE fake:1:a 0 $\r\n" + over + "\r\nEND\r\n", nil},
		{"VALUE fake:1:a 0 5  1\r\nhello\r\nEND\r\n", nil},
		{"VALUE fake:1:a  0 5\r\nhello\r\nEND\r\n", nil},
		{"VALUE fake:1:a 0 5 \r\nhello\r\nEND\r\n", nil},
		{"VALUE fake:1:a 0 3\r\n12 \r\nEND\r\n", []byte{4}},
		{"VALUE fake:1:a 0 1\r\nA\r\nEND\r\nVALUE fake:1:b 0 1\r\nB\r\nEND\r\n", nil},
		{"VALUE " + long + " 0 @ 1\r\n" + over + "\r\nVALUE fake:1:b 0 1 1\r\nB\r\nEND\r\n", []byte{0, 0, 1}},
		{"VALUE " + long + "x 0 @ 1\r\n" + over + "\r\nVALUE fake:1:b 0 1 1\r\nB\r\nEND\r\n", []byte{0, 0, 1}},
		{"SERVER_ERROR out of memory\r\n", nil},
		{"VALUE fake:1:a 0 1\r\nA\r\nERROR\r\n", nil},
		{"VALUE fake:1:a 0 4\r\nAB", nil},
		{"VALUE fake:1:a 0 1280\r\n\xff\r\xff\n\xff\r\xff\n\xffx\r\nVALUE fake:1:b 0 1\r\nB\r\nEND\r\n", []byte{9}},
	} {
		stream := strings.NewReplacer("@", strconv.Itoa(big), "#", fmt.Sprintf("%010d", big), "$", fmt.Sprintf("%011d", big)).Replace(seed.stream)
		f.Add([]byte(stream), seed.pattern, uint8(0))
		f.Add([]byte(stream), seed.pattern, uint8(255))
	}
	f.Fuzz(func(t *testing.T, stream, pattern []byte, extra uint8) {
		stream = fuzzExpand(stream, 64<<10)
		if stream == nil || len(pattern) > 64 {
			return
		}
		items, end := refParse(stream)
		whole := end >= 0
		if whole {
			stream = stream[:end]
		}
		max := 1024 + int(extra)
		s, split, _ := scriptStoreMax(t, max, func(string) string { return string(stream) })
		*split = fuzzSplit(pattern)

		// The keys to ask, those of the Store the reply names (the last
		// value of each), and one it does not.
		last := map[string]refItem{}
		var keys []string
		for _, it := range items {
			k, ok := strings.CutPrefix(it.key, "fake:1:")
			if !ok || storeKey("fake:1:", k) != it.key {
				continue
			}
			if _, seen := last[k]; !seen && len(keys) < 6 {
				keys = append(keys, k)
			}
			last[k] = it
		}
		absent := "absent"
		for _, it := range items {
			if it.key == "fake:1:"+absent {
				absent = ""
			}
		}

		// checkValue checks v, read for key k by call.
		checkValue := func(call, k string, v []byte) error {
			if len(v) > max {
				return fmt.Errorf("%s: key %q read a value of %d bytes, over MaxItemSize %d", call, k, len(v), max)
			}
			if bytes.Contains(v, s.overItem[:]) {
				return fmt.Errorf("%s: key %q read the token of a skipped value: %q", call, k, v)
			}
			for _, it := range items {
				if it.key == "fake:1:"+k && len(it.data) <= max && string(unpad(it.data)) == string(v) {
					if whole && string(unpad(last[k].data)) != string(v) {
						return fmt.Errorf("%s: key %q read %q, not the reply's last value %q", call, k, v, last[k].data)
					}
					return nil
				}
			}
			return fmt.Errorf("%s: key %q read %q, which the reply does not hold for it", call, k, v)
		}

		done := make(chan error, 1)
		go func() { done <- fuzzCalls(s, keys, absent, items, last, whole, max, checkValue) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("the reply %q split by %v: %v", stream, pattern, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the calls of the reply %q split by %v hang", stream, pattern)
		}
	})
}

// fuzzCalls makes FuzzReplyFrame's calls on s, Gets of the first keys
// then a GetMany of them all, and returns the first thing wrong.
func fuzzCalls(s *Store, keys []string, absent string, items []refItem, last map[string]refItem, whole bool, max int,
	checkValue func(call, k string, v []byte) error) error {
	ctx := context.Background()
	gets := keys[:min(len(keys), 3)]
	if absent != "" {
		gets = append(gets, absent)
	}
	whole1 := whole && len(items) <= 1 // a get asks for one key: its reply holds one value at most
	for _, k := range gets {
		v, err := s.Get(ctx, k)
		call := fmt.Sprintf("Get(%q)", k)
		if err == nil {
			if cerr := checkValue(call, k, v); cerr != nil {
				return cerr
			}
		}
		switch it, named := last[k]; {
		case !whole1:
			if err == nil {
				return fmt.Errorf("%s of a reply that breaks the protocol: %q, no error", call, v)
			}
		case len(items) == 0:
			if !errors.Is(err, backend.ErrNotFound) {
				return fmt.Errorf("%s of an empty reply: %v, not a miss", call, err)
			}
		case !named || items[len(items)-1].key != it.key:
			// gomemcache's Get reads the reply's last value.
			if err == nil {
				return fmt.Errorf("%s of a reply whose last value is %q's: %q, no error", call, items[len(items)-1].key, v)
			}
		case len(it.data) > max:
			if !errors.Is(err, backend.ErrKeyRefused) || !errors.Is(err, errOverItemSize) {
				return fmt.Errorf("%s of a value of %d bytes, over %d: %v, not refused", call, len(it.data), max, err)
			}
		case err != nil:
			return fmt.Errorf("%s of a whole reply: %w", call, err)
		}
	}

	many := append(keys[:len(keys):len(keys)], absent)
	if absent == "" {
		many = keys
	}
	if len(many) == 0 {
		return nil
	}
	if whole && !whole1 {
		// The Gets failed, their replies of more values than their one
		// key broken, and marked the server down: the GetMany's reply,
		// of as many values as it asks for keys, is judged on its own.
		s.servers.health[0].answered()
	}
	call := fmt.Sprintf("GetMany(%q)", many)
	vs, err := s.GetMany(ctx, many)
	var gm *backend.GetManyError
	if err != nil && !errors.As(err, &gm) {
		vs = nil
	}
	for i, v := range vs {
		if v != nil {
			if cerr := checkValue(call, many[i], v); cerr != nil {
				return cerr
			}
		}
	}
	if !whole || len(items) > len(many) { // more values than keys asked
		if err == nil {
			return fmt.Errorf("%s of a reply that breaks the protocol: no error", call)
		}
		return nil
	}
	asked := map[string]bool{}
	for _, k := range many {
		asked[storeKey("fake:1:", k)] = true
	}
	for _, it := range items {
		if !asked[it.key] { // the connection out of step, or the server hostile
			if !errors.Is(err, errOtherKey) || vs != nil {
				return fmt.Errorf("%s of a reply that holds %q's value: %d values, %v, not errOtherKey", call, it.key, len(vs), err)
			}
			return nil
		}
	}
	var refused []int
	for i, k := range many {
		it, named := last[k]
		var v []byte
		if vs != nil {
			v = vs[i]
		}
		switch {
		case named && len(it.data) > max:
			refused = append(refused, i)
		case named && v == nil:
			return fmt.Errorf("%s of a whole reply: no value for %q (%v)", call, k, err)
		case !named && v != nil:
			return fmt.Errorf("%s: %q read %q, which the reply does not name", call, k, v)
		}
	}
	switch {
	case refused == nil && err != nil:
		return fmt.Errorf("%s of a whole reply: %w", call, err)
	case refused != nil && (!errors.Is(err, backend.ErrKeyRefused) || !errors.Is(err, errOverItemSize)):
		return fmt.Errorf("%s of values over %d: %v, not refused", call, max, err)
	case refused != nil && len(refused) < len(many) && (gm == nil || fmt.Sprint(gm.Unread) != fmt.Sprint(refused)):
		return fmt.Errorf("%s: %v, want the keys at %v refused", call, err, refused)
	}
	return nil
}
