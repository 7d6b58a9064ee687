//go:build !unix

package redisstore_test

import "testing"

// hang is hang_unix_test.go's, which needs Unix's signals: the test is
// skipped.
func (c *ownCluster) hang(t *testing.T, i int) (resume func()) {
	t.Helper()
	t.Skip("hanging a server (SIGSTOP) needs Unix")
	return nil
}
