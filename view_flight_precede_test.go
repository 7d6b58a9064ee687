package caching

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chainLoops reports whether the calls before c (prev, and so on) come
// back to one already seen: a cycle, which rejoining would walk forever
// under the flight's lock once their waiters are all done.
func chainLoops(c *viewCall) bool {
	seen := map[*viewCall]bool{}
	for ; c != nil; c = c.prev {
		if seen[c] {
			return true
		}
		seen[c] = true
	}
	return false
}

// TestFollowedRetriedCallEndsWithoutCycle: a leader's client left while
// two requests waited (p). The first joined again and led c, whose client
// left too; the second had not joined again (one that may not lead a call
// runs on its own, and acts on p's result only once answered). A third
// request led n, running in c's place (follow). c's run then ended,
// nothing stored, while p's second waiter still had not acted: c6d8745's
// precede put c before n, a call whose chain already held c's, making p
// and c each other's prev. Once that waiter acted, n's end walked the
// cycle forever under the flight's lock, and every request of the view
// hung. A call taken over (next) hands its keys to the call that runs in
// its place, which keeps them for the waiters of the calls before it.
func TestFollowedRetriedCallEndsWithoutCycle(t *testing.T) {
	var g viewFlight
	p, leader := g.join("k", true)
	require.True(t, leader)
	for range 2 {
		_, leader = g.join("k", true)
		require.False(t, leader)
	}
	g.release(p, viewResult{retry: true}) // p's client left
	c, leader := g.join("k", true)        // the first waiter leads c
	require.True(t, leader)
	_, _ = g.waited(p)
	g.release(c, viewResult{retry: true}) // c's client left
	n, leader := g.join("k", true)        // a new request leads n, after c
	require.True(t, leader)
	keys, _, _ := g.end(c, []string{"path-version"}) // c's run ends, nothing stored
	assert.Empty(t, keys, "n, which runs in c's place, decides for c's keys")

	g.mu.Lock()
	loops := chainLoops(n)
	g.mu.Unlock()
	require.False(t, loops, "n's chain comes back on itself")

	keys, _ = g.waited(p) // p's second waiter, answered
	assert.Empty(t, keys, "n decides")
	g.release(n, viewResult{})
	keys, del, _ := g.end(n, nil)
	assert.Equal(t, []string{"path-version"}, keys, "n's end decides for c's keys")
	assert.True(t, del, "nothing was stored under them")
	assert.Empty(t, g.left)
	assert.Empty(t, g.running)
}
