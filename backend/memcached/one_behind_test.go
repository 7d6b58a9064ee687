package memcached

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: a server (or proxy) that answered a get twice, in one
// write, left the second reply in gomemcache's buffer, and every later get
// on that connection read the reply to the one before it: the value of
// the key it asked for, one request old (here "v1" for the second get,
// "v2" for the third), which no check of the reply's keys tells. The
// connection now writes no request after a read of more than one reply,
// and the get goes on another connection.
func TestConnectionOneReplyBehindIsNotUsedAgain(t *testing.T) {
	var gets atomic.Int64
	addr := getsServer(t, func(_ int64, keys []string) string {
		n := gets.Add(1)
		v := "v" + strconv.FormatInt(n, 10)
		r := "VALUE " + keys[0] + " 0 " + strconv.Itoa(len(v)) + " 1\r\n" + v + "\r\nEND\r\n"
		if n == 1 {
			return r + r // the reply twice, in one write
		}
		return r
	})
	s, dials := fakeStore(t, addr)
	for i := range 3 {
		v, err := s.Get(context.Background(), "k")
		require.NoError(t, err, "get %d", i+1)
		assert.Equal(t, "v"+strconv.Itoa(i+1), string(v), "get %d: the reply to the get before", i+1)
	}
	assert.Equal(t, int64(2), dials(), "dials")
}
