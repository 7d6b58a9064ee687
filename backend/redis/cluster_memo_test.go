package redisstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeNode answers CLUSTER MYID and CLUSTER NODES as a Cluster node whose
// id is id would, without a server: its hook never calls the network.
type fakeNode struct {
	id      string
	noMyID  bool // a Redis before 7.0
	listing *string

	mu    sync.Mutex
	asked map[string]int // "myid", "nodes": how many times
}

func (f *fakeNode) DialHook(next redis.DialHook) redis.DialHook { return next }

func (f *fakeNode) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (f *fakeNode) ProcessHook(redis.ProcessHook) redis.ProcessHook {
	return func(_ context.Context, cmd redis.Cmder) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		what := strings.ToLower(cmd.Args()[1].(string))
		f.asked[what]++
		var err error
		switch c := cmd.(type) {
		case *redis.Cmd: // CLUSTER MYID, by Do
			if f.noMyID {
				err = errors.New("ERR unknown subcommand 'myid'. Try CLUSTER HELP.")
			} else {
				c.SetVal(f.id)
			}
		case *redis.StringCmd: // CLUSTER NODES
			var lines []string
			for _, l := range strings.Split(*f.listing, "\n") {
				if strings.HasPrefix(l, f.id+" ") {
					l = strings.Replace(l, " master ", " myself,master ", 1)
				}
				lines = append(lines, l)
			}
			c.SetVal(strings.Join(lines, "\n"))
		}
		cmd.SetErr(err)
		return err
	}
}

func (f *fakeNode) count(what string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.asked[what]
}

// fakeCluster visits its nodes, in order, as ForEachMaster does.
type fakeCluster struct{ nodes []*redis.Client }

