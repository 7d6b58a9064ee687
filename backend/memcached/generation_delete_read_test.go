package memcached

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/boottime"
)

// Regression: a Delete's read of the generation returned the generation
// this process had recorded whenever a read sent after the Delete's had
// been recorded first, not the one the server answered with: the server
// at 9 (another process's Clear), this process's read that overtook the
// Delete's at 8, the Delete removed its keys under 8 and the generation
// it trusted before, not under 9, where the processes that saw the Clear
// kept serving them (an invalidation lost, the call succeeding). A
// Delete now deletes under the generation the server answered with, and
// under the one recorded and the one trusted before, where they differ.
func TestDeleteUnderTheGenerationItsReadGot(t *testing.T) {
	var reads atomic.Int32
	got, released := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(released) }) }
	t.Cleanup(release)
	var mu sync.Mutex
	var deletes []string
	addr := lateServer(t, func(f []string) (reply, late string) {
		switch {
		case strings.Join(f, " ") == "gets fake:gen":
			switch reads.Add(1) {
			case 1:
				return "VALUE fake:gen 0 1 1\r\n7\r\nEND\r\n", ""
			case 2: // the Delete's: answered once the read after it is recorded
				close(got)
				<-released
				return "VALUE fake:gen 0 1 1\r\n9\r\nEND\r\n", ""
			}
			return "VALUE fake:gen 0 1 1\r\n8\r\nEND\r\n", "" // read before another process's Clear
		case len(f) == 2 && f[0] == "delete":
			mu.Lock()
			deletes = append(deletes, f[1])
			mu.Unlock()
			if f[1] == "fake:9:k" {
				return "DELETED\r\n", ""
			}
			return "NOT_FOUND\r\n", ""
		}
		return "END\r\n", ""
	})
	s, err := New(Options{Servers: []string{addr}, Namespace: "fake", Timeout: time.Minute, GenerationTTL: time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	_, err = s.Get(context.Background(), "x") // generation 7 recorded
	require.ErrorIs(t, err, backend.ErrNotFound)

	type result struct {
		n   int
		err error
	}
	deleted := make(chan result, 1)
	go func() { n, err := s.DeleteCount(context.Background(), "k"); deleted <- result{n, err} }()
	<-got // the Delete's read sent, not answered
	for boottime.Since(s.gen.Load().readAt) < s.opts.GenerationTTL {
		time.Sleep(time.Millisecond) // past GenerationTTL: the next call reads the generation
	}
	_, err = s.Get(context.Background(), "y")
	require.ErrorIs(t, err, backend.ErrNotFound)
	require.Equal(t, "fake:8:", s.gen.Load().prefix, "the read after the Delete's recorded")
	release()
	var r result
	select {
	case r = <-deleted:
	case <-time.After(10 * time.Second): // a bound on a hang, far above the few steps it takes
		t.Fatal("the Delete did not end")
	}
	require.NoError(t, r.err)
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, deletes, "fake:9:k", "the key deleted under the generation the server holds")
	assert.Contains(t, deletes, "fake:8:k", "the key deleted under the generation this process trusts")
	assert.Contains(t, deletes, "fake:7:k", "the key deleted under the generation trusted before")
	assert.Equal(t, 1, r.n, "the count, of the generation the server holds")
}
