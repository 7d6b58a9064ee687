package backend_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/go-caching/caching/backend"
)

// Neutral is the one test of "the breaker counts this neither way" that the
// caching package's breaker, memcached's GetMany and Delete, and the near
// store's SetMany share: the two refusals, wrapped or joined, and nothing
// else.
func TestNeutral(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{backend.ErrServerDown, true},
		{backend.ErrKeyRefused, true},
		{fmt.Errorf("memcached: server a:1 answers other keys: %w: boom", backend.ErrKeyRefused), true},
		{errors.Join(errors.New("other"), backend.ErrServerDown), true},
		{&backend.GetManyError{Unread: []int{0}, Keys: 2, Err: backend.ErrKeyRefused}, true},
		{backend.ErrNotFound, false},
		{backend.ErrValueTooLarge, false},
		{backend.ErrClosed, false},
		{context.DeadlineExceeded, false},
		{errors.New("memcached: read tcp: i/o timeout"), false},
	} {
		if got := backend.Neutral(c.err); got != c.want {
			t.Errorf("Neutral(%v) = %v; want %v", c.err, got, c.want)
		}
	}
}
