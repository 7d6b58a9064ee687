package cacheurl_test

import (
	"errors"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/cacheurl"
)

// TestClientNameRedisWouldRefuse: go-redis sends client_name with CLIENT
// SETNAME on every new connection, and Redis refuses a name with a space,
// a control character or a byte outside printable ASCII, so with such a
// name every connection failed and the cache never reached Redis. Open
// refuses it, naming the parameter; a name of '!'..'~' is accepted.
func TestClientNameRedisWouldRefuse(t *testing.T) {
	for _, name := range []string{"my app", "café", "a\tb", "a\nb", "x\x7f", "\x00"} {
		for _, scheme := range []string{"redis://127.0.0.1:1", "redis+cluster://127.0.0.1:1", "redis+sentinel://127.0.0.1:1/m", "unix:///tmp/none.sock"} {
			u := scheme + "?client_name=" + url.QueryEscape(name)
			t.Run(u, func(t *testing.T) {
				b, err := cacheurl.Open(u)
				if b != nil {
					_ = b.Close()
				}
				require.ErrorIs(t, err, cacheurl.ErrInvalidURL)
				var e *cacheurl.Error
				require.True(t, errors.As(err, &e), "%T", err)
				assert.Equal(t, "parameter", e.Part)
				assert.Equal(t, "client_name", e.Param)
				assert.Contains(t, e.Reason, "'!' to '~'")
			})
		}
	}
	for _, name := range []string{"shop-web.1", "a!~{}"} {
		b, err := cacheurl.Open("redis://127.0.0.1:1?client_name=" + url.QueryEscape(name))
		require.NoError(t, err, "%q", name)
		require.NoError(t, b.Close())
	}
}
