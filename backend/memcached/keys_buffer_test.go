package memcached

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Regression: the frame kept a copy of the last get's keys for the key
// check of its reply (see replyFrame.ask), in a buffer kept from request
// to request: after a GetMany batch of long keys (up to
// getManyBatchBytes, 64 KiB) every pooled connection held that much for
// the rest of its life, MaxIdleConns of them per server. A buffer over
// keepKeys is now let go once the reply has ended, and the next get's
// reply is still checked.
func TestReplyFrameKeysBufferShrinksAfterABigBatch(t *testing.T) {
	var keys []string
	for i := range 261 {
		keys = append(keys, fmt.Sprintf("k%d-%s", i, strings.Repeat("x", 240)))
	}
	get := "gets " + strings.Join(keys, " ") + "\r\n"
	f := replyFrame{max: DefaultMaxItemSize}
	f.ask([]byte(get))
	reply := fmt.Sprintf("VALUE %s 0 1 1\r\nv\r\nEND\r\n", keys[260])
	n, err := f.scan([]byte(reply))
	assert.NoError(t, err)
	assert.Equal(t, len(reply), n)
	assert.False(t, f.stray, "a key asked for")
	assert.LessOrEqual(t, cap(f.keys), keepKeys, "the keys buffer once the reply ended")

	f.ask([]byte("gets a b\r\n"))
	_, err = f.scan([]byte("VALUE b 0 1 1\r\nv\r\nVALUE a 0 1 1\r\nv\r\nEND\r\n"))
	assert.NoError(t, err)
	assert.False(t, f.stray, "keys asked for, after the buffer was let go")
	f.ask([]byte("gets a b\r\n"))
	_, err = f.scan([]byte("VALUE c 0 1 1\r\nv\r\nEND\r\n"))
	assert.NoError(t, err)
	assert.True(t, f.stray, "a key not asked for, after the buffer was let go")
}
