package redisstore

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// masterLister is what Clear and the watch need of a Cluster client: a
// *redis.ClusterClient, or a type of the program's own that embeds one
// (instrumentation, a helper), which the Store could not see through by
// its type alone.
type masterLister interface {
	ForEachMaster(ctx context.Context, fn func(ctx context.Context, client *redis.Client) error) error
}

// shardLister is what Clear needs of a *redis.Ring, or of a type that
// embeds one.
type shardLister interface {
	ForEachShard(ctx context.Context, fn func(ctx context.Context, client *redis.Client) error) error
}

// forEveryMaster calls fn, concurrently, on every master of c: those
// ForEachMaster visits, which are the masters CLUSTER SLOTS lists (those
// that own slots), and those only CLUSTER NODES lists: a master that owns
// no slot yet, such as the new node of a resharding, which holds the keys
// already moved to it while the migration runs. Those are reached with a
// client of their own for the call, with the options of the first and
// their own address. It returns the errors of fn joined.
func forEveryMaster(ctx context.Context, c masterLister, fn func(ctx context.Context, node *redis.Client) error) error {
	var (
		mu      sync.Mutex
		visited = map[string]bool{}
		others  = map[string]*redis.Options{}
	)
	err := c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		o := node.Options()
		addrs := clusterMasters(ctx, node)
		mu.Lock()
		visited[o.Addr] = true
		for _, a := range addrs {
			if _, ok := others[a]; !ok {
				others[a] = withAddr(o, a)
			}
		}
		mu.Unlock()
		return fn(ctx, node)
	})
	if err != nil {
		return err
	}
	var (
		wg   sync.WaitGroup
		errs = make(chan error, len(others))
	)
	for addr, o := range others {
		if visited[addr] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := redis.NewClient(o)
			defer node.Close()
			errs <- fn(ctx, node)
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// allMasters returns the options of every master of c, slotless ones
// included, as forEveryMaster finds them, by address.
func allMasters(ctx context.Context, c masterLister) (map[string]*redis.Options, error) {
	var (
		mu      sync.Mutex
		masters = map[string]*redis.Options{}
		listed  = map[string]*redis.Options{}
	)
	err := c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		o := node.Options()
		addrs := clusterMasters(ctx, node)
		mu.Lock()
		defer mu.Unlock()
		masters[o.Addr] = o
		for _, a := range addrs {
			if _, ok := listed[a]; !ok {
				listed[a] = withAddr(o, a)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for a, o := range listed {
		if _, ok := masters[a]; !ok {
			masters[a] = o
		}
	}
	return masters, nil
}

// withAddr returns a copy of o that dials addr.
func withAddr(o *redis.Options, addr string) *redis.Options {
	cp := *o
	cp.Addr = addr
	return &cp
}

// clusterMasters returns the addresses of the masters that CLUSTER NODES,
// asked of node, lists as reachable (not failed, not in a handshake, with
// an address). A node that refuses CLUSTER NODES (an ACL) or cannot be
// asked gives none: the masters CLUSTER SLOTS lists are still visited.
func clusterMasters(ctx context.Context, node *redis.Client) []string {
	out, err := node.ClusterNodes(ctx).Result()
	if err != nil {
		return nil
	}
	host, _, _ := net.SplitHostPort(node.Options().Addr)
	var addrs []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		flags := "," + f[2] + ","
		if !strings.Contains(flags, ",master,") || strings.Contains(flags, ",fail") ||
			strings.Contains(flags, ",handshake,") || strings.Contains(flags, ",noaddr,") {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@") // ip:port@cport[,hostname]
		h, port, err := net.SplitHostPort(addr)
		if err != nil || port == "0" {
			continue
		}
		if h == "" { // a node that does not know its own address yet
			h = host
		}
		addrs = append(addrs, net.JoinHostPort(h, port))
	}
	return addrs
}
