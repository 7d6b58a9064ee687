package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"

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
// that own slots), and the extra masters that only CLUSTER NODES lists: a
// master that owns no slot yet, such as the new node of a resharding,
// which holds the keys already moved to it while the migration runs (see
// clusterView for how they are found). An extra master is reached with a
// client of its own for the call, with the options of a visited one and
// the address clusterView builds; one that cannot be reached there, or
// where another server answers (isNode), is skipped, not an error. It
// returns the errors of fn joined, and an error when the extra masters
// could not be told (a CLUSTER NODES that failed myidTries times, or a
// CLUSTER MYID where a master CLUSTER NODES lists might be that one: see
// clusterView.extras): fn has then run on the visited masters only. A
// server that refuses those commands (refusedClusterCmd) is not an error:
// its extra masters are not looked for.
func forEveryMaster(ctx context.Context, c masterLister, fn func(ctx context.Context, node *redis.Client) error) error {
	v := &clusterView{}
	err := c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		v.visit(ctx, node)
		return fn(ctx, node)
	})
	if err != nil {
		return err
	}
	extras, _, err := v.extras()
	var (
		wg   sync.WaitGroup
		errs = make(chan error, len(extras)+1)
	)
	errs <- err
	for id, o := range extras {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := redis.NewClient(o)
			defer node.Close()
			switch ok, err := isNode(ctx, node, id); {
			case err != nil:
				errs <- err
			case ok:
				errs <- fn(ctx, node)
			}
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

// isNode reports whether the server node dials answers as the Cluster
// node id (nodeID). A server that cannot be reached there (the dial
// fails), that answers with an error reply a node would not give
// (answeredOther: a Redis without cluster support) or with another id is
// not the node, without an error (the master is skipped, as documented on
// Clear). Any other failure (a lost connection, a timeout, a node busy
// for now, the client's credentials or the command refused) is asked
// again, as a visited master's is (askCluster), and is an error if it
// stays: the master may hold keys, and the caller must not take it for
// done.
func isNode(ctx context.Context, node *redis.Client, id string) (bool, error) {
	got, err := askCluster(ctx, func() (string, error) {
		got, _, err := nodeID(ctx, node)
		if err != nil && noPerm(err.Error()) {
			// An ACL that refuses CLUSTER MYID may let CLUSTER NODES
			// through: the id of its line flagged myself.
			var nodes string
			if nodes, err = node.ClusterNodes(ctx).Result(); err == nil {
				got, err = myselfID(nodes)
			}
		}
		if err != nil && (isDialErr(err) || answeredOther(err)) {
			return "", nil // not the node: not asked again
		}
		return got, err
	})
	if err != nil {
		return false, fmt.Errorf("CLUSTER MYID on %s, a master that owns no slot: %w", node.Options().Addr, err)
	}
	return got == id, nil
}

// answeredOther reports whether err is a server's error reply that a
// Cluster node would not give: the server answered, but not as a Cluster
// node (cluster support disabled), or answered CLUSTER NODES without a
// line flagged myself. Asking again would not change it. The client's
// credentials refused (NOAUTH, WRONGPASS, authRefused), or the command
// (NOPERM, unknown: refusedClusterCmd), are not: the node itself may
// refuse them
// (its password or its ACL changed before the others', in a rollout;
// the masters that own slots answered, or no extra master would be
// asked), and the keys moved to it would survive a Clear that skipped it.
func answeredOther(err error) bool {
	var reply redis.Error
	return errors.Is(err, errNoMyself) ||
		errors.As(err, &reply) && !busyReply(err) && !authRefused(err) && !refusedClusterCmd(err)
}

// authRefused reports whether err is a server's refusal of the client's
// credentials: NOAUTH, WRONGPASS, and Redis before 6's "invalid password"
// and "no password is set".
func authRefused(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "NOAUTH") || strings.HasPrefix(msg, "WRONGPASS") ||
		strings.Contains(msg, "invalid password") || strings.Contains(msg, "no password is set")
}

