//go:build unix

package memcached

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: resync's read of the reply to version failed with a timeout
// when its deadline had passed, though the reply was there to be read (a
// process starved of CPU past the deadline, as in
// TestReadPastItsDeadlineTakesTheReplyThatCame): the parked connection was
// closed, and the dial after it, whose context had expired with the
// deadline, failed as a timeout that counted against the server. It now
// reads, without waiting, what arrived already, as healthConn does.
func TestResyncPastItsDeadlineTakesTheReplyThatCame(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes []string
	}{
		{"version", []string{"VERSION 1.6.18\r\n"}},
		{"the late END, then version", []string{"END\r\n", "VERSION 1.6.18\r\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := socketPair(t)
			for _, w := range tc.writes {
				_, err := server.Write([]byte(w))
				require.NoError(t, err)
			}
			require.NoError(t, client.SetDeadline(time.Now().Add(-time.Second))) // the process ran past it
			assert.NoError(t, readVersion(client), "a reply that came before the read")
		})
	}
	t.Run("nothing came", func(t *testing.T) {
		client, _ := socketPair(t)
		require.NoError(t, client.SetDeadline(time.Now().Add(-time.Second)))
		err := readVersion(client)
		assert.True(t, timeout(err), "a read past its deadline with nothing to read: %v", err)
	})
}
