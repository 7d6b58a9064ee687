package redisstore

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-caching/caching/backend"
)

// The invalidation watch: Redis's server-assisted client-side caching in
// broadcast mode. One connection per server (every master of a Cluster)
// says HELLO 3 and CLIENT TRACKING ON BCAST PREFIX <prefix>; from then on
// the server pushes an "invalidate" message with the keys under the prefix
// that any client writes, deletes, or that expire or are evicted, and a
// null one when a database is flushed (any database of the server: the
// message does not say which). The connection sends ROLE every
// watchHeartbeat: a server that stops answering, or that is no longer a
// master (a failover), ends the session, and the watch reports that it is
// not watching until a new session is established.
//
// ROLE is in the @admin and @dangerous ACL categories: a least-privilege
// user (+@all -@dangerous) may not run it, though it may run HELLO, CLIENT
// TRACKING, GET and SET. A session whose ROLE is refused sends PING
// instead, from then on: a server that stops answering still ends it, and
// a failover does when the demoted master closes the connection (Sentinel
// kills its clients when it reconfigures it) or at the next session's
// HELLO, which reports the server's role. Ending the session instead would
// empty the near cache at every heartbeat and never use it.
//
// The session also subscribes to watchChannel, before it starts tracking:
// Redis then counts the connection in the pub/sub class of clients, whose
// output buffer is bounded (client-output-buffer-limit pubsub, 32mb hard
// and 8mb for 60s by default), not in the normal class, whose buffer is
// not. A process that stops reading its watch while its connection stays
// open (SIGSTOP, a frozen VM) would otherwise make the server buffer every
// change message of the namespace for it without bound, memory counted
// toward maxmemory, which evicts real data for it; past the limit the
// server closes the connection, and the watch sees the loss as any other.
// A RESP3 client may send any command while subscribed (ROLE, PING), and
// nothing is published on the channel: the subscription's confirmation,
// read by the handshake, is its only message. A SUBSCRIBE the user's ACL
// refuses (no access to the channel) leaves the session unbounded, as
// before, but watching.

// Timings of the watch.
const (
	// watchHeartbeat is the period of the ROLE (or PING) command each
	// session sends.
	watchHeartbeat = 250 * time.Millisecond
	// watchRetryMin and watchRetryMax bound the delay before a new session
	// after a failed one: it doubles from the first to the second.
	watchRetryMin = 10 * time.Millisecond
	watchRetryMax = time.Second
	// watchRefusedMin and watchRefusedMax bound it instead after a session
	// the server refused (refusedError: the user's ACL, a renamed or
	// unknown command), which trying again soon would not change: it
	// doubles from the first to the second.
	watchRefusedMin = 5 * time.Second
	watchRefusedMax = 30 * time.Second
	// watchTopology is the period at which a Cluster's masters are listed
	// again, to watch the ones that appear.
	watchTopology = time.Second
	// watchClientName is the name of a session's connection (CLIENT LIST),
	// after the client's own ClientName and a dash when it has one.
	watchClientName = "caching-near"
	// watchChannel is the channel a session subscribes to, so that the
	// server bounds its output buffer as a pub/sub client's (see above).
	// Nothing is published on it.
	watchChannel = "__caching-near__:watch"
)

