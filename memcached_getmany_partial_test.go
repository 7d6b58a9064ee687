package caching

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// Regression: with one memcached server of two down, Cache.GetMany of keys
// on both failed as a whole, returning no value: the backend's GetMulti
// dropped the values the live server sent (and once the server was marked
// down, asked it for none). It now returns the values of the keys read,
// with an error saying how many keys were not.
func TestGetManyWithAMemcachedServerDownReturnsTheOthers(t *testing.T) {
	ctx := context.Background()
	p := testutil.StartProcess(t, "memcached", func(port int) []string {
		return []string{"-u", "root", "-l", "127.0.0.1", "-p", strconv.Itoa(port), "-m", "16"}
	})
	servers := []string{testutil.MemcachedAddrs(t)[0], p.Addr}
	c := openMemcachedCache(t, servers, memcachedNamespaceOn(0, 2), BreakerOptions{Threshold: -1})
	var keys []string
	for i := range 20 {
		k := fmt.Sprint("k", i)
		keys = append(keys, k)
		require.NoError(t, c.Set(ctx, k, []byte("v-"+k), time.Minute))
	}
	p.Stop()
	var onLive []string
	for _, k := range keys {
		if c.Set(ctx, k, []byte("v-"+k), time.Minute) == nil {
			onLive = append(onLive, k)
		}
	}
	require.NotEmpty(t, onLive)
	require.Less(t, len(onLive), len(keys), "some keys must be on the server down")

	got, err := c.GetMany(ctx, keys...)
	require.Error(t, err)
	var ge *backend.GetManyError
	require.ErrorAs(t, err, &ge)
	require.Len(t, ge.Unread, len(keys)-len(onLive))
	require.Contains(t, err.Error(), fmt.Sprintf("(%d of %d keys not read)", len(keys)-len(onLive), len(keys)))
	require.Len(t, got, len(onLive), "the values of the keys on the live server")
	for _, k := range onLive {
		require.Equal(t, "v-"+k, string(got[k]), "key %s", k)
	}
}

// With the partial result, a tagged entry read from the live server whose
// tag's version is on the server down cannot be verified: it is left out
// (counted as not read), never served; the entries whose tags were read are.
func TestGetManyWithAMemcachedServerDownServesNoUnverifiedEntry(t *testing.T) {
	ctx := context.Background()
	p := testutil.StartProcess(t, "memcached", func(port int) []string {
		return []string{"-u", "root", "-l", "127.0.0.1", "-p", strconv.Itoa(port), "-m", "16"}
	})
	servers := []string{testutil.MemcachedAddrs(t)[0], p.Addr}
	c := openMemcachedCache(t, servers, memcachedNamespaceOn(0, 2), BreakerOptions{Threshold: -1})
	var keys []string
	for i := range 40 {
		k := fmt.Sprint("k", i)
		keys = append(keys, k)
		require.NoError(t, c.Set(ctx, k, []byte("v-"+k), time.Minute, Tags(spreadTag(k))))
	}
	p.Stop()
	got, err := c.GetMany(ctx, keys...)
	require.Error(t, err)
	var ge *backend.GetManyError
	require.ErrorAs(t, err, &ge)
	require.Len(t, got, len(keys)-len(ge.Unread))
	require.NotEmpty(t, got, "some entries and their tags are on the live server")
	for k, v := range got {
		require.Equal(t, "v-"+k, string(v))
		// Its tag's version was read: it is on the live server.
		require.NoError(t, c.InvalidateTags(ctx, spreadTag(k)), "entry %s served though its tag is on the server down", k)
	}
	// Entries on the live server whose tag is on the server down: not served.
	unverified := 0
	for _, k := range keys {
		if _, ok := got[k]; !ok && c.Set(ctx, k, []byte("x"), time.Minute) == nil && c.InvalidateTags(ctx, spreadTag(k)) != nil {
			unverified++
		}
	}
	require.NotZero(t, unverified, "no entry on the live server had its tag on the server down")
}

// spreadTag returns a tag for key k whose server is not tied to k's. The
// servers are picked by CRC-32, whose low bit is linear: "tag-"+k would
// land on k's server for every k, or on the other one for every k (by
// the namespace), and the test would have no entry of either kind half
// the time. A hash of k spreads them.
func spreadTag(k string) string {
	sum := sha256.Sum256([]byte(k))
	return "tag-" + hex.EncodeToString(sum[:8])
}

// Regression: when the read of the tags' versions failed as a whole (every
// tag of the entries read on the server down), Cache.GetMany failed as a
// whole too, a plain error and no value, though the untagged entries were
// read. The tagged entries are now counted as not read, and the others
// returned with the *backend.GetManyError.
func TestGetManyWithEveryTagOnAMemcachedServerDownReturnsTheUntagged(t *testing.T) {
	ctx := context.Background()
	p := testutil.StartProcess(t, "memcached", func(port int) []string {
		return []string{"-u", "root", "-l", "127.0.0.1", "-p", strconv.Itoa(port), "-m", "16"}
	})
	servers := []string{testutil.MemcachedAddrs(t)[0], p.Addr}
	c := openMemcachedCache(t, servers, memcachedNamespaceOn(0, 2), BreakerOptions{Threshold: -1})
	var untagged, tagged []string
	for i := range 20 {
		u, k := fmt.Sprint("u", i), fmt.Sprint("t", i)
		untagged, tagged = append(untagged, u), append(tagged, k)
		require.NoError(t, c.Set(ctx, u, []byte("v-"+u), time.Minute))
		require.NoError(t, c.Set(ctx, k, []byte("v-"+k), time.Minute, Tags(fmt.Sprint("tag-", i%10))))
	}
	p.Stop()
	// The tagged entries whose tag is on the server down (its version
	// cannot be read, so neither can it be raised).
	var keys []string
	for i, k := range tagged {
		if c.InvalidateTags(ctx, fmt.Sprint("tag-", i%10)) != nil {
			keys = append(keys, k)
		}
	}
	require.NotEmpty(t, keys, "no tag on the server down")
	var onLive []string
	for _, u := range untagged {
		keys = append(keys, u)
		if c.Set(ctx, u, []byte("v-"+u), time.Minute) == nil {
			onLive = append(onLive, u)
		}
	}
	require.NotEmpty(t, onLive)

	got, err := c.GetMany(ctx, keys...)
	var ge *backend.GetManyError
	require.ErrorAs(t, err, &ge, "a partial result, not a failure")
	require.Len(t, ge.Unread, len(keys)-len(onLive), "every tagged key and the untagged keys on the server down")
	require.Len(t, got, len(onLive), "the untagged values on the live server")
	for _, u := range onLive {
		require.Equal(t, "v-"+u, string(got[u]), "key %s", u)
	}
}
