package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/connerr"
)

// On a Redis Cluster, a master that fails masterDownAfter calls in a row at
// the connection (see connFailure: a dial refused, a read or write that
// timed out, a connection closed or reset, no pooled connection freed in
// time, a LOADING reply) is marked down for masterRetry: the calls for the
// keys of its hash slots are refused at once, contacting nothing, with an
// error wrapping backend.ErrServerDown that names the operation and the
// master's address, and the keys of the other masters go on being served.
// Once the cool-down is over, one call for its keys (one only: the others
// are still refused) is sent as a probe; a reply of any kind marks the
// master up, and a connection failure marks it down for another
// masterRetry. When every master the Store knows of (those that own slots
// in go-redis's view of the Cluster, read when a master is marked down) is
// marked down, the refusals do not wrap backend.ErrServerDown: the Cluster
// as a whole is down, and the caching package's circuit breaker must count
// them and open.
//
// Without it, each call for a dead master's keys failed (at the cost of a
// dial, or of a whole timeout for a master that does not answer), and the
// caching package's breaker, which sees the Store as one backend, counted
// those failures against every master: five in a row (likely, with a third
// of the keys on the dead master) opened it, and the keys of the masters
// that work were bypassed too, every request sent to the origin.
//
// The key's master is go-redis's (ClusterClient.MasterForKey), read from
// the topology the client keeps, never asked of a server: a failover's new
// master has another address, up, once go-redis has reloaded the topology
// (it does so by itself within seconds of the failures). Error replies
// other than LOADING are answers: the server is up. CLUSTERDOWN (said by a
// live master while the Cluster lacks one) and TRYAGAIN (a resharding) are
// the Cluster's state, not the master's: the breaker counts the first, as
// a failure of the whole store. The caller's own cancellation says
// nothing; nor does the caller's deadline when it left the call (its last
// try, for a call the Store retried or go-redis's Cluster loop sent again
// after a READONLY, but for one whose earlier try failed at the
// connection on that master: a failure of it) less than
// minBlamedDeadline (see call, retrying, readOnlyRetry, blame): it
// refuses a master to every caller, and an impatient caller's (one
// already passed, a millisecond) says nothing of the master. A deadline that expires after longer, the caller's (a
// Cache's Options.Timeout) or the client's, is a timeout of the server.
// So a Cache whose Timeout is under minBlamedDeadline never marks a hung
// master down (its breaker counts the timeouts), and a failure that a
// MOVED or ASK redirect took to another node is charged to the key's
// master in go-redis's view until go-redis reloads it: both documented in
// the package doc.
//
// The healthy path costs one atomic load a call (clusterHealth.failing):
// the key's master is looked up only while some master has a failure
// streak, or after a call failed at the connection. Clear, which visits
// every master itself, is not refused.
const (
	masterDownAfter = 3
	masterRetry     = time.Second
	// minBlamedDeadline is the least time a caller's deadline must leave
	// a call for its expiry to count against the master: a Redis master
	// answers in well under a millisecond, and a Cache bounds its calls
	// with Options.Timeout (500ms by default).
	minBlamedDeadline = 100 * time.Millisecond
)

// call is what a call on one key needs to note its outcome (done): its
// master (nil: not looked up, nothing failing when the call started), and
// whether its caller's deadline left it less than minBlamedDeadline (read
// again before each retry, false for good once a try failed at the
// connection: see retrying), so that a failure at that deadline says
// nothing of the master.
type call struct {
	m         *masterHealth
	impatient bool
}

// impatient reports whether ctx's deadline leaves a call starting now less
// than minBlamedDeadline (on a Cluster only: false elsewhere, at no cost).
func (b *Store) impatient(ctx context.Context) bool {
	if b.health == nil {
		return false
	}
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < minBlamedDeadline
}

// impatientAt reports whether ctx's deadline left a call started at at
// less than minBlamedDeadline (on a Cluster only), as impatient does for
// one starting now.
func (b *Store) impatientAt(ctx context.Context, at time.Time) bool {
	if b.health == nil {
		return false
	}
	dl, ok := ctx.Deadline()
	return ok && dl.Sub(at) < minBlamedDeadline
}

