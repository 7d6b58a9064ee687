package memcached

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// Regression: Delete and DeleteCount read the generation with no context,
// and the read was tried again (a round trip more, up to Options.Timeout)
// after the caller's context had ended. It is not now; and the read so
// cut short is no failure of the server: the calls after it read the
// generation again, rather than fail for a second with the error of a
// caller that left (GenerationGrace -1: no generation to go on with).
func TestDeleteGenerationReadStopsWithItsContext(t *testing.T) {
	var reads atomic.Int32
	got, drop := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() {
		select {
		case <-drop:
		default:
			close(drop)
		}
	})
	addr := lateServer(t, func(f []string) (reply, late string) {
		switch {
		case strings.Join(f, " ") == "gets fake:gen":
			if reads.Add(1) == 2 { // the Delete's: its connection drops
				close(got)
				<-drop
				return "", closeLate
			}
			return "VALUE fake:gen 0 1 1\r\n7\r\nEND\r\n", ""
		case len(f) > 0 && f[0] == "delete":
			return "NOT_FOUND\r\n", ""
		}
		return "END\r\n", ""
	})
	s, err := New(Options{Servers: []string{addr}, Namespace: "fake", Timeout: time.Minute, GenerationTTL: time.Nanosecond, GenerationGrace: -1})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	_, err = s.Get(context.Background(), "x") // a connection in the pool
	require.ErrorIs(t, err, backend.ErrNotFound)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	deleted := make(chan error, 1)
	go func() { deleted <- s.Delete(ctx, "k") }()
	<-got
	cancel()
	close(drop) // a dropped pooled connection: tried again, but for ctx
	select {
	case err := <-deleted:
		t.Log(err)
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second): // a bound on a hang, far above the few steps it takes
		t.Fatal("the Delete did not end")
	}
	assert.EqualValues(t, 2, reads.Load(), "the Delete's read of the generation is tried again after its context ended")

	_, err = s.Get(context.Background(), "y")
	assert.ErrorIs(t, err, backend.ErrNotFound, "a call after the Delete left, the server answering")
	assert.EqualValues(t, 3, reads.Load(), "the call after it reads the generation")
}
