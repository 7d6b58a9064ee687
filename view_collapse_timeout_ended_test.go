package caching

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCollapseTimeoutEndedContextRunsNothing: a waiter whose context has
// ended when its patience runs out too (a client that left, a deadline
// equal to CollapseTimeout) ends as a wait whose context ended (view.ended:
// a client that left runs nothing), never as one that gave up, which runs
// the handler for it. Before, select chose between the two at random.
func TestCollapseTimeoutEndedContextRunsNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r := httptest.NewRequest("GET", "/a", nil).WithContext(ctx)
	c := &viewCall{key: "a", done: make(chan struct{})}
	gaveUp := 0
	for range 64 {
		patience := make(chan struct{})
		close(patience)
		if _, how := c.wait(ctx, r, patience); how == waitGaveUp {
			gaveUp++
		}
	}
	assert.Zero(t, gaveUp, "waits of 64 that gave up rather than ended")
}
