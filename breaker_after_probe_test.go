package caching

import (
	"context"
	"html/template"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// hangManyRemote is remote whose GetMany, once hang is set, never answers
// (a server that accepts the command and says nothing) until the call's
// context ends, or gate is closed: a GetMany let go by the gate counts in
// gated (it had no deadline of its own).
type hangManyRemote struct {
	remote
	hang  bool
	gate  chan struct{}
	gated atomic.Int32
}

// hangManyFor is how long a test waits for a call on a hangManyRemote
// before it closes the gate: a liveness bound, not a timing assertion (a
// call bounded by Options.Timeout ends through its context, not the gate,
// whenever it ends).
const hangManyFor = 30 * time.Second

func (h *hangManyRemote) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	if h.hang {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-h.gate:
			h.gated.Add(1)
		}
	}
	return h.remote.GetMany(ctx, keys)
}

// TestBreakerCallsAfterProbeAreBounded: a fail-open call that began
// while the breaker was tripped got no timer from bound, and admit bounded
// only the probe: once the probe had closed the breaker, the calls that
// followed it (here the read of a fragment's tag versions after the read
// of the fragment: to check a hit, or to store a miss under) had no
// Options.Timeout at all, and a hung server held the page until the
// client's own timeouts.
//
// The miss reads the versions under a context of store.bound, which has
// no timer of its own: with admit bounding it only while the breaker is
// tripped (the bug's shape), it hangs. The hit's read has one of its own
// (store.boundOne once the breaker is closed).
func TestBreakerCallsAfterProbeAreBounded(t *testing.T) {
	for _, tc := range []struct{ name, key string }{
		{"hit", "k"},
		{"miss", "other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const timeout = probeTimeout
			clock := testutil.NewClock()
			r := &hangManyRemote{remote: remote{Backend: newSimple(t, clock)}, gate: make(chan struct{})}
			release := sync.OnceFunc(func() { close(r.gate) })
			t.Cleanup(release)
			c := newProbeCache(t, r, clock)
			render := func(w io.Writer) error { _, err := io.WriteString(w, "<b>x</b>"); return err }
			_, err := c.Fragment(t.Context(), "k", time.Hour, render, Tags("t"))
			require.NoError(t, err)

			openForProbe(t, c, &r.remote, clock)
			r.hang = true

			type result struct {
				html template.HTML
				err  error
			}
			done := make(chan result, 1)
			go func() {
				html, err := c.Fragment(t.Context(), tc.key, time.Hour, render, Tags("t"))
				done <- result{html, err}
			}()
			var res result
			select {
			case res = <-done:
			case <-time.After(hangManyFor): // a liveness bound, as above
				release()
				res = <-done
			}
			require.NoError(t, res.err)
			assert.Equal(t, "<b>x</b>", string(res.html))
			assert.Zero(t, r.gated.Load(), "a call after the probe waited on the hung server past Options.Timeout (%v)", timeout)
		})
	}
}
