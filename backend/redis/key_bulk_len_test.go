package redisstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// Redis reads no argument longer than its proto-max-bulk-len, keys
// included: a key (with the Store's prefix) longer than that was answered
// with "ERR Protocol error: invalid bulk length" and a closed connection,
// an error a Cache's breaker counts. The Store refuses such a key before
// sending it, as it refuses such a value: an error wrapping
// backend.ErrKeyRefused (neutral for the breaker), the connection kept, and
// the other keys of a call on several served. A key of exactly
// proto-max-bulk-len is sent.
func TestKeyOverProtoMaxBulkLenIsRefusedBeforeSending(t *testing.T) {
	addr := redisWith(t, "--proto-max-bulk-len", "1mb")
	ctx := context.Background()
	b, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "?read_timeout=10s&write_timeout=10s&pool_size=1", Prefix: "a"})
	require.NoError(t, err)
	defer b.Close()
	admin := redis.NewClient(&redis.Options{Addr: addr})
	defer admin.Close()
	require.NoError(t, b.Set(ctx, "other", []byte("v"), time.Hour))

	long := strings.Repeat("k", 1<<20+1-len(b.Prefix())) // with the prefix, one byte over
	for _, op := range []struct {
		name string
		do   func() error
	}{
		{"get", func() error { _, err := b.Get(ctx, long); return err }},
		{"set", func() error { return b.Set(ctx, long, []byte("v"), time.Hour) }},
		{"add", func() error { _, err := b.Add(ctx, long, []byte("v"), time.Hour); return err }},
		{"incr", func() error { _, err := b.Incr(ctx, long, 1); return err }},
		{"has", func() error { _, err := b.Has(ctx, long); return err }},
		{"delete", func() error {
			require.NoError(t, b.Set(ctx, "deleted", []byte("v"), time.Hour))
			err := b.Delete(ctx, "deleted", long)
			_, gerr := b.Get(ctx, "deleted")
			assert.ErrorIs(t, gerr, backend.ErrNotFound, "Delete's other key was not deleted")
			return err
		}},
		{"deletecount", func() error {
			require.NoError(t, b.Set(ctx, "counted", []byte("v"), time.Hour))
			n, err := b.DeleteCount(ctx, long, "counted")
			assert.Equal(t, 1, n, "DeleteCount's other key")
			return err
		}},
		{"getmany", func() error {
			vs, err := b.GetMany(ctx, []string{long, "other"})
			var partial *backend.GetManyError
			if assert.ErrorAs(t, err, &partial) {
				assert.Equal(t, []int{0}, partial.Unread)
			}
			if assert.Len(t, vs, 2) {
				assert.Nil(t, vs[0])
				assert.Equal(t, "v", string(vs[1]), "GetMany's other key was not read")
			}
			return err
		}},
		{"setmany", func() error {
			err := b.SetMany(ctx, []backend.Item{{Key: long, Value: []byte("v"), TTL: time.Hour}, {Key: "stored", Value: []byte("s"), TTL: time.Hour}})
			got, gerr := b.Get(ctx, "stored")
			assert.NoError(t, gerr, "SetMany's other item was not stored")
			assert.Equal(t, "s", string(got))
			return err
		}},
	} {
		t.Run(op.name, func(t *testing.T) {
			conns := connectionsReceived(t, admin)
			in := netInput(t, admin)
			err := op.do()
			assert.ErrorIs(t, err, backend.ErrKeyRefused, "a key over proto-max-bulk-len")
			assert.True(t, backend.Neutral(err), "the refusal counts for the breaker: %v", err)
			assert.Equal(t, conns, connectionsReceived(t, admin), "the refused key cost the Store its connection")
			assert.Less(t, netInput(t, admin)-in, int64(64<<10), "the refused key was sent")
			got, gerr := b.Get(ctx, "other")
			require.NoError(t, gerr)
			require.Equal(t, "v", string(got))
		})
	}

	t.Run("at the limit", func(t *testing.T) {
		atLimit := long[1:]
		require.NoError(t, b.Set(ctx, atLimit, []byte("v"), time.Hour))
		got, err := b.Get(ctx, atLimit)
		require.NoError(t, err)
		require.Equal(t, "v", string(got))
	})
}
