package memcached

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// recorder keeps what a Store's client writes to its servers, to count the
// multi-gets GetMany sends.
type recorder struct {
	mu      sync.Mutex
	bufs    []*bytes.Buffer // one per connection
	onWrite func()          // called after each write, outside mu
}

// record makes s's client record what it writes on the connections it opens
// from now on.
func record(s *Store) *recorder {
	r := &recorder{}
	s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		b := new(bytes.Buffer)
		r.bufs = append(r.bufs, b)
		return &recordingConn{Conn: c, r: r, buf: b}, nil
	}
	return r
}

type recordingConn struct {
	net.Conn
	r   *recorder
	buf *bytes.Buffer
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.r.mu.Lock()
	c.buf.Write(p)
	f := c.r.onWrite
	c.r.mu.Unlock()
	n, err := c.Conn.Write(p)
	if f != nil {
		f()
	}
	return n, err
}

// reset forgets what was written so far and sets the write hook.
func (r *recorder) reset(onWrite func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.bufs {
		b.Reset()
	}
	r.onWrite = onWrite
}

// gets returns the keys of each multi-get ("gets k1 k2 ...") written since
// the last reset. Keys hold no spaces nor line ends, so the commands are the
// lines that start with "gets ".
func (r *recorder) gets() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var cmds [][]string
	for _, b := range r.bufs {
		for line := range strings.SplitSeq(b.String(), "\r\n") {
			if rest, ok := strings.CutPrefix(line, "gets "); ok {
				cmds = append(cmds, strings.Fields(rest))
			}
		}
	}
	return cmds
}

// batchStore returns a Store on one server whose multi-gets are recorded, the
// namespace generation already read (so that reading it adds no gets), and
// a second Store on the same namespace to write entries through.
func batchStore(t *testing.T) (s *Store, r *recorder, setup *Store) {
	addrs := testutil.MemcachedAddrs(t)
	o := Options{Servers: addrs[:1], Namespace: fmt.Sprint("batch", time.Now().UnixNano()), GenerationTTL: time.Hour}
	s, err := New(o)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	r = record(s)
	_, err = s.GetMany(context.Background(), []string{"warm"})
	require.NoError(t, err)
	o.Timeout = 2 * time.Second
	setup, err = New(o)
	require.NoError(t, err)
	t.Cleanup(func() { setup.Close() })
	return s, r, setup
}

func seqKeys(prefix string, n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s%06d", prefix, i)
	}
	return keys
}

// TestGetManyBatches: GetMany sends at most getManyBatchKeys keys, and
// getManyBatchBytes bytes of keys, per multi-get, each under its own
// deadline, and merges the batches' results in order; a call that fits one
// batch is one multi-get, as before. Counting the commands makes this
// independent of the machine's speed (TestGetManyManyKeysShortTimeout checks
// the timeouts themselves).
func TestGetManyBatches(t *testing.T) {
	bg := context.Background()
	s, r, setup := batchStore(t)
	p, err := s.prefix(context.Background())
	require.NoError(t, err)
	long := strings.Repeat("x", maxKeyLen-len(p)-6) // used as it is, not hashed
	cases := []struct {
		name    string
		keys    []string
		batches []int // keys per multi-get
	}{
		{"small", seqKeys("small/", 10), []int{10}},
		{"one full batch", seqKeys("full/", getManyBatchKeys), []int{getManyBatchKeys}},
		{"two and a bit", seqKeys("more/", 2*getManyBatchKeys+1), []int{getManyBatchKeys, getManyBatchKeys, 1}},
		{"long keys", seqKeys(long, getManyBatchKeys), nil}, // by bytes: checked below
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := make([][]byte, len(tc.keys))
			for i := 0; i < len(tc.keys); i += 97 {
				want[i] = []byte(fmt.Sprint("v", i))
				require.NoError(t, setup.Set(bg, tc.keys[i], want[i], time.Minute))
			}
			r.reset(nil)
			got, err := s.GetMany(bg, tc.keys)
			require.NoError(t, err)
			assert.Equal(t, want, got)

			cmds := r.gets()
			var sent []string
			var sizes []int
			for _, c := range cmds {
				sent = append(sent, c...)
				sizes = append(sizes, len(c))
				n := 0
				for _, k := range c {
					n += len(k) + 1
				}
				assert.LessOrEqual(t, len(c), getManyBatchKeys, "keys in one multi-get")
				assert.LessOrEqual(t, n, getManyBatchBytes, "bytes of keys in one multi-get")
			}
			mkeys := make([]string, len(tc.keys))
			for i, k := range tc.keys {
				mkeys[i] = storeKey(p, k)
			}
			assert.Equal(t, mkeys, sent, "every key sent once, in order")
			if tc.batches != nil {
				assert.Equal(t, tc.batches, sizes)
			} else {
				assert.Greater(t, len(sizes), 1, "long keys split by bytes")
			}
		})
	}
}

// TestGetManyStopsBetweenBatches: a context cancelled (or a Store closed)
// while a batch is under way stops GetMany before the next batch, with the
// context's error (backend.ErrClosed); no partial result is returned.
func TestGetManyStopsBetweenBatches(t *testing.T) {
	keys := seqKeys("stop/", 3*getManyBatchKeys)
	t.Run("cancel", func(t *testing.T) {
		s, r, _ := batchStore(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r.reset(cancel)
		got, err := s.GetMany(ctx, keys)
		require.ErrorIs(t, err, context.Canceled)
		assert.Nil(t, got)
		assert.Len(t, r.gets(), 1, "multi-gets sent")
	})
	t.Run("close", func(t *testing.T) {
		s, r, _ := batchStore(t)
		r.reset(func() { s.Close() })
		got, err := s.GetMany(context.Background(), keys)
		require.ErrorIs(t, err, backend.ErrClosed)
		assert.Nil(t, got)
		assert.Len(t, r.gets(), 1, "multi-gets sent")
	})
}