func (c fakeCluster) ForEachMaster(ctx context.Context, fn func(context.Context, *redis.Client) error) error {
	for _, n := range c.nodes {
		if err := fn(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

func newFakeCluster(t *testing.T, listing *string, noMyID bool, ids map[string]string) (fakeCluster, map[string]*fakeNode) {
	t.Helper()
	var c fakeCluster
	fakes := map[string]*fakeNode{}
	for _, addr := range []string{"10.0.0.1:7000", "10.0.0.2:7000"} {
		f := &fakeNode{id: ids[addr], noMyID: noMyID, listing: listing, asked: map[string]int{}}
		n := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, ContextTimeoutEnabled: true})
		n.AddHook(f)
		t.Cleanup(func() { _ = n.Close() })
		c.nodes, fakes[addr] = append(c.nodes, n), f
	}
	return c, fakes
}

// TestWatchRemembersIDsWithoutMyID: the watch's listing (allMasters with
// a memo) on a Redis without CLUSTER MYID asks each master its CLUSTER
// NODES once, not at every listing; a remembered id that the listing
// places elsewhere (another server answers at the address now) is asked
// again, and the master it names, now owning no slot, is an extra one.
func TestWatchRemembersIDsWithoutMyID(t *testing.T) {
	listing := "aaaa 10.0.0.1:7000@17000 master - 0 0 1 connected 0-8191\n" +
		"bbbb 10.0.0.2:7000@17000 master - 0 0 2 connected 8192-16383\n"
	c, fakes := newFakeCluster(t, &listing, true, map[string]string{"10.0.0.1:7000": "aaaa", "10.0.0.2:7000": "bbbb"})
	memo := &idMemo{}
	bg := context.Background()
	for range 3 {
		_, extras, known, err := allMasters(bg, c, memo)
		require.NoError(t, err)
		assert.True(t, known)
		assert.Empty(t, extras)
	}
	assert.Equal(t, 3, fakes["10.0.0.1:7000"].count("nodes"), "the listing's master")
	assert.Equal(t, 1, fakes["10.0.0.2:7000"].count("nodes"), "the other master: asked once, remembered since")
	assert.Equal(t, 1, fakes["10.0.0.2:7000"].count("myid"))

	// Another server (cccc) answers at 10.0.0.2 now, with bbbb's slots;
	// bbbb moved to 10.0.0.3 and owns none.
	fakes["10.0.0.2:7000"].id = "cccc"
	listing = "aaaa 10.0.0.1:7000@17000 master - 0 0 1 connected 0-8191\n" +
		"cccc 10.0.0.2:7000@17000 master - 0 0 4 connected 8192-16383\n" +
		"bbbb 10.0.0.3:7000@17000 master - 0 0 2 connected\n"
	_, extras, known, err := allMasters(bg, c, memo)
	require.NoError(t, err)
	assert.True(t, known)
	require.Contains(t, extras, "bbbb", "the master the remembered id names, now without a slot")
	assert.Equal(t, "10.0.0.3:7000", extras["bbbb"].Addr)
	assert.Len(t, extras, 1)
	assert.Equal(t, "cccc", memo.get("10.0.0.2:7000"))
}

// TestWatchAsksMyIDEveryListing: on Redis 7 (CLUSTER MYID) nothing is
// remembered: every listing asks MYID of each master but the one that
// answers CLUSTER NODES.
func TestWatchAsksMyIDEveryListing(t *testing.T) {
	listing := "aaaa 10.0.0.1:7000@17000 master - 0 0 1 connected 0-8191\n" +
		"bbbb 10.0.0.2:7000@17000 master - 0 0 2 connected 8192-16383\n"
	c, fakes := newFakeCluster(t, &listing, false, map[string]string{"10.0.0.1:7000": "aaaa", "10.0.0.2:7000": "bbbb"})
	memo := &idMemo{}
	for range 3 {
		_, _, known, err := allMasters(context.Background(), c, memo)
		require.NoError(t, err)
		assert.True(t, known)
	}
	assert.False(t, memo.remembers())
	assert.Equal(t, 3, fakes["10.0.0.2:7000"].count("myid"))
	assert.Zero(t, fakes["10.0.0.2:7000"].count("nodes"))
	assert.Zero(t, fakes["10.0.0.1:7000"].count("myid"), "the listing's master: its id is its myself line")
}

// replyErr is an error reply, as go-redis returns one (redis.Error).
type replyErr string

func (e replyErr) Error() string { return string(e) }
func (replyErr) RedisError()     {}

// TestAnsweredOther: an error reply means another server answers at an
// extra master's address (skipped), unless a Cluster node busy for now
// may give it, or the node itself refusing the client's credentials or
// the command (asked again); a failure without a reply is never taken for another server.
func TestAnsweredOther(t *testing.T) {
	for _, c := range []struct {
		err   error
		other bool
	}{
		{replyErr("ERR This instance has cluster support disabled"), true},
		{replyErr("NOAUTH Authentication required."), false},
		{replyErr("WRONGPASS invalid username-password pair or user is disabled."), false},
		{replyErr("NOPERM User u has no permissions to run the 'cluster|myid' command"), false},
		{replyErr("ERR unknown command 'CLUSTER', with args beginning with: 'myid'"), false},
		{replyErr("ERR invalid password"), false},
		{replyErr("ERR Client sent AUTH, but no password is set"), false},
		{errNoMyself, true},
		{replyErr("LOADING Redis is loading the dataset in memory"), false},
		{replyErr("BUSY Redis is busy running a script."), false},
		{replyErr("ERR max number of clients reached"), false},
		{replyErr("CLUSTERDOWN The cluster is down"), false},
		{replyErr("TRYAGAIN Multiple keys request during rehashing of slot"), false},
		{replyErr("MASTERDOWN Link with MASTER is down"), false},
		{errors.New("read tcp: i/o timeout"), false},
		{context.DeadlineExceeded, false},
	} {
		assert.Equal(t, c.other, answeredOther(c.err), c.err.Error())
	}
}
