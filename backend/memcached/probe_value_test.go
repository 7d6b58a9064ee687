package memcached

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// Regression: since e18b3b1 a get's reply that starts with a VALUE line
// marks its server up once its END comes, not at the VALUE line. A probe
// reads only its get's first line, and closes its connection: a probe get
// answered with a VALUE line whose data and END had not come yet went
// ahead as answered, and left the server marked down, the calls for its
// keys refused (but the one that probed) until the next probe. A whole
// VALUE line read by a probe now marks the server up.
func TestProbeValueLineMarksTheServerUp(t *testing.T) {
	addr := lateServer(t, func(f []string) (reply, late string) {
		switch {
		case len(f) == 2 && (f[0] == "get" || f[0] == "gets") && strings.Contains(f[1], ":probe:"):
			// The data and END in a write of their own, sent only before
			// the next request: never, the probe having closed.
			return "VALUE " + f[1] + " 0 5 1\r\n", "hello\r\nEND\r\n"
		case len(f) == 2 && (f[0] == "get" || f[0] == "gets"):
			return "END\r\n", ""
		}
		return "ERROR\r\n", ""
	})
	s, _ := fakeStore(t, addr)
	h := s.servers.byAddr[addr]
	for range serverDownAfter {
		h.failed(errors.New("a test's failure"))
	}
	require.NotZero(t, h.downUntil.Load(), "the server is marked down")
	require.NoError(t, s.probe(h), "a VALUE line is a normal reply")
	assert.Zero(t, h.downUntil.Load(), "the server is marked down after its probe was answered")
	_, err := s.Get(context.Background(), "k")
	assert.ErrorIs(t, err, backend.ErrNotFound, "a Get after the probe: a miss, not a refusal")
}