// busyReply reports whether err is an error reply that a Cluster node
// gives while it is busy, and may not give moments later: loading its
// data (LOADING), running a script (BUSY), at its limit of clients, or
// while the Cluster is down or resharding (CLUSTERDOWN, TRYAGAIN,
// MASTERDOWN).
func busyReply(err error) bool {
	return redis.IsLoadingError(err) || redis.IsMaxClientsError(err) || redis.IsClusterDownError(err) ||
		redis.IsTryAgainError(err) || redis.IsMasterDownError(err) || strings.HasPrefix(err.Error(), "BUSY ")
}

// nodeID asks node its cluster node id: CLUSTER MYID, or, on a server
// that does not know it (Redis before 7.0 answers "unknown subcommand"),
// the id of the line of CLUSTER NODES flagged myself; noMyID says it was
// the latter. A user whose ACL refuses CLUSTER MYID (NOPERM) is not asked
// CLUSTER NODES: the refusal is returned.
func nodeID(ctx context.Context, node *redis.Client) (id string, noMyID bool, err error) {
	id, err = node.Do(ctx, "cluster", "myid").Text()
	if err == nil || !unknownSubcommand(err.Error()) {
		return id, false, err
	}
	nodes, err := node.ClusterNodes(ctx).Result()
	if err != nil {
		return "", true, err
	}
	id, err = myselfID(nodes)
	return id, true, err
}

// errNoMyself is myselfID's error.
var errNoMyself = errors.New("CLUSTER NODES has no line flagged myself")

// myselfID returns the id of the line of CLUSTER NODES (nodes) flagged
// myself: the id of the server that answered.
func myselfID(nodes string) (string, error) {
	for _, e := range parseClusterNodes(nodes) {
		if e.myself {
			return e.id, nil
		}
	}
	return "", errNoMyself
}

// unknownSubcommand reports whether msg, an error reply, is a server's
// answer to a subcommand it does not know (CLUSTER MYID before Redis 7.0).
func unknownSubcommand(msg string) bool {
	return strings.Contains(strings.ToLower(msg), "unknown subcommand")
}

// isDialErr reports whether err is a failure to connect.
func isDialErr(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// allMasters returns the options of every master of c: those ForEachMaster
// visits, by address, and the extra ones, by cluster node id, that
// forEveryMaster would reach. known is false when the extra masters could
// not be told (CLUSTER NODES or a CLUSTER MYID failed myidTries times, or
// was refused): extras is then empty, and a caller keeps those it had.
// memo, which may be nil, holds the ids learned by earlier calls (see
// idMemo).
func allMasters(ctx context.Context, c masterLister, memo *idMemo) (visited, extras map[string]*redis.Options, known bool, err error) {
	v := &clusterView{memo: memo}
	err = c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		v.visit(ctx, node)
		return nil
	})
	if err != nil {
		return nil, nil, false, err
	}
	v.confirm(ctx)
	extras, known, _ = v.extras()
	return v.opts, extras, known, nil
}

// myidTries is how many times a visit asks a master CLUSTER MYID, and
// CLUSTER NODES, before it gives up: a lost connection or a timeout fails
// one ask, and the extra masters could not be told without the answer.
const myidTries = 3

// clusterView is what one visit of a Cluster's masters learns, to find the
// masters ForEachMaster does not visit: the CLUSTER NODES of one of them
// (the listing), and each visited master's cluster node id: from its
// CLUSTER MYID, or, for the master that answered the listing, from the
// listing's line flagged myself. Before Redis 7.0, which has no CLUSTER
// MYID, a master's id is the line of its own CLUSTER NODES flagged myself;
// with a memo (the watch's, which lists the masters every second from
// every process) that id is remembered and asked again only when the
// listing does not place it at the master's address (see idMemo). A
// listing so costs one master a CLUSTER NODES, and every other master a
// CLUSTER MYID on Redis 7 and later, nothing before (once its id is
// remembered); a failed ask is repeated, up to myidTries times. The
// masters are told apart by id, not by address: go-redis does not dial
// the addresses the nodes announce (see extraAddr). Address only settles
// the case of a visited master whose id stayed unknown (see extras).
type clusterView struct {
	asked atomic.Bool // a visit has taken the CLUSTER NODES query
	memo  *idMemo     // ids remembered across listings, or nil

	mu       sync.Mutex
	opts     map[string]*redis.Options // the visited masters', by go-redis's address
	clients  map[string]*redis.Client  // the visited masters, by address
	ids      map[string]string         // the visited masters' ids, by address; "" unknown
	recalled map[string]bool           // addresses whose id came from memo
	nodes    string                    // CLUSTER NODES, as a visited master answered it
	host     string                    // the host of the master that answered it
	listed   string                    // the address of that master
	refused  bool                      // a server refused CLUSTER MYID or NODES (refusedClusterCmd)
	failed   []error                   // why an id is unknown, refusals excepted
	nodesErr error                     // the last failure of CLUSTER NODES, refusals excepted
}

