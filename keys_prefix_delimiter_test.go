package caching

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/simple"
)

// Options.KeyPrefix: Caches share a store under prefixes none of which is
// a prefix of another. Nothing ends KeyPrefix in a backend key, so "t" and
// "tk/" share keys (the first's "k/secret" is the second's "secret": a
// tenant named "tk/" read tenant "t"'s entries); the documented remedy, a
// delimiter the names cannot hold at the end of each prefix, keeps them
// apart.
func TestKeyPrefixesEndingWithADelimiterKeepCachesApart(t *testing.T) {
	ctx := context.Background()
	store := simple.Must(simple.Options{})
	a, err := New(&Options{Backend: store, KeyPrefix: "t:"})
	require.NoError(t, err)
	b, err := New(&Options{Backend: store, KeyPrefix: "tk/:"})
	require.NoError(t, err)
	require.NoError(t, b.Set(ctx, "secret", []byte("tenant tk/'s value"), time.Hour))
	_, err = a.Get(ctx, "k/secret")
	require.ErrorIs(t, err, ErrNotFound, "a Cache reads another's entry")
	require.NoError(t, a.Set(ctx, "k/secret", []byte("tenant t's value"), time.Hour))
	got, err := b.Get(ctx, "secret")
	require.NoError(t, err)
	require.Equal(t, "tenant tk/'s value", string(got), "a Cache overwrote another's entry")
}
