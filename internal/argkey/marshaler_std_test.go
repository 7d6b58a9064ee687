package argkey_test

import (
	"math/big"
	"net/netip"
	"reflect"
	"regexp"
	"testing"

	"github.com/go-caching/caching/internal/argkey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStandardMarshalersKeepState: standard-library types with unexported
// fields are keyed by their marshalers, which must tell apart every two
// values their methods treat differently. big.Float's MarshalText left out
// the precision (2 at 10 and at 200 bits shared a key); its GobEncode keeps
// it. regexp.Regexp's MarshalText leaves out POSIX matching, and it has no
// other: it is refused.
func TestStandardMarshalersKeepState(t *testing.T) {
	differ := func(t *testing.T, a, b any) {
		t.Helper()
		ka, err := argkey.AppendOf[any](nil, a)
		require.NoError(t, err)
		kb, err := argkey.AppendOf[any](nil, b)
		require.NoError(t, err)
		assert.NotEqual(t, ka, kb, "%v and %v", a, b)
		ka2, err := argkey.AppendOf[any](nil, a)
		require.NoError(t, err)
		assert.Equal(t, ka, ka2, "%v encodes twice the same", a)
	}
	differ(t, new(big.Float).SetPrec(10).SetInt64(2), new(big.Float).SetPrec(200).SetInt64(2))
	differ(t, new(big.Float).SetMode(big.ToZero).SetInt64(2), new(big.Float).SetMode(big.AwayFromZero).SetInt64(2))
	differ(t, big.NewInt(-5), big.NewInt(5))
	differ(t, big.NewRat(1, 3), big.NewRat(1, 2))
	differ(t, netip.MustParseAddr("::ffff:1.2.3.4"), netip.MustParseAddr("1.2.3.4"))
	differ(t, netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("fe80::1%eth1"))
	differ(t, netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/16"))
	differ(t, netip.MustParseAddrPort("1.2.3.4:80"), netip.MustParseAddrPort("1.2.3.4:81"))

	for _, re := range []any{regexp.MustCompilePOSIX("a|ab"), *regexp.MustCompile("a|ab")} {
		_, err := argkey.AppendOf[any](nil, re)
		require.ErrorIs(t, err, argkey.ErrUnsupported)
		require.ErrorContains(t, err, "POSIX")
	}
	require.ErrorIs(t, argkey.Check(reflect.TypeFor[struct{ Re *regexp.Regexp }]()), argkey.ErrUnsupported)
}
