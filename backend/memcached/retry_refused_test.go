package memcached

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/connerr"
	"github.com/go-caching/caching/internal/testutil"
)

// TestRetryRefusedAfterLandedWriteIsNoRefusal: a set or delete that
// reached the server, whose reply was lost with its pooled connection
// (the server going down), was tried again on a new connection, which the
// server refused (restarting). The call's error was that refusal (or the
// server marked down), which says the command surely did not reach the
// server: a Cache kept the lease it was releasing as its own, and took it
// over later, while the release had landed and another process could
// hold the key's lease since. The error is now the lost reply's, which
// the command may have run after; the refusal is in its text only.
func TestRetryRefusedAfterLandedWriteIsNoRefusal(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	ctx := context.Background()
	for name, tc := range map[string]struct {
		call  func(s *Store) error
		after string // what the call leaves under the key; "": none
	}{
		"set":    {func(s *Store) error { return s.Set(ctx, "lease", []byte("x"), time.Minute) }, "x"},
		"delete": {func(s *Store) error { return s.Delete(ctx, "lease") }, ""},
	} {
		t.Run(name, func(t *testing.T) {
			p := testutil.StartRestartingProxy(t, live, []byte("lease"))
			ns := namespaceFor("retry-refused-" + name)
			s, err := New(Options{Servers: []string{p.Addr()}, Namespace: ns, Timeout: 10 * time.Second})
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			direct, err := New(Options{Servers: []string{live}, Namespace: ns, Timeout: 10 * time.Second})
			require.NoError(t, err)
			t.Cleanup(func() { _ = direct.Clear(ctx); direct.Close() })
			require.NoError(t, s.Set(ctx, "lease", []byte("h"), time.Minute)) // a pooled connection too
			p.Arm()
			err = tc.call(s)
			require.Error(t, err)
			assert.False(t, p.Armed(), "the call reached the proxy")
			v, gerr := direct.Get(ctx, "lease")
			if tc.after == "" {
				assert.ErrorIs(t, gerr, backend.ErrNotFound, "the call landed")
			} else {
				assert.Equal(t, tc.after, string(v), "the call landed")
			}
			assert.False(t, connerr.Refused(err) || errors.Is(err, backend.ErrServerDown), "a refusal after a try that landed: %v", err)
		})
	}
}
