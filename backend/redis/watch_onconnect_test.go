package redisstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// Regression: a client that authenticates in go-redis's OnConnect (not
// with Username and Password, or a CredentialsProvider) works, but the
// watch does not run OnConnect on its own connection (it speaks RESP3 on a
// connection of its own, not a go-redis one): the server refuses it
// (NOAUTH) at every try, and its error said only that, leaving the near
// cache unused for a reason the program could not see. The refusal now
// says that OnConnect is not run on the watch's connection, and how to
// give the credentials instead.
func TestWatchRefusedAfterOnConnectAuthSaysWhy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", dir, "--requirepass", "on-connect-secret"}
	})
	b := redisstore.Must(redisstore.Options{Prefix: "onconnect:", ClientOptions: &redis.UniversalOptions{
		Addrs: []string{p.Addr},
		OnConnect: func(ctx context.Context, cn *redis.Conn) error {
			return cn.Auth(ctx, "on-connect-secret").Err()
		},
	}})
	t.Cleanup(func() { _ = b.Close() })
	bg := context.Background()
	require.NoError(t, b.Set(bg, "k", []byte("v"), time.Minute), "the client authenticates in OnConnect")

	w, err := b.WatchInvalidations(func([]string) {}, func(bool) {})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close() })
	werr := w.(interface{ Err() error })
	var got error
	require.Eventually(t, func() bool { got = werr.Err(); return got != nil }, 10*time.Second, 10*time.Millisecond,
		"the watch is refused")
	assert.ErrorIs(t, got, backend.ErrWatchRefused)
	assert.ErrorContains(t, got, "NOAUTH")
	assert.ErrorContains(t, got, "OnConnect is not run on the watch's connection")
}