// WatchInvalidations watches the Store's namespace (its Prefix) for changes
// made by any client of the server, with Redis's server-assisted
// client-side caching (CLIENT TRACKING ON BCAST PREFIX, Redis 6 or later),
// on a connection of its own per server: the node of a single-node client,
// the current master of a Sentinel failover client (followed through
// failovers), every master of a Cluster client, including one that owns no
// slot yet (followed as masters come and go). It implements backend/near's
// Watcher: see there for the meaning of changed and state. It returns at
// once; Close stops the watch.
//
// A Cluster's masters are listed every second: one master go-redis knows
// answers CLUSTER NODES, and every other one CLUSTER MYID (on Redis before
// 7.0, which has none, the id its own CLUSTER NODES gave, remembered while
// the listing places that id at its address, and asked again otherwise),
// and in CLUSTER NODES a master whose id none of them has is an extra one (one
// that owns no slot yet: the new node of a resharding, which receives the
// keys already moved to it). An extra master is dialed at the address
// CLUSTER NODES gives, turned as go-redis turns those of CLUSTER SLOTS (a
// loopback host replaced by the seed's, port 0 by the seed's port, the
// hostname when go-redis dials hostnames), and must answer with its id. One
// that the watch has not reached once (unreachable from this host at that
// address, or another server answers there) is not waited for: state(true)
// is reported without it, and a write to a key already moved to it is not
// reported until it is reached, or until it owns the key's slot (go-redis
// then dials it as any master). A user whose ACL refuses CLUSTER MYID or
// CLUSTER NODES is watched on the masters go-redis knows only. A listing
// whose CLUSTER NODES fails (sent up to three times), or whose CLUSTER
// MYID does while CLUSTER NODES lists a master it cannot match to a known
// one (as for Clear), keeps the extra masters the watch had.
//
// changed receives the keys without the prefix; nil keys when a database
// is flushed. Keys of the same name in another database of the server are
// reported too (tracking does not tell databases apart): they cost a
// needless drop, nothing more. But a flush of any database of the server
// (FLUSHDB of another one too) is reported as a flush, nil keys: a near
// cache empties its memory for it.
//
// state(false) is reported when a session ends (the connection drops, the
// server restarts, CLIENT KILL, the server's output buffer limit for
// pub/sub clients reached by messages the process did not read, no answer to the heartbeat within
// watchHeartbeat plus the client's ReadTimeout, a server that is no longer
// a master, a failover client's writes going to another server: checked
// every second, see below) and while a Cluster master is not watched;
// state(true) when every server is watched again (an extra Cluster master
// never reached excepted: see above). A user whose ACL refuses ROLE (the
// heartbeat that asks whether the server is still a master) is watched
// with PING as the heartbeat: a failover is then seen when the old master
// closes the connection, or at the next session's HELLO.
//
// A Sentinel failover client's watch learns its server's run_id (INFO
// server, on its own connection, at the handshake), and every second asks
// the Store's client for INFO server on a connection of its pool, the
// one the Store's writes use (go-redis empties the pool of the old
// master's connections when Sentinel announces a failover): a run_id that
// differs ends the session, which the next one follows to the new master.
// That costs each process one INFO a second on a pooled connection (the
// client's hooks see it), and no new connection. For a user whose ACL
// refuses INFO (it is @dangerous) it compares instead the address the
// server's connections arrive at (CLIENT INFO's laddr, @connection), at
// the same cost, where that is the address the client dials. Where
// neither can be compared (CLIENT INFO refused too, or unknown: Redis
// before 6.2; a master reached through NAT, whose laddr is an address of
// its own network, which another server may share), and for a Store whose
// client is closed, it dials as the client does instead: a Sentinel query
// and a new connection to the master, closed at once, every second from
// every process.
//
// Each connection also subscribes to the channel __caching-near__:watch,
// on which nothing is published, so that the server bounds what it
// buffers for a process that stops reading (client-output-buffer-limit
// pubsub): past the limit it closes the connection, and the loss is
// reported. A user whose ACL refuses the channel is watched all the same,
// on a connection the server does not bound.
//
// A session that fails or ends is tried again after 10ms, doubling up to
// 1s (a restart, a failover, a server not yet up: at once again after a
// session that lasted). One the server refuses (NOPERM: an ACL without
// HELLO, CLIENT TRACKING or PING; a renamed or unknown command, as some
// managed services do with CLIENT; a bad password or user: WRONGPASS,
// NOAUTH; a protocol the server or a proxy does not speak: NOPROTO, a
// syntax error) is tried again after 5s, doubling up to 30s, since trying
// again soon would get the same answer, and each try is a new connection;
// any other error reply (LOADING, BUSY, too many clients, a proxy's) is
// read as an outage. The
// returned Closer has a method Err() error that says why the watch is not
// established (near's NearStats.WatchError): the last session's error, of
// a server not watched, stored before state(false) is reported; nil while
// every server is. state(false) is reported again after each failed
// session while not watching, so that near's Store reads (and logs, with
// its Options.Logger) a refusal at start; the Store itself logs nothing.
//
// Other clients (a Ring, a wrapper) and clients with a
// StreamingCredentialsProvider are not supported: an error says so. The
// watch authenticates with the client's Username and Password or
// CredentialsProvider(Context); it does not run the client's OnConnect,
// so a client that authenticates there has its watch refused (NOAUTH),
// with an error that says so.
func (b *Store) WatchInvalidations(changed func(keys []string), state func(watching bool)) (io.Closer, error) {
	if b.closed.Load() {
		return nil, errClosed
	}
	w := &watch{prefix: b.prefix, changed: changed, state: state, nodes: map[string]*watchNode{}, refusedWait: b.watchRefusedWait}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	switch c := b.client.(type) {
	case *redis.Client:
		o := c.Options()
		if o.StreamingCredentialsProvider != nil {
			return nil, errors.New("redisstore: watch invalidations: a client with a StreamingCredentialsProvider is not supported")
		}
		if isFailover(o) {
			w.failover = c
		}
		w.mu.Lock()
		w.add(o.Addr, "", o)
		w.mu.Unlock()
	case *redis.ClusterClient:
		if c.Options().StreamingCredentialsProvider != nil {
			return nil, errors.New("redisstore: watch invalidations: a client with a StreamingCredentialsProvider is not supported")
		}
		w.cluster = c
		w.wg.Add(1)
		go w.followCluster()
	default:
		return nil, fmt.Errorf("redisstore: watch invalidations: a %T client is not supported (a *redis.Client, including Sentinel failover clients, or a *redis.ClusterClient is)", b.client)
	}
	return w, nil
}

