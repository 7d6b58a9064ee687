package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// valueClient is a client of the user's, passed by value, whose type is
// not comparable (a slice field).
type valueClient struct {
	*redis.Client
	tags []string
}

// TestDeleteWithAValueClientOfAnIncomparableType: Delete told its client
// from a pipeline by comparing the two as interfaces, which panics when
// the client's type is not comparable (a struct value with a slice).
func TestDeleteWithAValueClientOfAnIncomparableType(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: testutil.RedisAddr(t), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = client.Close() })
	b := redisstore.Must(redisstore.Options{Client: valueClient{Client: client, tags: []string{"user"}}, Prefix: uniquePrefix(t)})
	ctx := context.Background()
	require.NoError(t, b.Set(ctx, "k", []byte("v"), time.Minute))
	assert.NotPanics(t, func() { assert.NoError(t, b.Delete(ctx, "k")) })
	_, err := b.Get(ctx, "k")
	assert.ErrorIs(t, err, backend.ErrNotFound)
}