// visit learns what node, a visited master, tells.
func (v *clusterView) visit(ctx context.Context, node *redis.Client) {
	o := node.Options()
	var (
		nodes    string
		nodesErr error
	)
	if v.asked.CompareAndSwap(false, true) {
		if nodes, nodesErr = askCluster(ctx, node.ClusterNodes(ctx).Result); nodesErr != nil {
			v.asked.Store(false) // a later visit may ask
		}
	}
	var (
		id       string
		idErr    error
		recalled bool
	)
	switch {
	case nodes != "":
		id, idErr = myselfID(nodes) // node answered the listing
	default:
		id = v.memo.get(o.Addr)
		if recalled = id != ""; !recalled {
			id, idErr = v.askID(ctx, node)
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.opts == nil {
		v.opts, v.clients, v.ids, v.recalled = map[string]*redis.Options{}, map[string]*redis.Client{}, map[string]string{}, map[string]bool{}
	}
	v.opts[o.Addr], v.clients[o.Addr], v.recalled[o.Addr] = o, node, recalled
	v.record(o.Addr, id, idErr)
	switch {
	case nodesErr == nil:
		if nodes != "" {
			v.nodes, v.host, v.listed = nodes, hostOf(o.Addr), o.Addr
		}
	case refusedClusterCmd(nodesErr):
		v.refused = true
	default:
		v.nodesErr = fmt.Errorf("CLUSTER NODES on %s: %w", o.Addr, nodesErr)
	}
}

// askID asks node its id (nodeID), up to myidTries times, and remembers
// in memo an id that came from CLUSTER NODES.
func (v *clusterView) askID(ctx context.Context, node *redis.Client) (string, error) {
	var noMyID bool
	id, err := askCluster(ctx, func() (id string, err error) {
		id, noMyID, err = nodeID(ctx, node)
		return id, err
	})
	if err == nil && noMyID {
		v.memo.put(node.Options().Addr, id)
	}
	return id, err
}

// record sets the id of the visited master at addr, and why it is unknown
// when idErr is not nil. v.mu is held.
func (v *clusterView) record(addr, id string, idErr error) {
	v.ids[addr] = id
	switch {
	case idErr == nil:
	case refusedClusterCmd(idErr):
		v.refused = true
	default:
		v.failed = append(v.failed, fmt.Errorf("CLUSTER MYID on %s: %w", addr, idErr))
	}
}

// confirm asks again the visited masters whose id came from the memo
// where the listing does not place that id at their address (a master,
// not failed, at the address extraAddr builds): another server may answer
// there now. It forgets the remembered ids of masters no longer visited,
// and, where the memo holds ids (the Cluster's servers have no CLUSTER
// MYID), remembers that of the master that answered the listing.
func (v *clusterView) confirm(ctx context.Context) {
	v.mu.Lock()
	v.memo.keep(v.opts)
	stale := map[string]*redis.Client{} // by address
	if v.nodes != "" {
		if id := v.ids[v.listed]; id != "" && v.memo.remembers() {
			v.memo.put(v.listed, id)
		}
		entries := parseClusterNodes(v.nodes)
		visited := map[string]string{} // address by id
		for addr, id := range v.ids {
			if id != "" {
				visited[id] = addr
			}
		}
		r := learnRewrite(entries, visited)
		at := map[string]string{} // the address of each master the listing places, by id
		for _, e := range entries {
			if e.master {
				at[e.id] = r.extraAddr(e, v.host)
			}
		}
		for addr, recalled := range v.recalled {
			if recalled && at[v.ids[addr]] != addr {
				stale[addr] = v.clients[addr]
			}
		}
	}
	v.mu.Unlock()
	var wg sync.WaitGroup
	for addr, node := range stale {
		v.memo.put(addr, "")
		wg.Go(func() {
			id, err := v.askID(ctx, node)
			v.mu.Lock()
			v.record(addr, id, err)
			v.mu.Unlock()
		})
	}
	wg.Wait()
}

// idMemo remembers, for the watch, which lists a Cluster's masters every
// second from every process, the ids that visited masters without CLUSTER
// MYID (Redis before 7.0) gave in their CLUSTER NODES, by address: asking
// every master its CLUSTER NODES at every listing costs the Cluster
// masters+1 of them a second per process, each as long as the Cluster is
// large, where one does on Redis 7. A remembered id is used only while the
// listing's CLUSTER NODES places that id, a master not failed, at that
// address (clusterView.confirm): a server replaced there (a new id, or
// another node moved there) is asked again. The nil *idMemo remembers
// nothing. It is safe for concurrent use.
type idMemo struct {
	mu  sync.Mutex
	ids map[string]string
}

// get returns the id remembered for addr, or "".
func (m *idMemo) get(addr string) string {
	if m == nil {
		return ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ids[addr]
}

// put remembers id for addr; "" forgets addr.
func (m *idMemo) put(addr, id string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case id == "":
		delete(m.ids, addr)
	case m.ids == nil:
		m.ids = map[string]string{addr: id}
	default:
		m.ids[addr] = id
	}
}

// remembers reports whether m remembers an id: a visited master has no
// CLUSTER MYID.
func (m *idMemo) remembers() bool {
	if m == nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.ids) > 0
}

// keep forgets the addresses that are not in visited.
func (m *idMemo) keep(visited map[string]*redis.Options) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for addr := range m.ids {
		if _, ok := visited[addr]; !ok {
			delete(m.ids, addr)
		}
	}
}

