package redisstore_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWatchWithoutMyIDAsksClusterNodesOncePerListing: on a Redis without
// CLUSTER MYID (before 7.0, emulated by dialNoMyID) the watch, which lists
// the masters every second, asked every master CLUSTER MYID and then
// CLUSTER NODES at every listing, from every process: masters+1 CLUSTER
// NODES a second, each as long as the Cluster is large. A master's id is
// now remembered between listings, and asked again only when the listing
// contradicts it: one CLUSTER NODES a second, as on Redis 7.
func TestWatchWithoutMyIDAsksClusterNodesOncePerListing(t *testing.T) {
	t.Parallel()
	c := startOwnCluster(t, 3, 3)
	b := clusterStore(t, c, dialNoMyID, "nomyidcost")
	ev := watchStore(t, b)
	ev.waitFor(t, "the watch", watching(true))
	nodesCalls := func() int {
		all := 0
		for _, a := range c.admin {
			s, err := a.Info(context.Background(), "commandstats").Result()
			require.NoError(t, err)
			for _, l := range strings.Split(s, "\n") {
				if rest, ok := strings.CutPrefix(l, "cmdstat_cluster|nodes:calls="); ok {
					n, err := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
					require.NoError(t, err)
					all += n
				}
			}
		}
		return all
	}
	time.Sleep(1500 * time.Millisecond) // the listings that learn the ids
	before := nodesCalls()
	time.Sleep(3500 * time.Millisecond)
	require.LessOrEqual(t, nodesCalls()-before, 4, "CLUSTER NODES calls, all masters, in 3.5 s of one idle watch")
}