// watch is one WatchInvalidations: its sessions, one per server.
type watch struct {
	prefix  string
	changed func([]string)
	state   func(bool)
	cluster *redis.ClusterClient // nil for a single node
	// failover is the Store's client when it is a Sentinel failover
	// client: followFailover asks it which server its writes go to.
	failover *redis.Client

	ctx     context.Context // cancelled by Close
	cancel  context.CancelFunc
	stopped atomic.Bool
	wg      sync.WaitGroup
	once    sync.Once

	ids idMemo // the Cluster masters' ids, remembered across listings

	// refusedWait, when not 0, is the wait after a refused session in
	// place of retryDelay's (Store.watchRefusedWait: a test's).
	refusedWait time.Duration

	mu       sync.Mutex
	nodes    map[string]*watchNode // by address, an extra master by id
	watching bool                  // what state last reported
	// err is what Err returns (errLocked, stored by report under mu):
	// read without mu, so that state, which runs under it, may call Err.
	err atomic.Pointer[watchErr]
}

// watchNode is the watch of one server.
type watchNode struct {
	opt *redis.Options
	// id is, for a Cluster's extra master (one that owns no slot, dialed
	// at an address clusterView builds), the cluster node id the server
	// must answer CLUSTER MYID with; "" for a server go-redis dials.
	id string
	// noMyID: the server does not know CLUSTER MYID (Redis before 7.0),
	// and the handshake asks CLUSTER NODES for id instead. Only run's
	// goroutine uses it.
	noMyID  bool
	stop    chan struct{} // closed when the node is no longer watched
	up      bool          // a session is established; under watch.mu
	reached bool          // a session was established once; under watch.mu
	conn    net.Conn      // the session's connection; under watch.mu
	// err is the error of the last session, one that failed or ended; nil
	// while one is established. Under watch.mu.
	err error
}

// add starts watching the server that o dials, under key (its address, or
// an extra master's id), expected to be the Cluster node id when id is not
// "". w.mu is held.
func (w *watch) add(key, id string, o *redis.Options) {
	n := &watchNode{opt: o, id: id, stop: make(chan struct{})}
	w.nodes[key] = n
	w.wg.Add(1)
	go w.run(n)
}

// report tells state whether every server is watched, when that changed,
// and with failed (a session just failed or ended) state(false) again
// while not every server is, so that the caller reads Err's new value
// (near logs a refusal at start, when the state has not changed). An
// extra master of a Cluster that the watch has never reached is not
// waited for (see WatchInvalidations). w.mu is held, so that state is
// never called concurrently with itself.
func (w *watch) report(failed bool) {
	all := len(w.nodes) > 0
	for _, n := range w.nodes {
		all = all && (n.up || n.id != "" && !n.reached)
	}
	if w.stopped.Load() {
		return
	}
	changed := all != w.watching
	w.watching = all
	w.err.Store(&watchErr{w.errLocked()}) // before state: it may call Err
	if changed || failed && !all {
		w.state(all)
	}
}

// watchErr holds what Err returns.
type watchErr struct{ err error }

// setUp records that n has a session established and reports.
func (w *watch) setUp(n *watchNode) {
	w.mu.Lock()
	n.up, n.reached, n.err = true, true, nil
	w.report(false)
	w.mu.Unlock()
}

// setDown records that n's session failed or ended with err, and reports.
// The error is stored under the same lock as the state, before state is
// called: a caller that sees state(false) and then asks Err gets the
// error, never nil because it was not stored yet.
func (w *watch) setDown(n *watchNode, err error) {
	w.mu.Lock()
	n.up, n.err = false, err
	w.report(true)
	w.mu.Unlock()
}