// askCluster runs ask up to myidTries times, until it succeeds, the server
// refuses the command (refusedClusterCmd) or ctx ends, and returns its
// last answer.
func askCluster(ctx context.Context, ask func() (string, error)) (string, error) {
	var (
		out string
		err error
	)
	for range myidTries {
		if out, err = ask(); err == nil || refusedClusterCmd(err) || ctx.Err() != nil {
			break
		}
	}
	return out, err
}

// noPerm reports whether msg, an error reply, refuses a command to the
// user (NOPERM: its ACL).
func noPerm(msg string) bool { return strings.HasPrefix(strings.ToLower(msg), "noperm") }

// refusedClusterCmd reports whether err is a server's refusal of a CLUSTER
// command itself, which asking again would not change: not permitted to
// this user (NOPERM), or unknown (renamed or removed in the server's
// configuration).
func refusedClusterCmd(err error) bool {
	msg := strings.ToLower(err.Error())
	return noPerm(msg) || strings.Contains(msg, "unknown command") || strings.Contains(msg, "unknown subcommand")
}

// extras returns the masters that CLUSTER NODES lists as reachable (not
// failed, not in a handshake, with an address) and whose id no visited
// master has, nor the address extraAddr builds for them, by id, with the
// options of a visited master and that address. known is false, and
// extras empty, when CLUSTER NODES did not answer, or when a visited
// master's id is unknown and such a master remains: it may be the visited
// master itself (announced at an address go-redis does not dial), or a
// master ForEachMaster missed, and cannot be told. Where none remains,
// nothing was missed, whatever the unknown ids. err says why known is
// false, unless a server refused the command (refusedClusterCmd): nil
// then.
func (v *clusterView) extras() (extras map[string]*redis.Options, known bool, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case v.refused:
		return nil, false, nil
	case v.nodes == "" && v.nodesErr == nil && len(v.failed) == 0:
		return nil, false, nil // no master visited
	case v.nodes == "":
		return nil, false, fmt.Errorf("the Cluster's masters that own no slot could not be told: %w", errors.Join(append([]error{v.nodesErr}, v.failed...)...))
	}
	entries := parseClusterNodes(v.nodes)
	visited := map[string]string{} // address by id
	var base *redis.Options
	for addr, id := range v.ids {
		if base = v.opts[addr]; id != "" { // "" is a failed id
			visited[id] = addr
		}
	}
	r := learnRewrite(entries, visited)
	extras = map[string]*redis.Options{}
	for _, e := range entries {
		if _, ok := visited[e.id]; ok || !e.master {
			continue
		}
		addr := r.extraAddr(e, v.host)
		if _, ok := v.opts[addr]; ok || addr == "" {
			continue
		}
		extras[e.id] = withAddr(base, addr)
	}
	if len(v.failed) > 0 && len(extras) > 0 {
		return nil, false, fmt.Errorf("the Cluster's masters that own no slot could not be told: %w", errors.Join(v.failed...))
	}
	return extras, true, nil
}

