package memcached

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: Get, GetMany, Set and Delete tried a call that a connection
// out of step failed (errOutOfStepConn, nothing sent) once more only, as
// after a stale pooled connection's error: with two such connections in
// the pool at once, the second failed the call. They now try again up to
// outOfStepTries times, as Add, Incr and Clear do.
func TestTwoOutOfStepConnectionsRetriedByEveryCall(t *testing.T) {
	ctx := context.Background()
	for name, call := range map[string]func(s *Store) error{
		"Get": func(s *Store) error {
			v, err := s.Get(ctx, "k")
			if err == nil && string(v) != "v" {
				t.Errorf("Get = %q, want v", v)
			}
			return err
		},
		"GetMany": func(s *Store) error {
			v, err := s.GetMany(ctx, []string{"k", "l"})
			if err == nil && (string(v[0]) != "v" || string(v[1]) != "v") {
				t.Errorf("GetMany = %q, want v, v", v)
			}
			return err
		},
		"Set":    func(s *Store) error { return s.Set(ctx, "k", []byte("v"), time.Hour) },
		"Delete": func(s *Store) error { return s.Delete(ctx, "k") },
		"deleteKey": func(s *Store) error {
			_, err := s.deleteKey(context.Background(), "fake:1:k")
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			s, dials := fakeStore(t, doubledServer(t, 2, "1"))
			var wg sync.WaitGroup
			for range 2 { // on two connections, open at once
				wg.Go(func() {
					v, err := s.Get(ctx, "k")
					assert.NoError(t, err)
					assert.Equal(t, "v", string(v))
				})
			}
			wg.Wait()
			require.Equal(t, int64(2), dials())
			assert.NoError(t, call(s), "the call on two connections out of step")
			assert.Equal(t, int64(3), dials(), "dials")
		})
	}
}

// Regression: the namespace generation's read sets a generation of its
// own over a value that is not one; that set was not tried again after a
// stale pooled connection's error, nor after a connection out of step
// (here the one its get was answered twice on), and the read failed.
func TestGenerationSetRetriedAfterOutOfStepConnection(t *testing.T) {
	s, dials := fakeStore(t, doubledServer(t, 1, "not a number"))
	_, p, err := s.readGeneration(context.Background())
	require.NoError(t, err, "the generation's read")
	assert.True(t, strings.HasPrefix(p, "fake:"), "prefix %q", p)
	assert.NotEqual(t, "fake:1:", p)
	assert.Equal(t, int64(2), dials(), "dials")
}
