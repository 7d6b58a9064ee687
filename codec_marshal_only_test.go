package caching

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// apiAccount has a pointer-receiver MarshalJSON written for an HTTP API (it
// leaves out the hash) and no UnmarshalJSON: decoding fills the fields.
// Held in an interface it is not addressable, so encoding/json writes its
// fields, which decoding reads back: the codec must not address it.
type apiAccount struct {
	Name string
	Hash string
}

func (a *apiAccount) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"name": a.Name})
}

// TestCodecPointerMarshalerWithoutUnmarshalerRoundTrips: the codec writes
// its fields and reads them back: the MarshalJSON shape, which decoding does
// not read, would lose the Hash of the value served as a hit.
func TestCodecPointerMarshalerWithoutUnmarshalerRoundTrips(t *testing.T) {
	want := apiAccount{Name: "ann", Hash: "h"}
	b, err := jsonCodec{}.Marshal(want)
	require.NoError(t, err)
	var got apiAccount
	require.NoError(t, jsonCodec{}.Unmarshal(b, &got))
	assert.Equal(t, want, got, "a value read back as it was written (stored %s)", b)
}

// TestCodecMapOfPointerMarshalerWithoutUnmarshalerStored: a map of such
// values is stored and reads back, not refused.
func TestCodecMapOfPointerMarshalerWithoutUnmarshalerStored(t *testing.T) {
	want := map[string]apiAccount{"a": {Name: "ann", Hash: "h"}}
	b, err := jsonCodec{}.Marshal(want)
	require.NoError(t, err)
	var got map[string]apiAccount
	require.NoError(t, jsonCodec{}.Unmarshal(b, &got))
	assert.Equal(t, want, got)
}

// Through the API, on every store that encodes.
func TestCodecPointerMarshalerWithoutUnmarshalerGetOrSet(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		c, _ := k.open(t, nil, nil, Options{})
		ctx := context.Background()
		load := func(context.Context) (apiAccount, error) { return apiAccount{"ann", "h"}, nil }
		_, err := GetOrSet(ctx, c, "acct", time.Minute, load)
		require.NoError(t, err)
		v, err := GetOrSet(ctx, c, "acct", time.Minute, load)
		require.NoError(t, err)
		assert.Equal(t, "h", v.Hash, "the stored value read back")
	})
}