// Err returns why the watch is not watching every server: the error of the
// last session (one that failed, the server's refusal included, or that
// ended) of a server not watched, the first in address order; nil while
// every server is watched, and once the watch is closed. It is nil too
// while the servers not watched are having their first session: at
// start, and on a Cluster when a master appears (a node added, a replica
// promoted) while the others are watched, until that session is
// established or fails (state(false) is reported when the master is
// listed, since a write there may go unreported). backend/near's Store
// reports it (NearStats.WatchError). It is safe for concurrent use, and
// to call from state (it takes no lock).
func (w *watch) Err() error {
	if w.stopped.Load() {
		return nil
	}
	if e := w.err.Load(); e != nil {
		return e.err
	}
	return nil
}

// errLocked is what Err returns from report on, w.mu held.
func (w *watch) errLocked() error {
	if w.watching || w.stopped.Load() {
		return nil
	}
	keys := make([]string, 0, len(w.nodes))
	for key := range w.nodes {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	for _, key := range keys {
		// An extra Cluster master never reached is not waited for.
		if n := w.nodes[key]; !n.up && n.err != nil && (n.id == "" || n.reached) {
			return n.err
		}
	}
	return nil
}

// Close stops the watch: every session ends and its goroutines return
// before Close does. It is idempotent.
func (w *watch) Close() error {
	w.once.Do(func() {
		w.stopped.Store(true)
		w.cancel()
		w.mu.Lock()
		for _, n := range w.nodes {
			if n.conn != nil {
				_ = n.conn.Close()
			}
		}
		w.mu.Unlock()
		w.wg.Wait()
	})
	return nil
}

// run keeps a session with n's server established until n is dropped or
// the watch closed, retrying after retryDelay. It keeps each session's
// error for Err, stored with the state change (setDown).
func (w *watch) run(n *watchNode) {
	defer w.wg.Done()
	var delay time.Duration
	for {
		start := time.Now()
		err := w.session(n)
		if err == nil {
			err = errors.New("redisstore: watch: the session ended")
		}
		// Also when the watch is closed (Err then returns nil) or n
		// dropped (no longer in w.nodes).
		w.setDown(n, err)
		select {
		case <-w.ctx.Done():
			return
		case <-n.stop:
			return
		default:
		}
		delay = retryDelay(delay, err, time.Since(start))
		wait := delay
		var refused *refusedError
		if w.refusedWait > 0 && errors.As(err, &refused) {
			wait = w.refusedWait
		}
		select {
		case <-w.ctx.Done():
			return
		case <-n.stop:
			return
		case <-time.After(wait):
		}
	}
}

// retryDelay returns how long run waits for a new session after one that
// ended with err after lasting d, prev being the wait before it (0 at
// first). A session the server refused (refusedError) waits from
// watchRefusedMin, doubling up to watchRefusedMax: trying again soon would
// not change the answer, and each try is a new connection. Any other
// (a connection refused or dropped, a restart, a failover) waits from
// watchRetryMin, doubling up to watchRetryMax, and from watchRetryMin
// again after a session that lasted longer than watchRetryMax.
func retryDelay(prev time.Duration, err error, d time.Duration) time.Duration {
	var refused *refusedError
	switch {
	case errors.As(err, &refused):
		return min(max(2*prev, watchRefusedMin), watchRefusedMax)
	case prev == 0 || d > watchRetryMax:
		return watchRetryMin
	}
	return min(2*prev, watchRetryMax)
}

// refusedError is a session's error when the server refuses a command of
// the watch itself: not permitted to the user (NOPERM: an ACL without
// HELLO, CLIENT TRACKING or PING), or unknown (renamed or removed in the
// server's configuration, as some managed services do with CLIENT; HELLO
// before Redis 6); or refuses the client's credentials (WRONGPASS: a bad
// user or password, a user disabled; NOAUTH: no password where the server
// requires one); or does not speak the watch's protocol (NOPROTO: a
// server or proxy without RESP3; a syntax error: one without HELLO's
// SETNAME or TRACKING's BCAST PREFIX). Trying again soon would get the
// same answer (a rotated password a CredentialsProvider returns is tried
// at the next retry, 5s to 30s later).
//
// Any other error reply is read as an outage, retried within a second:
// those a server sends while it cannot serve for a while (LOADING after
// a restart, BUSY while a script runs, "ERR max number of clients
// reached", MASTERDOWN, TRYAGAIN, CLUSTERDOWN), and those of a proxy in
// front of it, whose meaning the watch cannot know.
type refusedError struct{ cmd, msg string }

func (e *refusedError) Error() string { return "redisstore: watch: " + e.cmd + ": " + e.msg }

// Unwrap returns backend.ErrWatchRefused, which near's Stats.WatchError
// then wraps: a program (and the metrics module's
// caching_near_watch_refused) tells a refusal from an outage with
// errors.Is.
func (e *refusedError) Unwrap() error { return backend.ErrWatchRefused }

// replyError returns the error for msg, the server's error reply to cmd:
// a refusedError when the server refuses the command itself, the client's
// credentials or the protocol.
func replyError(cmd, msg string) error {
	if noPerm(msg) || strings.Contains(strings.ToLower(msg), "unknown command") || unknownSubcommand(msg) || badAuth(msg) || badProtocol(msg) {
		return &refusedError{cmd: cmd, msg: msg}
	}
	return fmt.Errorf("redisstore: watch: %s: %s", cmd, msg)
}

// badAuth reports whether msg, an error reply, refuses the client's
// credentials: WRONGPASS (a bad user or password, a user disabled) or
// NOAUTH (no password where the server requires one).
func badAuth(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.HasPrefix(msg, "wrongpass") || strings.HasPrefix(msg, "noauth")
}

// badProtocol reports whether msg, an error reply, says the server does
// not speak the watch's protocol: NOPROTO (HELLO 3 to a server without
// RESP3), or a syntax error (an option of HELLO or CLIENT TRACKING it does
// not know: Redis answers "ERR syntax error", or "ERR Syntax error in
// HELLO option ...").
func badProtocol(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.HasPrefix(msg, "noproto") || strings.HasPrefix(msg, "err syntax error")
}

// session dials n's server, starts tracking, and reads what it pushes until
// the connection fails. It reports n up once tracking is on; run reports
// it down, with the error session returns.
func (w *watch) session(n *watchNode) error {
	o := n.opt
	dialTimeout := o.DialTimeout
	if dialTimeout <= 0 {
		dialTimeout = 5 * time.Second
	}
	readTimeout := o.ReadTimeout
	if readTimeout <= 0 {
		readTimeout = time.Second
	}
	ctx, cancel := context.WithTimeout(w.ctx, dialTimeout)
	defer cancel()
	conn, err := dial(ctx, o)
	if err != nil {
		return err
	}
	w.mu.Lock()
	select {
	case <-w.ctx.Done():
		err = errClosed
	case <-n.stop:
		err = errClosed
	default:
		n.conn = conn
	}
	w.mu.Unlock()
	if err != nil {
		_ = conn.Close()
		return err
	}
	defer conn.Close()

	r := bufio.NewReaderSize(conn, 32<<10)
	_ = conn.SetDeadline(time.Now().Add(dialTimeout + readTimeout))
	self, err := w.handshake(ctx, conn, r, o, n.id, n.noMyID)
	if err != nil {
		n.noMyID = n.noMyID || errors.Is(err, errNoMyID) // the next session asks CLUSTER NODES
		return err
	}
	_ = conn.SetDeadline(time.Time{})
	w.setUp(n)

	// The session's goroutines end before it returns (so before Close
	// does): done stops the heartbeat, and cancelling fctx the failover
	// check, also while it waits on the network.
	var g sync.WaitGroup
	defer g.Wait()
	fctx, fcancel := context.WithCancel(w.ctx)
	defer fcancel()
	done := make(chan struct{})
	defer close(done)
	var ping atomic.Bool // ROLE was refused: the heartbeat is PING
	g.Go(func() { heartbeat(conn, done, &ping) })
	if w.failover != nil && isFailover(o) {
		g.Go(func() { followFailover(fctx, conn, self, w.failover, o, dialTimeout) })
	}
	for {
		_ = conn.SetReadDeadline(time.Now().Add(watchHeartbeat + readTimeout))
		v, err := readResp(r)
		if err != nil {
			return err
		}
		switch v.kind {
		case '>':
			if len(v.elems) == 2 && v.elems[0].str == "invalidate" {
				w.invalidate(v.elems[1])
			}
		case '*': // ROLE's reply
			if len(v.elems) == 0 || v.elems[0].str != "master" {
				return errors.New("redisstore: watch: the server is no longer a master")
			}
		case '-', '!':
			if refusedRole(v.str) { // also the replies to ROLEs sent before the switch
				ping.Store(true)
				continue
			}
			return replyError("heartbeat", v.str)
		}
	}
}

// invalidate reports the keys of an invalidate message, without the
// prefix; a null list means every key.
func (w *watch) invalidate(list respValue) {
	if w.stopped.Load() {
		return
	}
	if list.null {
		w.changed(nil)
		return
	}
	keys := make([]string, 0, len(list.elems))
	for _, k := range list.elems {
		if key, ok := strings.CutPrefix(k.str, w.prefix); ok {
			keys = append(keys, key)
		}
	}
	if len(keys) > 0 {
		w.changed(keys)
	}
}

// errNoMyID is a handshake's error when the server does not know CLUSTER
// MYID (Redis before 7.0) or refuses it to the user (NOPERM): the next
// session asks CLUSTER NODES instead.
var errNoMyID = errors.New("redisstore: watch: the server has no CLUSTER MYID for this client")

// handshake sends HELLO 3 (authenticating as the client does), CLUSTER
// MYID when id is not "" (CLUSTER NODES with noMyID), INFO server for a
// failover client, SUBSCRIBE watchChannel and CLIENT TRACKING, and checks
// their replies: the server must be a master, and the Cluster node id (an
// extra master's address is built, not go-redis's: another server may
// listen there; in CLUSTER NODES, the id of the line flagged myself). A
// MYID answered "unknown subcommand" or NOPERM fails with errNoMyID. A refused
// SUBSCRIBE (an ACL without the channel) leaves the connection a normal
// client, watched all the same. For a failover client it also sends
// CLIENT INFO, and returns what tells the server apart (serverID).
func (w *watch) handshake(ctx context.Context, conn net.Conn, r *bufio.Reader, o *redis.Options, id string, noMyID bool) (self serverID, err error) {
	user, pass, err := credentials(ctx, o)
	if err != nil {
		return serverID{}, err
	}
	hello := []string{"HELLO", "3"}
	if pass != "" {
		if user == "" {
			user = "default"
		}
		hello = append(hello, "AUTH", user, pass)
	}
	name := watchClientName
	if o.ClientName != "" {
		name = o.ClientName + "-" + watchClientName
	}
	hello = append(hello, "SETNAME", name)
	cmd := appendCommand(nil, hello...)
	switch {
	case id != "" && noMyID:
		cmd = appendCommand(cmd, "CLUSTER", "NODES")
	case id != "":
		cmd = appendCommand(cmd, "CLUSTER", "MYID")
	}
	askSelf := w.failover != nil && isFailover(o)
	if askSelf {
		cmd = appendCommand(cmd, "INFO", "server")
		cmd = appendCommand(cmd, "CLIENT", "INFO")
	}
	cmd = appendCommand(cmd, "SUBSCRIBE", watchChannel)
	cmd = appendCommand(cmd, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", w.prefix)
	if _, err := conn.Write(cmd); err != nil {
		return serverID{}, err
	}
	v, err := readResp(r)
	switch {
	case err != nil:
		return serverID{}, err
	case v.kind == '-' || v.kind == '!':
		msg := v.str
		if o.OnConnect != nil && badAuth(msg) {
			msg += onConnectNotRun
		}
		return serverID{}, replyError("HELLO", msg)
	case v.kind != '%':
		return serverID{}, fmt.Errorf("redisstore: watch: HELLO answered with type %q", v.kind)
	}
	if role := v.field("role"); role != nil && role.str != "master" {
		return serverID{}, fmt.Errorf("redisstore: watch: the server is a %s, not a master", role.str)
	}
	if id != "" {
		if v, err = readResp(r); err != nil { // CLUSTER MYID's, or NODES'
			return serverID{}, err
		}
		got, refused := v.str, v.kind == '-' || v.kind == '!'
		switch {
		case refused && !noMyID && (unknownSubcommand(v.str) || noPerm(v.str)):
			return serverID{}, errNoMyID // asks CLUSTER NODES next, which an ACL may allow
		case !refused && noMyID:
			got, _ = myselfID(strings.TrimPrefix(v.str, "txt:")) // a verbatim string in RESP3
		}
		if refused || got != id {
			return serverID{}, fmt.Errorf("redisstore: watch: %s is not the Cluster node %s (it answered %q)", o.Addr, id, got)
		}
	}
	if askSelf {
		if v, err = readResp(r); err != nil { // INFO's
			return serverID{}, err
		}
		if v.kind == '$' || v.kind == '=' {
			self.runID = infoField(v.str, "run_id")
		}
		if v, err = readResp(r); err != nil { // CLIENT INFO's
			return serverID{}, err
		}
		// A server reached through NAT arrives at an address of its own
		// network, which another server elsewhere may have too: laddr
		// tells servers apart only where it is the address dialled.
		if laddr := clientField(v.str, "laddr"); (v.kind == '$' || v.kind == '=') && laddr == conn.RemoteAddr().String() {
			self.laddr = laddr
		}
	}
	if v, err = readResp(r); err != nil { // SUBSCRIBE's
		return serverID{}, err
	}
	if v.kind != '>' && v.kind != '-' && v.kind != '!' {
		return serverID{}, fmt.Errorf("redisstore: watch: SUBSCRIBE answered with type %q", v.kind)
	}
	if v, err = readResp(r); err != nil {
		return serverID{}, err
	}
	switch {
	case v.kind == '-' || v.kind == '!':
		return serverID{}, replyError("CLIENT TRACKING", v.str)
	case v.kind != '+':
		return serverID{}, fmt.Errorf("redisstore: watch: CLIENT TRACKING answered with type %q", v.kind)
	}
	return self, nil
}

// serverID is what tells a failover client's server apart from the
// others: its run_id (INFO), and the address its connections arrive at
// (CLIENT INFO's laddr, where it is the address the client dials). Each is
// "" when it was not asked, not told (refused: NOPERM, or unknown to the
// server), or, for laddr, not the address dialled.
type serverID struct{ runID, laddr string }

// clientField returns the value of field in info, CLIENT INFO's reply
// ("field=value" separated by spaces), or "".
func clientField(info, field string) string {
	for _, f := range strings.Fields(info) {
		if v, ok := strings.CutPrefix(f, field+"="); ok {
			return v
		}
	}
	return ""
}

// infoField returns the value of field in info, INFO's reply ("field:value"
// lines), or "".
func infoField(info, field string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// heartbeat sends ROLE every watchHeartbeat until done, or PING once ping
// is set; a failed write closes conn, which ends the session.
func heartbeat(conn net.Conn, done chan struct{}, ping *atomic.Bool) {
	t := time.NewTicker(watchHeartbeat)
	defer t.Stop()
	role, pingCmd := appendCommand(nil, "ROLE"), appendCommand(nil, "PING")
	for {
		select {
		case <-done:
			return
		case <-t.C:
			cmd := role
			if ping.Load() {
				cmd = pingCmd
			}
			_ = conn.SetWriteDeadline(time.Now().Add(watchHeartbeat))
			if _, err := conn.Write(cmd); err != nil {
				_ = conn.Close()
				return
			}
		}
	}
}

// isFailover reports whether o is a Sentinel failover client's: go-redis
// gives it this placeholder address and a Dialer that asks Sentinel for
// the current master.
func isFailover(o *redis.Options) bool {
	return o.Dialer != nil && o.Addr == "FailoverClient"
}

// followFailover ends the session on conn, a failover client's, when the
// client's writes go to another server (Sentinel named another master):
// the demoted master keeps saying "master" to ROLE until Sentinel
// reconfigures it, which took ~10s, and the watch would watch it, not the
// new master, all that time. Every watchTopology it asks client, the
// Store's own, on a connection of its pool (where the Store's writes go:
// go-redis empties the pool of the old master's connections when its
// Sentinel announces a failover), what tells its server apart, and closes
// conn when that is not self, conn's server: INFO server's run_id, or,
// where INFO is refused (NOPERM: it is @dangerous), CLIENT INFO's laddr
// (@connection, which a least-privilege user may run). That costs one
// command a second on a pooled connection, no new one. Where neither can
// be compared (both refused, Redis before 6.2 without CLIENT INFO, a
// server reached through NAT, whose laddr is not the address dialled),
// or once client is closed, it dials as the client does instead (a
// Sentinel query, and a connection to the master closed at once) and
// closes conn when that reaches another address. It returns when ctx
// ends.
func followFailover(ctx context.Context, conn net.Conn, self serverID, client *redis.Client, o *redis.Options, dialTimeout time.Duration) {
	t := time.NewTicker(watchTopology)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		actx, cancel := context.WithTimeout(ctx, dialTimeout)
		var moved bool
		switch {
		case self.runID != "":
			info, err := client.Info(actx, "server").Result()
			switch {
			case err == nil:
				got := infoField(info, "run_id")
				moved = got != "" && got != self.runID
			case refusedProbe(err) || errors.Is(err, redis.ErrClosed):
				self.runID = "" // laddr, or dial, from now on
			}
		case self.laddr != "":
			info, err := client.Do(actx, "client", "info").Text()
			switch {
			case err == nil:
				got := clientField(info, "laddr")
				moved = got != "" && got != self.laddr
			case refusedProbe(err) || errors.Is(err, redis.ErrClosed):
				self.laddr = "" // dial from now on
			}
		default:
			if probe, err := dial(actx, o); err == nil {
				moved = probe.RemoteAddr().String() != conn.RemoteAddr().String()
				_ = probe.Close()
			} // else Sentinel or the master unreachable: the heartbeat decides
		}
		cancel()
		if moved {
			_ = conn.Close()
			return
		}
	}
}

// refusedProbe reports whether err is the server's refusal of INFO or
// CLIENT INFO itself: not permitted to this user (NOPERM), or unknown
// (renamed or removed; CLIENT INFO before Redis 6.2).
func refusedProbe(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.HasPrefix(msg, "noperm") || strings.Contains(msg, "unknown command") || unknownSubcommand(msg)
}

// refusedRole reports whether msg, an error reply, is the server's refusal
// of the ROLE command itself: not permitted to this user (NOPERM), or
// unknown (renamed or removed in the server's configuration).
func refusedRole(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "'role'") && (strings.HasPrefix(msg, "noperm") || strings.Contains(msg, "unknown command"))
}

// dial connects as the client does: with its Dialer (which, for a Sentinel
// failover client, finds the current master).
func dial(ctx context.Context, o *redis.Options) (net.Conn, error) {
	if o.Dialer != nil {
		return o.Dialer(ctx, o.Network, o.Addr)
	}
	d := &net.Dialer{}
	if o.TLSConfig == nil {
		return d.DialContext(ctx, o.Network, o.Addr)
	}
	return (&tls.Dialer{NetDialer: d, Config: o.TLSConfig}).DialContext(ctx, o.Network, o.Addr)
}

// onConnectNotRun ends the watch's refusal of credentials (NOAUTH,
// WRONGPASS) for a client with an OnConnect, which may be where it
// authenticates: the watch does not run it (see credentials).
const onConnectNotRun = " (the client's OnConnect is not run on the watch's connection: " +
	"give the credentials as Username and Password, or a CredentialsProvider)"

// credentials returns the user and password the client authenticates
// with, as go-redis chooses them. The client's OnConnect is not run on the
// watch's connection: it takes a go-redis connection (*redis.Conn), with
// go-redis's own reader and protocol state, where the watch speaks RESP3
// on a connection it reads itself, and it may run any command there
// (SELECT, CLIENT TRACKING of its own) that the watch's session does not
// expect. Credentials given only there are refused (NOAUTH), and the
// refusal says so.
func credentials(ctx context.Context, o *redis.Options) (user, pass string, err error) {
	switch {
	case o.StreamingCredentialsProvider != nil:
		return "", "", errors.New("redisstore: watch: a StreamingCredentialsProvider is not supported")
	case o.CredentialsProviderContext != nil:
		return o.CredentialsProviderContext(ctx)
	case o.CredentialsProvider != nil:
		user, pass = o.CredentialsProvider()
		return user, pass, nil
	}
	return o.Username, o.Password, nil
}

// followCluster watches every master of the Cluster, listing them again
// every watchTopology: those CLUSTER SLOTS lists and the extra ones only
// CLUSTER NODES does (a master owning no slot yet: during a resharding onto
// a new node, the keys already moved to it are written there). See
// clusterView for what a listing costs.
func (w *watch) followCluster() {
	defer w.wg.Done()
	t := time.NewTicker(watchTopology)
	defer t.Stop()
	for {
		w.listMasters()
		select {
		case <-w.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// listMasters starts watching the masters that are new and stops watching
// those that are gone. A Cluster that cannot be listed keeps its watches,
// and one whose extra masters cannot be told keeps those.
func (w *watch) listMasters() {
	ctx, cancel := context.WithTimeout(w.ctx, watchRetryMax)
	defer cancel()
	visited, extras, known, err := allMasters(ctx, w.cluster, &w.ids)
	if err != nil || len(visited) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped.Load() {
		return
	}
	for key, n := range w.nodes {
		_, isVisited := visited[key]
		_, isExtra := extras[key]
		if n.id == "" && !isVisited || n.id != "" && known && !isExtra {
			close(n.stop)
			if n.conn != nil {
				_ = n.conn.Close()
			}
			delete(w.nodes, key)
		}
	}
	for addr, o := range visited {
		if _, ok := w.nodes[addr]; !ok {
			w.add(addr, "", o)
		}
	}
	for id, o := range extras {
		if _, ok := w.nodes[id]; !ok {
			w.add(id, id, o)
		}
	}
	w.report(false)
}