// nodeEntry is one line of CLUSTER NODES.
type nodeEntry struct {
	id, ip, port, hostname string
	master                 bool // a master that is reachable as far as the line says
	myself                 bool // the server that answered
}

// parseClusterNodes reads CLUSTER NODES: "id ip:port@cport[,hostname]
// flags ...". The ip of an IPv6 node has no brackets.
func parseClusterNodes(out string) []nodeEntry {
	var entries []nodeEntry
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		e := nodeEntry{id: f[0]}
		addr, hostname, _ := strings.Cut(f[1], ",")
		e.hostname, _, _ = strings.Cut(hostname, ",")
		addr, _, _ = strings.Cut(addr, "@")
		i := strings.LastIndexByte(addr, ':')
		if i < 0 {
			continue
		}
		e.ip, e.port = strings.Trim(addr[:i], "[]"), addr[i+1:]
		flags := "," + f[2] + ","
		e.myself = strings.Contains(flags, ",myself,")
		e.master = strings.Contains(flags, ",master,") && !strings.Contains(flags, ",fail") &&
			!strings.Contains(flags, ",handshake,") && !strings.Contains(flags, ",noaddr,")
		entries = append(entries, e)
	}
	return entries
}

// addrRewrite is how go-redis turned the addresses the visited masters
// announce into those it dials, learned from them, to turn an extra
// master's the same way.
type addrRewrite struct {
	hostnames bool   // go-redis dials the nodes' hostnames (cluster-preferred-endpoint-type hostname)
	seedHost  string // the host go-redis dials for a loopback ip (replaceLoopbackHost), or ""
	seedPort  string // the port go-redis dials for port 0 (a TLS-only Cluster), or ""
}

// learnRewrite compares each visited master's entry with the address
// go-redis dials it at (visited: address by id).
func learnRewrite(entries []nodeEntry, visited map[string]string) addrRewrite {
	var r addrRewrite
	for _, e := range entries {
		addr, ok := visited[e.id]
		if !ok {
			continue
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			continue
		}
		switch {
		case e.hostname != "" && host == e.hostname && host != e.ip:
			r.hostnames = true
		case isLoopback(e.ip) && !isLoopback(host):
			r.seedHost = host
		}
		if e.port == "0" && port != "0" {
			r.seedPort = port
		}
	}
	return r
}

// extraAddr returns the address to dial e at, as go-redis would dial it if
// CLUSTER SLOTS listed it: its hostname when go-redis dials the visited
// masters' hostnames; a loopback ip replaced by the seed's host when
// go-redis replaced one (it does when the seed is not a loopback address);
// port 0 replaced by the seed's port. A node that does not know its own ip
// yet is dialed at asked's host, that of the master that listed it. It
// returns "" when no port is known.
func (r addrRewrite) extraAddr(e nodeEntry, asked string) string {
	host := e.ip
	switch {
	case r.hostnames && e.hostname != "":
		host = e.hostname
	case host == "":
		host = asked
	case r.seedHost != "" && isLoopback(host):
		host = r.seedHost
	}
	port := e.port
	if port == "0" {
		port = r.seedPort
	}
	if port == "" || port == "0" {
		return ""
	}
	return net.JoinHostPort(host, port)
}

// isLoopback reports whether host is a loopback address or localhost, as
// go-redis's isLoopback does.
func isLoopback(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	h := strings.ToLower(host)
	return h == "localhost" || strings.HasSuffix(h, ".docker.internal")
}

// hostOf returns the host of addr, or addr.
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// withAddr returns a copy of o that dials addr.
func withAddr(o *redis.Options, addr string) *redis.Options {
	cp := *o
	cp.Addr = addr
	return &cp
}