// resent returns c for a command sent after the first of a call on one
// key (Add's TYPE and script), its impatience read again: a caller's
// deadline that the first command spent, or that had passed before this
// one was sent, says nothing of the master.
func (b *Store) resent(ctx context.Context, c call) call {
	c.impatient = b.impatient(ctx)
	return c
}

// excused reports whether a call under ctx, impatient, failed with err
// because of its caller's short deadline: a timeout (or the context's
// error) once that deadline had passed. A failure before it (a refused
// dial, the client's shorter ReadTimeout) still counts.
func excused(ctx context.Context, impatient bool, err error) bool {
	if !impatient {
		return false
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// masterForKeyer is what the health of a Cluster's masters needs of its
// client: a *redis.ClusterClient, or a type that embeds one.
type masterForKeyer interface {
	MasterForKey(ctx context.Context, key string) (*redis.Client, error)
}

// noContact is an ended context: MasterForKey under it reads the
// topology go-redis holds, and fails at once, contacting nothing, when it
// holds none yet.
var noContact = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// clusterHealth is what a Cluster Store knows of its masters' health.
type clusterHealth struct {
	finder masterForKeyer
	// failing counts the masters with a failure streak (marked down or
	// not): while it is 0, no call looks up its key's master.
	failing atomic.Int32
	// masters holds a *masterHealth per address, made at the first
	// lookup of one.
	masters sync.Map
	// known is the addresses of the masters that own slots, as go-redis
	// saw them when a master was last marked down.
	known atomic.Pointer[[]string]
	// sweepAt is when a call that looks up its master next reads known
	// again (see sweep), in Unix nanoseconds.
	sweepAt atomic.Int64
}

// masterHealth is the health of one master.
type masterHealth struct {
	ch   *clusterHealth
	addr string
	// fails counts the connection failures since the last answer.
	fails atomic.Int32
	// downUntil is, while the master is marked down, the end of its
	// cool-down (or of the probe's lease), in Unix nanoseconds; 0 while
	// it is up.
	downUntil atomic.Int64
	// refusal is the refusals of the calls for its keys, made when it
	// was last marked down (see downRefusals).
	refusal atomic.Pointer[downRefusals]
	mu      sync.Mutex
}

// refusedOps are the operations a refusal names: those admitKey and
// downKeys are asked for. A refusal of each is made when a master is
// marked down (newDownRefusals), so that a refused call allocates no error.
var refusedOps = [...]string{"get", "set", "add", "incr", "has", "delete", "getmany", "setmany"}

// downRefusals is a master's refusal of a call of each of refusedOps: down
// while some other master is up, allDown once every master the Store
// knows of is marked down.
type downRefusals struct {
	down, allDown [len(refusedOps)]downError
}

// downError is the error of a call refused because its master is
// marked down: it wraps backend.ErrServerDown unless every master is.
type downError struct {
	msg   string
	wraps error // backend.ErrServerDown, or nil
}

func (e *downError) Error() string { return e.msg }
func (e *downError) Unwrap() error { return e.wraps }

// newDownRefusals returns the refusals of the master at addr, marked down for
// the reason why.
func newDownRefusals(addr, why string) *downRefusals {
	r := new(downRefusals)
	for i, op := range refusedOps {
		r.down[i] = downError{
			msg:   fmt.Sprintf("redisstore: %s: master %s: %v (%s); the other masters serve", op, addr, backend.ErrServerDown, why),
			wraps: backend.ErrServerDown,
		}
		r.allDown[i] = downError{msg: fmt.Sprintf("redisstore: %s: master %s marked down (%s), as is every master of the Cluster", op, addr, why)}
	}
	return r
}

// of returns the refusal of a call of operation op, whether every master
// is marked down or not (allDown).
func (r *downRefusals) of(op string, allDown bool) error {
	for i, o := range refusedOps {
		if o != op {
			continue
		}
		if allDown {
			return &r.allDown[i]
		}
		return &r.down[i]
	}
	panic("redisstore: no refusal made for operation " + op)
}

// newClusterHealth returns the health of the masters of c, or nil when c
// cannot map a key to its master.
func newClusterHealth(c redis.UniversalClient) *clusterHealth {
	f, ok := c.(masterForKeyer)
	if !ok {
		return nil
	}
	return &clusterHealth{finder: f}
}

// lookup returns the health of the master of k (a key as sent, with the
// prefix), or nil when go-redis holds no topology yet.
func (ch *clusterHealth) lookup(k string) *masterHealth { return ch.master(slot(k)) }

// master returns the health of the master of hash slot s in go-redis's
// view (MasterForKey of a key of that slot: go-redis has no call that
// takes a slot), or nil when go-redis holds no topology yet.
func (ch *clusterHealth) master(s int) *masterHealth {
	c, err := ch.finder.MasterForKey(noContact, slotKeys()[s])
	if err != nil || c == nil {
		return nil
	}
	addr := c.Options().Addr
	if m, ok := ch.masters.Load(addr); ok {
		return m.(*masterHealth)
	}
	m, _ := ch.masters.LoadOrStore(addr, &masterHealth{ch: ch, addr: addr})
	return m.(*masterHealth)
}

// admitKey returns the call on key under the Store's prefix (see call)
// under ctx, whose master is looked up only while some master has a
// failure streak, and the refusal of the call of operation op when that
// master is marked down. The key as sent is not made (see slotOf): a
// refused call allocates nothing.
func (b *Store) admitKey(ctx context.Context, op, key string) (call, error) {
	ch := b.health
	if ch == nil {
		return call{}, nil
	}
	c := call{impatient: b.impatient(ctx)}
	if ch.failing.Load() == 0 {
		return c, nil
	}
	ch.sweep()
	if c.m = ch.master(slotOf(b.prefix, key)); c.m == nil {
		return c, nil
	}
	return c, c.m.admit(op)
}

// sweep reads known again, once per masterRetry while some master has a
// failure streak, and forgets the streak of each master that owns no slot
// any more: after a failover the dead master's address gets no call, none
// to probe it, and its streak would keep every call on the path that looks
// up its master.
func (ch *clusterHealth) sweep() {
	now := time.Now().UnixNano()
	at := ch.sweepAt.Load()
	if now < at || !ch.sweepAt.CompareAndSwap(at, now+int64(masterRetry)) {
		return
	}
	known := ch.scan()
	if len(known) == 0 {
		return // no view of the Cluster: nothing to tell
	}
	ch.known.Store(&known)
	ch.masters.Range(func(addr, m any) bool {
		if !slices.Contains(known, addr.(string)) {
			m.(*masterHealth).answered()
		}
		return true
	})
}

// done notes the outcome, err, of c, a call on k under ctx (admitKey).
func (b *Store) done(ctx context.Context, c call, k string, err error) {
	ch := b.health
	m := c.m
	if ch == nil || err == nil && m == nil {
		return // the healthy path: nothing failing, nothing to tell
	}
	switch outcomeOf(err) {
	case outcomeAnswer:
		if m != nil {
			m.answered()
		}
	case outcomeFailure:
		if excused(ctx, c.impatient, err) {
			return
		}
		if m == nil {
			m = ch.lookup(k)
		}
		if m != nil {
			m.failed(err)
		}
	}
}

// downKeys returns the positions, ascending, of the n keys (key(i),
// without the prefix: the key as sent is not made, see slotOf) whose
// masters are marked down, and the refusal of the call of operation op
// (the one that is not neutral, when the whole Cluster is down); none
// while no master has a failure streak. Each master is asked
// once (admit) for the call: a master whose cool-down is over lets all its
// keys of the call through as its probe.
func (b *Store) downKeys(op string, n int, key func(i int) string) (refused []int, err error) {
	ch := b.health
	if ch == nil || ch.failing.Load() == 0 {
		return nil, nil
	}
	type verdict struct {
		m   *masterHealth
		err error
	}
	ch.sweep()
	var seen []verdict
next:
	for i := range n {
		m := ch.master(slotOf(b.prefix, key(i)))
		if m == nil {
			continue
		}
		for _, v := range seen {
			if v.m == m {
				if v.err != nil {
					refused = append(refused, i)
				}
				continue next
			}
		}
		e := m.admit(op)
		seen = append(seen, verdict{m, e})
		if e != nil {
			refused = append(refused, i)
			if err == nil || backend.Neutral(err) {
				err = e
			}
		}
	}
	return refused, err
}

// blame is what noting the outcomes of a call on several keys (doneMany)
// needs of how it ran: whether its caller's deadline left its last try
// less than minBlamedDeadline (impatient, see call; read again before
// each retry of a pipeline's writes, execIdempotent), and the masters of
// the commands a try of which failed at the connection (failed): their
// failure at that deadline counts, as a call's on one key does once a try
// failed at the connection (see retrying), and another master's does
// not. Kept for the whole call, a connection lost to one master made
// another's retry, sent after a refusal (READONLY, TRYAGAIN) and ended
// by that deadline, count against that other master too.
type blame struct {
	impatient bool
	failed    []*masterHealth
}

// retrying is retrying (Store's) for a retry of some of cmds, the writes
// (a noRetry type) and ASKINGs of bl's call on a pipeline, under ctx: it
// reads the call's impatience again, and notes the masters of the writes
// that failed at the connection. Nothing for a nil bl (a call whose
// outcome tells no master's health).
func (bl *blame) retrying(ctx context.Context, b *Store, cmds []redis.Cmder) {
	if bl == nil || b.health == nil {
		return
	}
	bl.impatient = b.impatient(ctx)
	for _, cmd := range cmds {
		if err := cmd.Err(); err == nil || !cmd.NoRetry() || outcomeOf(err) != outcomeFailure {
			continue
		}
		if m := b.health.lookup(sentKey(cmd)); m != nil && !slices.Contains(bl.failed, m) {
			bl.failed = append(bl.failed, m)
		}
	}
}

// doneMany notes the outcomes of the n commands of a call on several keys
// under ctx (bl: see blame): err(i) of the command on the keys whose
// first, as sent, is key(i) (ok false for a command not sent). A master
// fails once a call, however many of its commands failed.
func (b *Store) doneMany(ctx context.Context, bl blame, n int, key func(i int) string, err func(i int) (error, bool)) {
	ch := b.health
	if ch == nil {
		return
	}
	var seen []*masterHealth
next:
	for i := range n {
		e, ok := err(i)
		if !ok {
			continue
		}
		o := outcomeOf(e)
		if o == outcomeNone || o == outcomeAnswer && ch.failing.Load() == 0 {
			continue
		}
		excuse := o == outcomeFailure && excused(ctx, bl.impatient, e)
		if excuse && len(bl.failed) == 0 {
			continue
		}
		m := ch.lookup(key(i))
		if m == nil || excuse && !slices.Contains(bl.failed, m) {
			continue
		}
		for _, s := range seen {
			if s == m {
				continue next
			}
		}
		seen = append(seen, m)
		if o == outcomeAnswer {
			m.answered()
		} else {
			m.failed(e)
		}
	}
}

// doneBatches is doneMany for the batches of each.
func doneBatches[C redis.Cmder](ctx context.Context, bl blame, b *Store, batches []batch[C]) {
	if b.health == nil {
		return
	}
	b.doneMany(ctx, bl, len(batches), func(i int) string { return sentKey(batches[i].cmd) },
		func(i int) (error, bool) { return batches[i].cmd.Err(), true })
}

// sentKey returns the first key of cmd as sent (its argument after the
// command's name): the key a command on keys already holds, which finding
// its master by need not make again.
func sentKey(cmd redis.Cmder) string {
	k, _ := cmd.Args()[1].(string)
	return k
}

// refusedKeys is keysGuard and downKeys for the keys (without the prefix)
// of a call of operation op on several: the positions of those not to
// send, ascending, and the refusal that names them (the whole Cluster
// down, a real failure, ahead of a neutral one).
func (b *Store) refusedKeys(ctx context.Context, op string, keys []string) ([]int, error) {
	refused, kerr := b.keysGuard(ctx, op, keys)
	down, derr := b.downKeys(op, len(keys), func(i int) string { return keys[i] })
	switch {
	case down == nil:
		return refused, kerr
	case refused == nil:
		return down, derr
	}
	all := make([]int, 0, len(refused)+len(down))
	for len(refused) > 0 || len(down) > 0 {
		switch {
		case len(down) == 0 || len(refused) > 0 && refused[0] < down[0]:
			all, refused = append(all, refused[0]), refused[1:]
		case len(refused) == 0 || down[0] < refused[0]:
			all, down = append(all, down[0]), down[1:]
		default:
			all, refused, down = append(all, down[0]), refused[1:], down[1:]
		}
	}
	return all, derr
}

// admit returns nil if a call may go to the master: it is up, or its
// cool-down is over and the call is the one to probe it. Otherwise it
// returns the refusal of the call of operation op.
func (m *masterHealth) admit(op string) error {
	d := m.downUntil.Load()
	if d == 0 {
		return nil
	}
	now := time.Now().UnixNano()
	if now >= d && m.downUntil.CompareAndSwap(d, now+int64(masterRetry)) {
		return nil // the probe: its outcome marks the master up or down again
	}
	// failed stored the refusals before downUntil: they are there.
	return m.refusal.Load().of(op, m.ch.allDown())
}

// failed notes a connection failure of the master, err, and marks the
// master down once masterDownAfter came in a row (again, for masterRetry
// from now, when its probe failed).
func (m *masterHealth) failed(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.fails.Add(1)
	if n == 1 {
		m.ch.failing.Add(1)
	}
	if n < masterDownAfter {
		return
	}
	m.refusal.Store(newDownRefusals(m.addr, fmt.Sprintf("%d failures in a row, the last: %v", n, err)))
	m.downUntil.Store(time.Now().Add(masterRetry).UnixNano())
	known := m.ch.scan()
	m.ch.known.Store(&known)
}

// answered notes that the master replied: it is up. One atomic load while
// it had no failure streak.
func (m *masterHealth) answered() {
	if m.fails.Load() == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fails.Swap(0) != 0 {
		m.ch.failing.Add(-1)
	}
	m.downUntil.Store(0)
}

// allDown reports whether every master the Store knows of is marked down.
func (ch *clusterHealth) allDown() bool {
	known := ch.known.Load()
	if known == nil || len(*known) == 0 {
		return false
	}
	for _, addr := range *known {
		m, ok := ch.masters.Load(addr)
		if !ok || m.(*masterHealth).downUntil.Load() == 0 {
			return false
		}
	}
	return true
}

// scan returns the addresses of the masters that own slots in go-redis's
// view of the Cluster, contacting nothing: the master of each slot, by
// MasterForKey of a key of that slot (about a millisecond; when a master
// is marked down only).
func (ch *clusterHealth) scan() []string {
	var addrs []string
	for _, k := range slotKeys() {
		c, err := ch.finder.MasterForKey(noContact, k)
		if err != nil || c == nil {
			continue
		}
		if addr := c.Options().Addr; !slices.Contains(addrs, addr) {
			addrs = append(addrs, addr)
		}
	}
	return addrs
}

// slotKeys returns a key of each hash slot, by slot.
var slotKeys = sync.OnceValue(func() *[slotCount]string {
	var t [slotCount]string
	for n, left := 0, slotCount; left > 0; n++ {
		k := strconv.Itoa(n)
		if s := slot(k); t[s] == "" {
			t[s] = k
			left--
		}
	}
	return &t
})

// outcome is what a call's error says of its master's health.
type outcome uint8

const (
	outcomeNone    outcome = iota // nothing: the caller's cancellation, the Store's or client's Close
	outcomeAnswer                 // a reply: the master is up
	outcomeFailure                // a connection failure (connFailure)
)

// outcomeOf tells what err, the error of a call (nil for none), says of
// its master.
func outcomeOf(err error) outcome {
	if err == nil {
		return outcomeAnswer
	}
	if _, ok := err.(redis.Error); ok {
		// A reply as go-redis returns it (a miss's redis.Nil among
		// them): told without unwrapping anything.
		if redis.IsLoadingError(err) {
			return outcomeFailure
		}
		return outcomeAnswer
	}
	if connFailure(err) {
		return outcomeFailure
	}
	var reply redis.Error
	if errors.As(err, &reply) {
		return outcomeAnswer // redis.Nil among them
	}
	return outcomeNone
}

// connFailure reports whether err is a failure of the server at the
// connection: a dial that failed, a read or write that timed out (or the
// context's deadline that ended it), a connection closed or reset, no
// pooled connection freed within PoolTimeout (every one waits on a server
// that does not answer), or LOADING (a restarted master that reads its
// data, and answers nothing else meanwhile). Not an error reply, nor the
// caller's cancellation, nor a client or Store closed.
func connFailure(err error) bool {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, redis.ErrClosed), errors.Is(err, backend.ErrClosed):
		return false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		connerr.Broken(err), connerr.Refused(err):
		return true
	}
	var reply redis.Error
	if errors.As(err, &reply) {
		return redis.IsLoadingError(err)
	}
	var ne net.Error
	return errors.As(err, &ne)
}
