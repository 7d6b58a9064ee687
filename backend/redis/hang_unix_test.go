//go:build unix

package redisstore_test

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// hang stops node i (SIGSTOP: a frozen VM, a network black hole: its
// connections stay open and nothing answers) until the returned resume
// (SIGCONT) or the test's end.
func (c *ownCluster) hang(t *testing.T, i int) (resume func()) {
	t.Helper()
	pid := c.pid(t, i)
	require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	return func() { require.NoError(t, syscall.Kill(pid, syscall.SIGCONT)) }
}
